"""The descent panel: optimizer, hyperparameters, play/step/reset, race, swarm, glyphs.

A function of the :class:`~gradient_explorer.app.state.AppState` (its ``descent`` field,
a :class:`~gradient_explorer.app.descent_mode.DescentState`); call it between
``imgui.new_frame()`` and ``imgui.render()``. The race plot uses implot: the app (or the
headless renderer's ``draw_ui``) needs ``implot.create_context()`` once; without it the
panel lists the latest values instead of plotting them.
"""

from __future__ import annotations

import math

from imgui_bundle import imgui

from gradient_explorer.app.descent_mode import KINDS, MAX_SWARM
from gradient_explorer.app.ui.schedule_panel import draw_lr_plot, draw_schedule_controls
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.render.labels import draw_race_plot
from gradient_explorer.render.palette import DIM_COLOR, DIVERGED_COLOR, ERROR_COLOR, STATUS_COLORS
from gradient_explorer.view.formatting import format_number

__all__ = ["draw_descent_panel", "draw_hyperparameters", "draw_race_plot"]

DIM = DIM_COLOR
#: an lr slider whose balls diverged: its frame at rest, hovered, dragged
DIVERGED_FRAME = {
    imgui.Col_.frame_bg: (0.45, 0.13, 0.11, 1.0),
    imgui.Col_.frame_bg_hovered: (0.56, 0.17, 0.14, 1.0),
    imgui.Col_.frame_bg_active: (0.64, 0.2, 0.16, 1.0),
}
_errors: dict[tuple[int, str], str] = {}  # refused hyperparameter values, per panel


def _restart(state) -> None:
    ds = state.descent
    start = state.point if state.point is not None else ds.start
    ds.start_run(state.surface, start)


def draw_hyperparameters(state, optimizer: str) -> bool:
    """Sliders for ``optimizer``'s hyperparameters (torch's names and ranges)."""
    ds = state.descent
    spec = OPTIMIZERS[optimizer]
    values = ds.hyper[optimizer]
    # sliders leave room for their names at the right (initial_accumulator_value...)
    names = [hp.name if hp.kind != "eps_pair" else "eps2" for hp in spec.hyperparameters]
    widest = max((imgui.calc_text_size(n).x for n in names), default=0.0)
    imgui.push_item_width(-(widest + imgui.get_style().item_inner_spacing.x))
    try:
        changed = _hyperparameter_sliders(
            ds, optimizer, spec, values, ds.divergence_warning(optimizer)
        )
    finally:
        imgui.pop_item_width()
    error = _errors.get((id(ds), optimizer))
    if error:
        imgui.text_colored(ERROR_COLOR, error)  # a refused value: the user's own edit
    return changed


def _hyperparameter_sliders(ds, optimizer: str, spec, values, warning=None) -> bool:
    """One widget per hyperparameter; ``warning`` (balls under this optimizer diverged):
    its lr slider tinted, the warning in the slider's tooltip. A line of text here would
    push the run buttons below down a line, under the pointer, mid-run."""
    changed = False
    for hp in spec.hyperparameters:
        flagged = warning is not None and hp.name == "lr"
        if flagged:  # red at rest, hovered and dragged
            for col, rgba in DIVERGED_FRAME.items():
                imgui.push_style_color(col, rgba)
        try:
            clicked, new = _hyperparameter_widget(hp, optimizer, values[hp.name])
        finally:
            if flagged:
                imgui.pop_style_color(len(DIVERGED_FRAME))
        tip = "\n".join(t for t in (warning if flagged else None, hp.help) if t)
        if tip:  # on hover, not only while the value changes
            imgui.set_item_tooltip(tip)
        if not clicked:
            continue
        error = ds.set_hyper(optimizer, hp.name, new)
        key = (id(ds), optimizer)
        if error:
            _errors[key] = error
        else:
            _errors.pop(key, None)
            changed = True
    return changed


def _hyperparameter_widget(hp, optimizer: str, value) -> tuple[bool, object]:
    """The widget of one hyperparameter: (changed, its new value)."""
    label = f"{hp.name}##{optimizer}"
    if hp.kind == "bool":
        return imgui.checkbox(label, bool(value))
    if hp.kind == "float":
        flags = imgui.SliderFlags_.logarithmic if hp.log else 0
        clicked, v = imgui.slider_float(label, float(value), float(hp.lo), float(hp.hi),
                                        "%.4g", flags)  # fmt: skip
        return clicked, float(v)
    if hp.kind == "betas":
        clicked, v = imgui.slider_float2(label, list(value), float(hp.lo), float(hp.hi), "%.4f")
        return clicked, (float(v[0]), float(v[1]))
    # eps_pair (Adafactor): (None or eps1, eps2); only eps2 gets a slider
    clicked, v = imgui.slider_float(f"eps2##{optimizer}", float(value[1]), 0.0,
                                    float(hp.hi), "%.2g")  # fmt: skip
    return clicked, (value[0], float(v))


def draw_descent_panel(state, rects: dict | None = None) -> bool:
    """Draw the descent panel; return True if the state changed. ``rects`` (the UI's
    ``ui.rects``) gets the screen rectangles of the run buttons, ``"descent start"``..."""
    ds = state.descent
    changed = False
    em = imgui.get_font_size()
    imgui.set_next_window_size((em * 26, 0), imgui.Cond_.first_use_ever)
    imgui.begin("Descent")
    # Every sentence here (a description, a warning, a message) wraps at the panel's
    # edge instead of being cut off.
    imgui.push_text_wrap_pos(0.0)
    try:
        # -- what runs
        clicked, k = imgui.combo("run", KINDS.index(ds.kind), ["one optimizer", "race", "swarm"])
        if clicked and KINDS[k] != ds.kind:
            ds.kind = KINDS[k]
            if ds.active:
                _restart(state)
            changed = True
        names = list(OPTIMIZERS)
        if ds.kind == "race":
            imgui.text("racers (from the point, or the teaching start):")
            for i, name in enumerate(names):
                if i % 4:
                    imgui.same_line()
                clicked, on = imgui.checkbox(name, name in ds.race)
                if clicked:
                    ds.race = [
                        n for n in names if (n == name and on) or (n != name and n in ds.race)
                    ]
                    changed = True
            if ds.active and ds.race != ds.optimizer_names:
                imgui.text_colored(DIM, "Restart to race the checked optimizers")
        else:
            clicked, k = imgui.combo("optimizer", names.index(ds.optimizer), names)
            imgui.set_item_tooltip("Another optimizer restarts the run from its start.")
            if clicked:
                ds.optimizer = names[k]
                if ds.active:
                    _restart(state)
                changed = True
            imgui.text_colored(DIM, OPTIMIZERS[ds.optimizer].description)
        if ds.kind == "swarm":
            clicked, n = imgui.slider_int("balls", ds.swarm_size, 1, MAX_SWARM, "%d",
                                          imgui.SliderFlags_.logarithmic)  # fmt: skip
            if clicked:
                ds.swarm_size = int(n)
                changed = True
            imgui.same_line()
            clicked, ds.swarm_grid = imgui.checkbox("grid", ds.swarm_grid)
            changed |= clicked
            if ds.active and ds.descents[0].n != ds.swarm_size:
                imgui.text_colored(DIM, f"Restart to spread {ds.swarm_size} balls")
        # -- hyperparameters
        shown = ds.race if ds.kind == "race" else [ds.optimizer]
        # Always one line here, so that starting a run moves nothing below it (the
        # buttons stay under the pointer).
        imgui.text_colored(DIM, "New values apply from the next step." if ds.active
                           else "Values below are used from the first step.")  # fmt: skip
        imgui.set_item_tooltip("The balls keep their places, trails and optimizer state.")
        for name in shown:
            if imgui.tree_node_ex(f"{name} hyperparameters", imgui.TreeNodeFlags_.default_open):
                changed |= draw_hyperparameters(state, name)
                imgui.tree_pop()
        changed |= draw_schedule_controls(state)
        # -- controls
        imgui.separator()
        # Each button as wide as its longer label: a label that changes (Start/Restart,
        # Play/Pause) does not push its neighbours sideways.
        if _button("Start" if not ds.active else "Restart", "Restart", "start", rects):
            _restart(state)
            ds.playing = True  # Start rolls the balls; Step is there to go one at a time
            changed = True
        imgui.set_item_tooltip("A new run from the point (or the teaching start), playing.")
        imgui.same_line()
        if _button("Pause" if ds.playing else "Play", "Pause", "play", rects):
            if not ds.active:
                _restart(state)
            ds.playing = not ds.playing
            changed = True
        imgui.same_line()
        if _button("Step", "Step", "step", rects):
            if not ds.active:
                _restart(state)
            if ds.step_by_step:
                ds.next_phase()
            else:
                ds.step(1)
            changed = True
        imgui.same_line()
        if imgui.button("Reset") and ds.active:
            ds.reset()
            changed = True
        imgui.same_line()
        if imgui.button("Clear"):
            ds.clear()
            changed = True
        clicked, sps = imgui.slider_float("steps/s", float(ds.steps_per_second), 1.0, 1000.0,
                                          "%.0f", imgui.SliderFlags_.logarithmic)  # fmt: skip
        if clicked:
            ds.steps_per_second = float(sps)
            changed = True
        imgui.text_colored(DIM, "shift + click on the surface drops a ball")
        # -- step by step
        clicked, ds.step_by_step = imgui.checkbox("step by step (inside one update)",
                                                  ds.step_by_step)  # fmt: skip
        changed |= clicked
        if ds.step_by_step:
            phase = ds.current_phase()
            if imgui.button("Next phase"):
                if not ds.active:
                    _restart(state)
                phase = ds.next_phase()
                changed = True
            imgui.same_line()
            if phase is None:
                imgui.text_colored(DIM, "press Next phase to open the next update")
            else:
                imgui.text(f"phase {phase.index + 1} of {phase.count}: {phase.name}")
                imgui.text_wrapped(phase.sentence)
        # -- glyphs
        if imgui.tree_node("show at each ball"):
            g = ds.glyphs
            for attr, label in (
                ("trails", "trails"),
                ("floor_trails", "trails on the floor map"),
                ("gradient", "gradient x and y (arrows)"),
                ("momentum", "momentum / velocity"),
                ("step", "step taken"),
                ("second_moment", "second moment (sides: sqrt)"),
            ):
                clicked, value = imgui.checkbox(label, getattr(g, attr))
                if clicked:
                    setattr(g, attr, value)
                    changed = True
            imgui.tree_pop()
        # -- what happened
        if ds.active:
            imgui.separator()
            imgui.text(ds.summary())
            for name in shown:  # the advice, below the buttons (its lr slider is tinted)
                warning = ds.divergence_warning(name)
                if warning:
                    imgui.text_colored(DIVERGED_COLOR, warning)
            if ds.kind != "swarm" or len(ds.descents[0].positions) <= 1:
                if ds.schedule != "constant" and imgui.begin_table("plots", 2):
                    imgui.table_setup_column("f", imgui.TableColumnFlags_.width_stretch, 0.62)
                    imgui.table_setup_column("lr", imgui.TableColumnFlags_.width_stretch, 0.38)
                    imgui.table_next_column()
                    draw_race_plot(state)
                    imgui.table_next_column()
                    draw_lr_plot(state, 14 * em)  # beside the loss plot
                    imgui.end_table()
                else:
                    draw_race_plot(state)
            _ball_table(ds)
            for line in ds.messages[-6:]:
                imgui.text_colored(DIVERGED_COLOR if "diverged" in line else DIM, line)
    finally:
        imgui.pop_text_wrap_pos()
        imgui.end()
    return changed


def _button(label: str, widest: str, key: str, rects: dict | None) -> bool:
    """A button labelled ``label``, as wide as ``widest`` would make it; its rectangle goes
    to ``rects["descent <key>"]``."""
    pad = imgui.get_style().frame_padding.x
    width = max(imgui.calc_text_size(label).x, imgui.calc_text_size(widest).x) + 2 * pad
    clicked = imgui.button(f"{label}###{key}", imgui.ImVec2(width, 0))
    if rects is not None:
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        rects[f"descent {key}"] = (lo.x, lo.y, hi.x, hi.y)
    return clicked


def _ball_table(ds) -> None:
    rows = ds.ball_report(limit=12)
    if not rows:
        return
    flags = imgui.TableFlags_.borders_inner_h | imgui.TableFlags_.row_bg
    if imgui.begin_table("balls", 5, flags):
        for head in ("ball", "steps", "f", "|grad|", "status"):
            imgui.table_setup_column(head)
        imgui.table_headers_row()
        for row in rows:
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text_colored((*row["color"], 1.0), row["name"])
            imgui.table_next_column()
            imgui.text(str(row["steps"]))
            imgui.table_next_column()
            imgui.text(_num(row["f"]))
            imgui.table_next_column()
            imgui.text(_num(row["grad_norm"]))
            imgui.table_next_column()
            imgui.text_colored(STATUS_COLORS[row["status"]], row["status"])
        imgui.end_table()


def _num(v: float) -> str:
    return format_number(v, ".4g") if math.isfinite(v) else "undefined"
