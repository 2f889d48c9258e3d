"""Every colour that carries meaning, in one place (plain data; no GL, no imgui).

A verdict has one colour everywhere: a minimum is the same green in the Point panel, on
the 1D plot and in its panel. Balls, racers, glyph kinds, arrows and curves take their
colours from here, so a legend and the picture it explains cannot disagree. Colours are
linear RGBA tuples in 0..1 (imgui takes them as they are; GL takes them as floats).

Basin colours are the Okabe-Ito set (distinct under the common colour-vision
deficiencies), brightened where needed to read on the dark background.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ARROW_COLOR",
    "AXES_COLOR",
    "AXIS_NAME_COLORS",
    "BASIN_COLORS",
    "CURVE_COLOR",
    "DERIVATIVE_COLOR",
    "DIM_COLOR",
    "DIRECTION_COLOR",
    "DIVERGED_COLOR",
    "DROP_COLOR",
    "ERROR_COLOR",
    "FIELD_COLOR",
    "GLYPHS",
    "GLYPH_COLORS",
    "GLYPH_LABELS",
    "GRID_COLOR",
    "GUIDE_COLOR",
    "HALO_COLOR",
    "MARKER_RING_COLOR",
    "OUTLINE_COLOR",
    "PANEL_COLOR",
    "POINT_COLOR",
    "RACER_COLORS",
    "STATUS_COLORS",
    "TANGENT_COLOR",
    "TANGENT_PLANE_COLOR",
    "TEXT_COLOR",
    "UNDECIDED_COLOR",
    "VERDICT_COLORS",
    "basin_color",
    "basin_colors",
    "racer_color",
    "rgb",
]

#: What a point is (the classifications of :mod:`gradient_explorer.surfaces.surface` and the 1D
#: mode's stationary kinds).
VERDICT_COLORS: dict[str, tuple[float, float, float, float]] = {
    "minimum": (0.32, 0.92, 0.48, 1.0),
    "maximum": (1.0, 0.42, 0.36, 1.0),
    "saddle": (0.85, 0.6, 1.0, 1.0),
    "degenerate critical point": (1.0, 0.86, 0.25, 1.0),
    "not differentiable": (1.0, 0.6, 0.85, 1.0),
    "not a critical point": (0.62, 0.65, 0.72, 1.0),
    "undefined": (0.62, 0.65, 0.72, 1.0),
}

#: A ball's state; "converged" is the minimum's green (a ball comes to rest in one).
STATUS_COLORS: dict[str, tuple[float, float, float, float]] = {
    "running": (1.0, 0.6, 0.25, 1.0),
    "converged": VERDICT_COLORS["minimum"],
    "diverged": (1.0, 0.22, 0.25, 1.0),
}
DIVERGED_COLOR = STATUS_COLORS["diverged"]

#: Racers, in legend order: distinct on the dark background and on viridis.
RACER_COLORS: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.45, 0.1),
    (0.3, 0.75, 1.0),
    (1.0, 0.3, 0.55),
    (0.45, 0.95, 0.4),
    (0.8, 0.55, 1.0),
    (1.0, 0.9, 0.3),
    (0.2, 0.95, 0.85),
    (1.0, 0.65, 0.75),
    (0.7, 0.7, 0.7),
    (0.55, 0.4, 0.25),
)

#: The glyphs drawn at a ball, each kind its own colour (none is a racer's colour
#: family's first entries, and the two gradient components are the axes' colours) and the
#: legend's words for it: one row a kind, so no kind has a colour and no label.
GLYPHS: dict[str, tuple[tuple[float, float, float, float], str]] = {
    "gradient_x": ((1.0, 0.3, 0.3, 1.0), "gradient, x part"),
    "gradient_y": ((0.35, 1.0, 0.45, 1.0), "gradient, y part"),
    "momentum": ((0.25, 0.8, 1.0, 1.0), "momentum / velocity"),
    "step": ((1.0, 1.0, 1.0, 1.0), "step taken"),
    "second_moment": ((1.0, 0.82, 0.1, 1.0), "second moment (sides: sqrt)"),
    "phase": ((1.0, 0.95, 0.5, 1.0), "this phase"),
    "full_gradient": ((1.0, 0.6, 0.15, 1.0), "gradient on all the data"),
    "batch_gradient": ((1.0, 0.45, 0.75, 1.0), "gradient on this mini-batch"),
}
GLYPH_COLORS: dict[str, tuple[float, float, float, float]] = {
    kind: color for kind, (color, _) in GLYPHS.items()
}
GLYPH_LABELS: dict[str, str] = {kind: label for kind, (_, label) in GLYPHS.items()}

#: The minima a swarm's balls end in (Okabe-Ito, sky blue first: it reads on viridis).
BASIN_COLORS: tuple[tuple[float, float, float], ...] = (
    (0.34, 0.71, 0.91),  # sky blue
    (0.9, 0.62, 0.0),  # orange
    (0.8, 0.47, 0.65),  # reddish purple
    (0.94, 0.89, 0.26),  # yellow
    (0.0, 0.62, 0.45),  # bluish green
    (0.84, 0.37, 0.0),  # vermillion
    (0.0, 0.45, 0.7),  # blue
    (1.0, 1.0, 1.0),  # white
)
UNDECIDED_COLOR = (0.55, 0.56, 0.6)  # a ball not yet near any known minimum

OUTLINE_COLOR = (0.02, 0.02, 0.03)  # the dark rim of every ball and glyph
ARROW_COLOR = (0.95, 0.22, 0.25, 1.0)  # the point's gradient arrows
POINT_COLOR = (1.0, 0.42, 0.08, 1.0)  # the point itself
DIRECTION_COLOR = (1.0, 0.86, 0.25, 1.0)  # the direction dial and the slice along it
ERROR_COLOR = (1.0, 0.38, 0.38, 1.0)  # refused input, in every panel
CURVE_COLOR = (0.38, 0.76, 1.0, 1.0)
DERIVATIVE_COLOR = (0.86, 0.5, 0.98, 1.0)
TANGENT_COLOR = (1.0, 0.55, 0.08, 1.0)

# The frame around the data: text, axes, the 1D view's bands, helpers of the point.
TEXT_COLOR = (0.85, 0.87, 0.92, 1.0)  # labels and tick values
DIM_COLOR = (0.62, 0.65, 0.72, 1.0)  # secondary text; the 1D view's axes
AXES_COLOR = (0.75, 0.78, 0.85, 1.0)  # the 3D axes' lines
#: The 3D axes' names: x reddish, y greenish, f bluish (as the gradient's x and y glyphs).
AXIS_NAME_COLORS: dict[str, tuple[float, float, float, float]] = {
    "x": (1.0, 0.55, 0.5, 1.0),
    "y": (0.55, 1.0, 0.6, 1.0),
    "f": (0.6, 0.75, 1.0, 1.0),
}
PANEL_COLOR = (0.105, 0.115, 0.145, 1.0)  # the 1D view's plot bands
GRID_COLOR = (0.19, 0.21, 0.26, 1.0)  # their grid lines
FIELD_COLOR = (0.12, 0.12, 0.16, 1.0)  # the gradient field's arrows on the floor map
DROP_COLOR = (1.0, 0.55, 0.1, 0.8)  # the line from the point down to the floor map
GUIDE_COLOR = (1.0, 0.55, 0.1, 0.45)  # the 1D view's dashed line down from the point
TANGENT_PLANE_COLOR = (0.95, 0.95, 1.0, 0.35)  # see-through
HALO_COLOR = (1.0, 1.0, 1.0, 0.9)  # the light ring round the 1D view's point
MARKER_RING_COLOR = (0.05, 0.05, 0.07, 1.0)  # the dark ring round a stationary point


def rgb(color) -> tuple[float, float, float]:
    """The RGB part of a palette colour."""
    return tuple(float(v) for v in color[:3])


def racer_color(i: int) -> tuple[float, float, float]:
    """The ``i``-th racer's colour (the palette repeats past its end)."""
    return RACER_COLORS[i % len(RACER_COLORS)]


def basin_color(k: int) -> tuple[float, float, float]:
    """The colour of the ``k``-th known minimum; -1 (undecided) grey, -2 diverged red
    (descent_mode's basin indices)."""
    if k >= 0:
        return BASIN_COLORS[k % len(BASIN_COLORS)]
    return DIVERGED_COLOR[:3] if k == -2 else UNDECIDED_COLOR


def basin_colors(basins) -> np.ndarray:
    """:func:`basin_color` of each index, ``(n, 3)`` (a swarm's balls, thousands a frame)."""
    table = np.array([*BASIN_COLORS, DIVERGED_COLOR[:3], UNDECIDED_COLOR], dtype=np.float64)
    b = np.asarray(basins)
    k = np.where(b >= 0, b % len(BASIN_COLORS), np.where(b == -2, len(table) - 2, len(table) - 1))
    return table[k]


# -- the input-plane attack (render/visuals/attack_visual.py, the attack panel) --------------
#: Predicted class 0 and 1: the tint of its region and the colour of a point it owns.
CLASS_COLORS = ((0.25, 0.55, 1.0), (1.0, 0.62, 0.15))
ATTACK_BOUNDARY_COLOR = (1.0, 1.0, 1.0, 0.95)
ATTACK_SQUARE_COLOR = (0.95, 0.95, 0.3, 1.0)  # the L-inf ball and FGSM, which lives on it
ATTACK_CIRCLE_COLOR = (0.55, 1.0, 0.6, 1.0)  # the L2 ball and the L2 step
ATTACK_PATH_COLOR = (0.95, 0.3, 0.95, 1.0)  # PGD
ATTACK_REGION_ALPHA = 0.33
