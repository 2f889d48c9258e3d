"""Labels drawn by imgui over the picture: axis labels (world points projected to the screen,
pixel labels scaled to it), the race legend, and the f-against-step plot the descent panel and
recordings show."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot

from gradient_explorer.render.label_layout import (
    SHADOW_COLOR,
    SHADOW_OFFSET,
    layout_labels,
    legend_rows,
    loss_plot_rect,
    loss_plot_shown,
)
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.formatting import format_number

__all__ = [
    "draw_labels",
    "draw_loss_plot",
    "draw_race_legend",
    "layout_labels",
    "legend_rows",
    "step_ticks",
]


def draw_labels(labels, camera: OrbitCamera, size: tuple[float, float]) -> list:
    """Draw ``labels`` (scene Labels) into imgui's background draw list, none overlapping.

    ``size`` is the display size in window units (imgui's coordinates). Returns what was
    drawn: (label, box) pairs, as :func:`layout_labels` gives them.
    """
    placed = layout_labels(labels, camera, size, _text_size)
    if not placed:
        return []
    draw_list = imgui.get_background_draw_list()
    shadow = imgui.get_color_u32(SHADOW_COLOR)
    for label, (x, y, _, _) in placed:
        draw_list.add_text((x + SHADOW_OFFSET, y + SHADOW_OFFSET), shadow, label.text)
        draw_list.add_text((x, y), imgui.get_color_u32(label.color), label.text)
    return placed


def _text_size(text: str) -> tuple[float, float]:
    size = imgui.calc_text_size(text)
    return (size.x, size.y)


def draw_race_legend(descent_state, size: tuple[float, float], right: float = 0.0) -> None:
    """The legend, top right: each racer's colour, name and status (a swarm's minima), and
    each glyph kind shown. Pictures explain themselves.

    Drawn in the window and in headless renders and recordings alike; ``right`` (window
    units) keeps it clear of a panel standing at the right edge.
    """
    rows = legend_rows(descent_state)
    if not rows:
        return
    width = size[0] - right
    draw_list = imgui.get_foreground_draw_list()
    line = imgui.get_text_line_height_with_spacing()
    widest = max((imgui.calc_text_size(text).x for text, _, _ in rows), default=0.0)
    x = width - widest - 3.0 * line
    y = 0.6 * line
    background = imgui.get_color_u32((0.05, 0.05, 0.07, 0.75))
    draw_list.add_rect_filled(
        (x - 0.5 * line, y - 0.3 * line),
        (width - 0.5 * line, y + line * len(rows) + 0.1 * line),
        background,
        4.0,
    )
    for text, color, swatch in rows:
        col = imgui.get_color_u32((*color[:3], 1.0))
        if swatch == "arrow":
            mid = y + 0.5 * line
            draw_list.add_line((x, mid), (x + 0.45 * line, mid), col, 2.5)
            draw_list.add_triangle_filled(
                (x + 0.75 * line, mid), (x + 0.4 * line, mid - 0.25 * line),
                (x + 0.4 * line, mid + 0.25 * line), col,
            )  # fmt: skip
        elif swatch == "rect":
            draw_list.add_rect((x, y + 0.2 * line), (x + 0.7 * line, y + 0.8 * line), col, 0.0, 2.0)
        else:
            draw_list.add_rect_filled((x, y + 0.2 * line), (x + 0.6 * line, y + 0.8 * line), col)
        draw_list.add_text((x + line, y), imgui.get_color_u32((0.9, 0.92, 0.95, 1.0)), text)
        y += line


def draw_loss_plot(state, size: tuple[float, float]) -> None:
    """The descent panel's f-against-step plot in a corner of the picture, bottom right.

    For recordings, which have no panels: a race shows its plot as the window does. Drawn
    when a run with a few balls is active (a swarm's plot would be one line of many).
    """
    if not loss_plot_shown(state):
        return
    x, y, w, h = loss_plot_rect(size, 0.5 * imgui.get_text_line_height_with_spacing())
    imgui.set_next_window_pos((x, y))
    imgui.set_next_window_size((w, h))
    imgui.set_next_window_bg_alpha(0.8)
    flags = (
        imgui.WindowFlags_.no_decoration
        | imgui.WindowFlags_.no_inputs
        | imgui.WindowFlags_.no_saved_settings
        | imgui.WindowFlags_.no_focus_on_appearing
    )
    imgui.begin("##loss plot", None, flags)
    try:
        draw_race_plot(state, imgui.get_content_region_avail().y, follow=True)
    finally:
        imgui.end()


def draw_race_plot(state, height: float | None = None, follow: bool = False) -> None:
    """f against step for each run, with a legend (implot).

    ``follow``: the axes are set to the data every frame (a recording; implot's own
    fit lags a frame behind); else they fit themselves and can be zoomed.
    """
    ds = state.descent
    hist = ds.history
    if hist.shape[0] == 0:
        return
    if implot.get_current_context() is None:
        for name, v in zip(ds.names, hist[-1], strict=True):
            imgui.text(f"{name}: f = {format_number(v, '.6g')}")
        return
    em = imgui.get_font_size()
    size = imgui.ImVec2(-1, height or 14 * em)
    # as many step ticks as fit, about 3.5 em apart, beside the f axis and the legend
    axis = imgui.get_content_region_avail().x - 9 * em
    most = int(min(max(axis / (3.5 * em), 2), 8))
    if implot.begin_plot("f against step", size):
        finite = hist[np.isfinite(hist)]
        log = (
            finite.size > 0 and finite.min() > 0 and finite.max() / max(finite.min(), 1e-300) > 100
        )
        fit = 0 if follow else implot.AxisFlags_.auto_fit  # the plot follows the run
        implot.setup_axes("step", "f", fit, fit)
        if log:
            implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
        if follow:
            lo, hi = _padded(finite, log)
            x_hi = max(hist.shape[0] - 1, 1)
            implot.setup_axes_limits(0.0, x_hi, lo, hi, implot.Cond_.always)
        # beside the plot, not over the lines (which end top right on a run's start)
        implot.setup_legend(implot.Location_.north_east, implot.LegendFlags_.outside)
        # steps are whole numbers: ticks at 0, 1, 2... (or every 2, 5, 10...), never 0.5
        implot.setup_axis_ticks(implot.ImAxis_.x1, step_ticks(hist.shape[0] - 1, most).tolist())
        steps = np.arange(hist.shape[0], dtype=np.float64)
        statuses = [str(d.status[0]) if d.n else "running" for d in ds.descents]
        for i, name in enumerate(ds.names):
            ys = np.ascontiguousarray(hist[:, i])
            ys = np.where(np.isfinite(ys), ys, np.nan)
            color = imgui.ImVec4(*ds.colors[i], 1.0)
            label = f"{name} (diverged)" if statuses[i] == "diverged" else name
            implot.plot_line(label, steps, ys, implot.Spec(line_color=color, line_weight=2.0))
            last = np.flatnonzero(np.isfinite(ys))
            if statuses[i] == "diverged" and last.size:  # a cross where the racer left
                j = last[-1]
                cross = implot.Spec(marker=implot.Marker_.cross, marker_size=7, line_color=color)
                implot.plot_scatter(label, steps[j : j + 1], ys[j : j + 1], cross)
        implot.end_plot()


def step_ticks(last: int, most: int = 6) -> np.ndarray:
    """Whole-number ticks from 0 through at least ``last`` (>= 1), at most ``most`` + 1 of
    them, spaced 1, 2, 5, 10, 20, 50... apart."""
    last = max(int(last), 1)
    spacing = 1
    while last / spacing > most:
        for factor in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 ...
            spacing = int(spacing * factor)
            if last / spacing <= most:
                break
    top = -(-last // spacing) * spacing  # the first tick at or past the last step
    return np.arange(0, top + 1, spacing, dtype=np.float64)


def _padded(values: np.ndarray, log: bool) -> tuple[float, float]:
    """A range showing ``values`` with a margin (multiplicative on a log axis)."""
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if log:
        return (lo / 1.3, hi * 1.3)
    pad = 0.06 * (hi - lo) if hi > lo else max(0.5, 0.1 * abs(hi))
    return (lo - pad, hi + pad)
