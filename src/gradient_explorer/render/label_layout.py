"""Where labels go: projected or scaled to the display, centred, none overlapping.

Apart from :mod:`gradient_explorer.render.labels` (which draws them with imgui) so that a
headless picture drawn from the cached glyph atlas (:mod:`gradient_explorer.render.label_atlas`)
lays them out without importing imgui; and the legend's rows, so that a picture whose
legend has none (one ball, no glyphs shown) needs no imgui either.
"""

from __future__ import annotations

import numpy as np

from gradient_explorer.render import palette
from gradient_explorer.render.geometry import declutter
from gradient_explorer.surfaces.percentiles import finite_median
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.formatting import format_number
from gradient_explorer.view.picking import world_to_screen

__all__ = [
    "PLOT_MARGIN_PX",
    "SHADOW_COLOR",
    "SHADOW_OFFSET",
    "layout_labels",
    "legend_rows",
    "loss_plot_rect",
    "loss_plot_region",
    "loss_plot_shown",
]

#: Each label is drawn twice: a shadow this colour, this many pixels right and down, then
#: the text.
SHADOW_COLOR = (0.0, 0.0, 0.0, 0.7)
SHADOW_OFFSET = 1.0
#: The most margin the loss plot keeps from the picture's edges (half a text line).
PLOT_MARGIN_PX = 12.0


def layout_labels(
    labels, camera: OrbitCamera, size: tuple[float, float], measure
) -> list[tuple[object, np.ndarray]]:
    """The labels to draw and their boxes (left, top, right, bottom), none overlapping.

    ``measure(text)`` gives a text's (width, height) in the units of ``size``. Labels are
    projected (or, placed in a picture's pixels, scaled to ``size``), centred on their
    point, and thinned by :func:`declutter`: axis names and
    the ends of each axis first, so a small window keeps few labels and none collide.
    """
    width, height = size
    if not labels or width <= 0 or height <= 0:
        return []
    screen = np.zeros((len(labels), 2))
    world = [i for i, label in enumerate(labels) if label.screen_size is None]
    if world:  # world points: projected with the camera
        points = np.array([labels[i].position for i in world], dtype=np.float64)
        screen[world] = world_to_screen(camera, points, (0, 0, width, height), (width, height))
    for i, label in enumerate(labels):
        if label.screen_size is not None:  # pixels of a picture: scaled to the display
            sw, sh = label.screen_size
            screen[i] = (label.position[0] * width / sw, label.position[1] * height / sh)
    sizes = np.array([measure(label.text) for label in labels], dtype=np.float64)
    boxes = np.column_stack([screen - sizes / 2, screen + sizes / 2])
    priorities = [getattr(label, "priority", 0) for label in labels]
    em = finite_median(sizes[:, 1]) if len(sizes) else 13.0
    keep = declutter(boxes, priorities, (width, height), pad=0.35 * em)
    return [(label, boxes[i]) for i, label in enumerate(labels) if keep[i]]


def legend_rows(descent_state) -> list[tuple[str, tuple[float, ...], str]]:
    """The legend's rows: (text, colour, swatch) with swatch "box", "arrow" or "rect".

    Racers with their status; in a swarm, the minima the balls' colours stand for; then
    each glyph kind toggled on, in its palette colour.
    """
    ds = descent_state
    if not ds.active:
        return []
    rows: list[tuple[str, tuple[float, ...], str]] = []
    if ds.kind == "race":
        for i, (name, color, d) in enumerate(zip(ds.names, ds.colors, ds.descents, strict=False)):
            status = d.status[0] if d.n else ""
            text = f"{name}  {status}  step {int(d.steps[0])}" if d.n else name
            note = ds.domain_note(i) if d.n else ""
            rows.append((f"{text}  ({note})" if note else text, color, "box"))
    elif ds.kind == "swarm" and ds.surface is not None and ds.surface.dim == 2:
        minima = ds.known_minima()
        for k, point in enumerate(minima[: len(palette.BASIN_COLORS)]):
            where = ", ".join(format_number(v, ".3g") for v in point)
            rows.append((f"ends in the minimum ({where})", palette.basin_color(k), "box"))
        basins = np.concatenate([ds.basins(i) for i in range(len(ds.descents))])
        if (basins == -1).any():
            rows.append(("not near a minimum yet", palette.UNDECIDED_COLOR, "box"))
        if (basins == -2).any():
            rows.append(("diverged", palette.DIVERGED_COLOR, "box"))
    g = ds.glyphs
    batched = any(getattr(d, "batches", None) is not None for d in ds.descents)
    for kind, on in (
        ("gradient_x", g.gradient and not batched),
        ("gradient_y", g.gradient and not batched),
        ("full_gradient", g.gradient and batched),
        ("batch_gradient", g.gradient and batched),
        ("momentum", g.momentum),
        ("step", g.step),
        ("second_moment", g.second_moment),
    ):
        if on:
            swatch = "rect" if kind == "second_moment" else "arrow"
            rows.append((palette.GLYPH_LABELS[kind], palette.GLYPH_COLORS[kind], swatch))
    phase = ds.current_phase()
    if phase is not None:  # step by step: the phase's vectors at each ball
        swatch = "rect" if phase.name in ("accumulate", "rescaling") else "arrow"
        rows.append((f"this phase: {phase.name}", palette.GLYPH_COLORS["phase"], swatch))
    return rows


def loss_plot_shown(state) -> bool:
    """Whether :func:`draw_loss_plot` draws: a run of a few balls is active (a swarm's
    plot would be one line of many)."""
    ds = state.descent
    if not ds.active or ds.history.shape[0] == 0:
        return False
    return not (ds.kind == "swarm" and sum(d.n for d in ds.descents) > 1)


def loss_plot_rect(size: tuple[float, float], margin: float) -> tuple[float, float, float, float]:
    """Where the loss plot stands in a picture of ``size``: ``(x, y, w, h)``, bottom right,
    ``margin`` from the edges."""
    width, height = size
    w, h = max(0.32 * width, 220.0), max(0.34 * height, 150.0)
    return (width - w - margin, height - h - margin, w, h)


def loss_plot_region(size: tuple[float, float]) -> tuple[float, float, float, float]:
    """The camera's ``view_region`` that keeps the picture clear of the loss plot: the
    band left of the column it and the legend stand in (fractions, as
    :attr:`OrbitCamera.view_region <gradient_explorer.view.camera.OrbitCamera.view_region>`)."""
    width = float(size[0])
    x = loss_plot_rect(size, PLOT_MARGIN_PX)[0] - PLOT_MARGIN_PX
    return (0.0, 0.0, max(x / width, 0.4), 1.0)
