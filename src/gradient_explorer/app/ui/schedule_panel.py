"""The descent panel's learning-rate schedule: a selector with its numbers, and a small
lr-against-step plot beside the f-against-step plot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.optim.schedules import SCHEDULE_KINDS
from gradient_explorer.render.palette import ERROR_COLOR

__all__ = ["ScheduleUi", "draw_lr_plot", "draw_schedule_controls", "spec_of"]

DIM = (0.62, 0.65, 0.72, 1.0)
LABELS = ("constant", "step decay", "exponential", "cosine", "warm-up + cosine")


@dataclass
class ScheduleUi:
    """The numbers the selector shows for every kind (kept while another is chosen)."""

    kind: str = "constant"
    step_size: int = 100
    gamma: float = 0.5
    exp_gamma: float = 0.99
    t_max: int = 300
    eta_min: float = 0.0
    warmup: int = 30
    error: str = ""


_ui: dict[int, ScheduleUi] = {}


def spec_of(ui: ScheduleUi) -> str:
    """The spec string for the selector's values."""
    if ui.kind == "step":
        return f"step:{ui.step_size}:{ui.gamma:g}"
    if ui.kind == "exponential":
        return f"exponential:{ui.exp_gamma:g}"
    if ui.kind == "cosine":
        return f"cosine:{ui.t_max}:{ui.eta_min:g}"
    if ui.kind == "warmup_cosine":
        return f"warmup_cosine:{ui.warmup}:{ui.t_max}"
    return "constant"


def draw_schedule_controls(state) -> bool:
    """The schedule selector; a change applies to every run from its next step."""
    ds = state.descent
    ui = _ui.setdefault(id(ds), ScheduleUi(kind=ds.schedule.split(":")[0]))
    em = imgui.get_font_size()
    before = spec_of(ui)
    imgui.set_next_item_width(12 * em)
    clicked, k = imgui.combo("lr schedule", SCHEDULE_KINDS.index(ui.kind), list(LABELS))
    imgui.set_item_tooltip(
        "torch.optim.lr_scheduler's rules, stepped after each step; a new schedule "
        "counts its steps from the next one"
    )
    if clicked:
        ui.kind = SCHEDULE_KINDS[k]
    imgui.set_next_item_width(9 * em)
    if ui.kind == "step":
        _, ui.step_size = imgui.slider_int("every", ui.step_size, 1, 2000, "%d steps",
                                           imgui.SliderFlags_.logarithmic)  # fmt: skip
        imgui.set_next_item_width(9 * em)
        imgui.same_line()
        _, ui.gamma = imgui.slider_float("times##step", ui.gamma, 0.01, 1.0, "%.3g")
    elif ui.kind == "exponential":
        _, ui.exp_gamma = imgui.slider_float("gamma", ui.exp_gamma, 0.9, 1.0, "%.4f")
    elif ui.kind in ("cosine", "warmup_cosine"):
        if ui.kind == "warmup_cosine":
            _, ui.warmup = imgui.slider_int("warm-up", ui.warmup, 0, 1000, "%d steps")
            imgui.set_next_item_width(9 * em)
            imgui.same_line()
        _, ui.t_max = imgui.slider_int("T_max", ui.t_max, 1, 5000, "%d",
                                       imgui.SliderFlags_.logarithmic)  # fmt: skip
        if ui.kind == "cosine":
            imgui.set_next_item_width(9 * em)
            imgui.same_line()
            _, ui.eta_min = imgui.slider_float("eta_min", ui.eta_min, 0.0, 0.1, "%.3g")
    spec = spec_of(ui)
    changed = False
    if spec != before:
        ui.error = ""
    if spec != ds.schedule and not ui.error and not imgui.is_any_item_active():
        error = ds.set_schedule(spec)  # on release of a slider, not every frame of a drag
        ui.error = error or ""
        changed = error is None
    if ui.error:
        imgui.text_colored(ERROR_COLOR, ui.error)
    return changed


def draw_lr_plot(state, height: float, follow: bool = False) -> None:
    """lr against step for each run (implot), in the runs' colours."""
    from imgui_bundle import implot

    ds = state.descent
    rates = ds.lr_history
    if rates.shape[0] == 0 or implot.get_current_context() is None:
        return
    if implot.begin_plot("lr against step", imgui.ImVec2(-1, height), implot.Flags_.no_legend):
        fit = 0 if follow else implot.AxisFlags_.auto_fit
        implot.setup_axes("step", "lr", fit, fit)
        if follow:
            finite = rates[np.isfinite(rates)]
            hi = float(finite.max()) if finite.size else 1.0
            implot.setup_axes_limits(1.0, max(rates.shape[0], 2), 0.0, 1.08 * hi or 1.0,
                                     implot.Cond_.always)  # fmt: skip
        steps = np.arange(1, rates.shape[0] + 1, dtype=np.float64)
        for i, name in enumerate(ds.names):
            color = imgui.ImVec4(*ds.colors[i], 1.0)
            ys = np.ascontiguousarray(rates[:, i])
            implot.plot_line(name, steps, ys, implot.Spec(line_color=color, line_weight=2.0))
        implot.end_plot()
