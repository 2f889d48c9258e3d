"""The data panel: a model surface's data and the model's current fit, as it trains.

Shown while the surface is a model's loss. It follows ball 0 of the first run (or, with
no balls, the point): the line through the data, the logistic curve over the 0/1 labels,
or the MLP's decision regions (the probability of label 1 as a heat map) under its two
classes. Beside the fit, the full-data gradient and this step's mini-batch gradient as
two arrows from one origin, and the loss against step.
"""

from __future__ import annotations

import math

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.app.ui.descent_panel import draw_race_plot
from gradient_explorer.render.palette import GLYPH_COLORS
from gradient_explorer.view.formatting import format_number

__all__ = ["draw_data_panel", "followed"]

DIM = (0.62, 0.65, 0.72, 1.0)
DATA = (0.55, 0.70, 0.95, 0.9)
CLASS0 = (0.30, 0.55, 1.00, 1.0)
CLASS1 = (1.00, 0.45, 0.30, 1.0)
FIT = (1.00, 0.85, 0.25, 1.0)
FULL = GLYPH_COLORS["full_gradient"]  # the colours of the balls' arrows
BATCH = GLYPH_COLORS["batch_gradient"]
GRID = 48  # decision-region cells a side
MAX_POINTS = 2000  # data points drawn (a sample of larger sets)
WIDTH_EM = 24.0  # the window's width


def followed(state):
    """What the panel shows: ``(point, batch gradient or None, label)`` or None.

    Ball 0 of the first run on this surface, else the point."""
    ds = state.descent
    if ds.active and ds.surface is state.surface and ds.descents and ds.descents[0].n:
        d = ds.descents[0]
        batch = d.gradient[0].copy() if d.batches is not None else None
        name = ds.names[0] if ds.kind == "race" else "ball 0"
        return d.positions[0].copy(), batch, f"{name}, step {int(d.steps[0])}"
    if state.point is not None:
        return np.asarray(state.point, dtype=np.float64), None, "the point"
    return None


def draw_data_panel(
    state,
    size: tuple[float, float] | None = None,
    follow: bool = False,
    max_height: float | None = None,
    placed: bool = False,
) -> None:
    """The data window (nothing unless the surface is a model's loss).

    A fixed width and the height of its contents (at most the display's ``size`` less
    4 em, or ``max_height``: it scrolls), so it takes no more room than it shows.
    ``placed``: the panels' layout (layout.py) places it, else it starts bottom right.
    ``follow``: axes set every frame (a recording or a headless picture).
    """
    model = getattr(state.surface, "model", None)
    if model is None:
        return
    em = imgui.get_font_size()
    tall = max(size[1] - 4 * em, 8 * em) if size is not None else 60 * em
    if max_height is not None:
        tall = min(tall, max_height)
    if size is not None and not placed:  # alone (a picture): bottom right, the first time
        imgui.set_next_window_pos(
            imgui.ImVec2(size[0] - 0.5 * em, size[1] - 0.5 * em),
            imgui.Cond_.first_use_ever,
            imgui.ImVec2(1.0, 1.0),
        )
    wide = WIDTH_EM * em
    imgui.set_next_window_size_constraints(imgui.ImVec2(wide, 0), imgui.ImVec2(wide, tall))
    imgui.set_next_window_bg_alpha(0.9)
    # the width set, the height fitted to the contents every frame (a 0 axis auto-fits);
    # not an auto-resizing window, whose plots would size to last frame's widest line
    imgui.set_next_window_size(imgui.ImVec2(wide, 0), imgui.Cond_.always)
    if imgui.begin("Data and fit")[0]:
        try:
            _contents(state, model, em, follow)
        finally:
            imgui.end()
    else:
        imgui.end()


def _contents(state, model, em: float, follow: bool) -> None:
    from imgui_bundle import implot

    imgui.push_text_wrap_pos(0.0)  # the data's title and the fit wrap at the edge
    imgui.text_colored(DIM, model.data.title or model.data.name)
    what = followed(state)
    if what is None:
        imgui.text_colored(DIM, "click the surface or drop a ball to see its fit")
        point, batch, label = None, None, ""
    else:
        point, batch, label = what
        imgui.text(f"{label}: {model.describe(point)}")
        imgui.text(f"loss {format_number(float(model.f(point)), '.6g')}")
    imgui.pop_text_wrap_pos()
    if implot.get_current_context() is None:
        return
    if imgui.begin_table("fit", 2):
        imgui.table_setup_column("data", imgui.TableColumnFlags_.width_stretch, 0.6)
        imgui.table_setup_column("gradient", imgui.TableColumnFlags_.width_stretch, 0.4)
        imgui.table_next_column()
        _fit_plot(model, point, 13 * em, follow)
        imgui.table_next_column()
        if point is not None:
            _gradient_plot(state, model, point, batch, 13 * em)
        imgui.end_table()
    if state.descent.active:
        draw_race_plot(state, 8 * em, follow=follow)


def _sample(model) -> np.ndarray:
    n = model.n
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.random.default_rng(0).choice(n, MAX_POINTS, replace=False)


def _fit_plot(model, point, height: float, follow: bool) -> None:
    from imgui_bundle import implot

    xs, y = model.data.X, model.data.y
    rows = _sample(model)
    if not implot.begin_plot("##fit", imgui.ImVec2(-1, height)):
        return
    try:
        names = model.data.columns
        implot.setup_axes(names[0], names[1] if model.kind == "mlp" else names[-1])
        # the data's box: every frame for a recording, once for the window (then zoomable)
        lo, hi = _box(model)
        cond = implot.Cond_.always if follow else implot.Cond_.once
        implot.setup_axes_limits(lo[0], hi[0], lo[1], hi[1], cond)
        # above the plot, in a row: inside, it covered the points in its corner (logistic
        # data fills the top-left corner with label 1)
        flags = implot.LegendFlags_.outside | implot.LegendFlags_.horizontal
        implot.setup_legend(implot.Location_.north, flags)
        if model.kind == "mlp":
            _regions(model, point, rows)
        elif model.kind == "line":
            dots = implot.Spec(marker=implot.Marker_.circle, marker_size=2.5,
                               marker_fill_color=imgui.ImVec4(*DATA),
                               marker_line_color=imgui.ImVec4(*DATA))  # fmt: skip
            implot.plot_scatter("data", _c(xs[rows, 0]), _c(y[rows]), dots)
        else:
            for label, color in ((0.0, CLASS0), (1.0, CLASS1)):
                pick = rows[y[rows] == label]
                dots = implot.Spec(marker=implot.Marker_.circle, marker_size=2.5,
                                   marker_fill_color=imgui.ImVec4(*color),
                                   marker_line_color=imgui.ImVec4(*color))  # fmt: skip
                implot.plot_scatter(f"label {label:g}", _c(xs[pick, 0]), _c(y[pick]), dots)
        if point is not None and model.kind != "mlp":
            lo, hi = float(xs[:, 0].min()), float(xs[:, 0].max())
            pad = 0.05 * (hi - lo) if hi > lo else 1.0
            grid = np.linspace(lo - pad, hi + pad, 200)
            curve = model.predict(point, grid)
            spec = implot.Spec(line_color=imgui.ImVec4(*FIT), line_weight=2.5)
            implot.plot_line("fit", _c(grid), _c(np.where(np.isfinite(curve), curve, np.nan)), spec)
    finally:
        implot.end_plot()


def _box(model) -> tuple[np.ndarray, np.ndarray]:
    """The plotted box: inputs (and targets, for one input) with a margin."""
    xs, y = model.data.X, model.data.y
    pts = xs if model.kind == "mlp" else np.column_stack([xs[:, 0], y])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    return lo - pad, hi + pad


def _regions(model, point, rows) -> None:
    from imgui_bundle import implot

    xs, y = model.data.X, model.data.y
    lo, hi = _box(model)
    if point is not None:
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(hi[1], lo[1], GRID))
        p = model.predict(point, np.column_stack([gx.ravel(), gy.ravel()])).reshape(GRID, GRID)
        implot.push_colormap(implot.Colormap_.rd_bu)
        # heat map rows run top to bottom; 1 - p puts label 1 in red, label 0 in blue
        implot.plot_heatmap("##p", _c(1.0 - p), 0.0, 1.0, "",
                            implot.Point(lo[0], lo[1]), implot.Point(hi[0], hi[1]))  # fmt: skip
        implot.pop_colormap()
    for label, color in ((0.0, CLASS0), (1.0, CLASS1)):
        pick = rows[y[rows] == label]
        dots = implot.Spec(marker=implot.Marker_.circle, marker_size=3.0,
                           marker_fill_color=imgui.ImVec4(*color),
                           marker_line_color=imgui.ImVec4(0.1, 0.1, 0.1, 1.0))  # fmt: skip
        implot.plot_scatter(f"label {label:g}", _c(xs[pick, 0]), _c(xs[pick, 1]), dots)


def _gradient_plot(state, model, point, batch, height: float) -> None:
    """The full gradient and the batch gradient as arrows from one origin (equal axes)."""
    from imgui_bundle import implot

    full = model.gradient(point)
    vectors = [("full", full, FULL)]
    if batch is not None:
        vectors.append(("batch", batch, BATCH))
    scale = max((float(np.hypot(*v)) for _, v, _ in vectors), default=0.0)
    # the title as text: in a third of the panel, implot's centred title was clipped
    imgui.text_colored(DIM, "gradient")
    flags = implot.Flags_.equal | implot.Flags_.no_menus | implot.Flags_.no_title
    if implot.begin_plot("gradient##arrows", imgui.ImVec2(-1, height * 0.72), flags):
        none = implot.AxisFlags_.no_tick_labels
        implot.setup_axes(model.axes[0], model.axes[1], none, none)
        implot.setup_axes_limits(-1.1, 1.1, -1.1, 1.1, implot.Cond_.always)
        implot.setup_legend(implot.Location_.south_west)
        for name, v, color in vectors:
            if not (math.isfinite(scale) and scale > 0 and np.isfinite(v).all()):
                continue
            u = v / scale
            spec = implot.Spec(line_color=imgui.ImVec4(*color), line_weight=2.5)
            implot.plot_line(name, _c([0.0, u[0]]), _c([0.0, u[1]]), spec)
            head = implot.Spec(marker=implot.Marker_.circle, marker_size=3.5,
                               marker_fill_color=imgui.ImVec4(*color))  # fmt: skip
            implot.plot_scatter(name, _c([u[0]]), _c([u[1]]), head)
        implot.end_plot()
    imgui.push_text_wrap_pos(0.0)
    for name, v, color in vectors:
        text = ", ".join(format_number(float(c), ".3g") for c in v)
        imgui.text_colored(color, f"{name}: ({text})")
    if batch is None:
        imgui.text_colored(DIM, "full batch (a batch size shows SGD's noise)")
    imgui.pop_text_wrap_pos()


def _c(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)
