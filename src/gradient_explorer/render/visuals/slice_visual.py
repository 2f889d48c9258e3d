"""The slice through the point along the direction dial: a 3D curve on the surface.

Cutting the surface with the vertical plane through the point along the unit direction
``u`` gives the 1D function ``g(t) = f(p + t u)``; its slope at ``t = 0`` is the
directional derivative ``D_u f = grad f . u``. Drawing the cut makes that number visible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.render.geometry import arrow_mesh, height_gradient
from gradient_explorer.render.palette import DIRECTION_COLOR
from gradient_explorer.render.visuals.mesh_visual import MeshDrawnVisual
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import Surface

SLICE_COLOR = DIRECTION_COLOR


def direction_vector(degrees: float) -> np.ndarray:
    """Unit vector in the domain plane at ``degrees`` counter-clockwise from +x."""
    a = math.radians(float(degrees))
    return np.array([math.cos(a), math.sin(a)])


def slice_curve(surface: Surface, point, degrees: float, samples: int = 200) -> np.ndarray:
    """World points ``(x, y, h)`` of the surface along the line through ``point``.

    Parameters
    ----------
    surface : Surface
        A height surface (``dim == 2``).
    point : (float, float)
        Domain point the line passes through.
    degrees : float
        Direction of the line, counter-clockwise from +x.
    samples : int
        Points along the part of the line inside the domain.

    Returns
    -------
    ndarray, shape (n, 3)
        Consecutive points; NaN heights (holes) are kept so a line strip can be split
        there. Empty when the point is outside the domain.
    """
    p = np.asarray(point, dtype=np.float64)
    u = direction_vector(degrees)
    (x0, x1), (y0, y1) = surface.domain
    lo, hi = np.array([x0, y0]), np.array([x1, y1])
    if np.any(p < lo) or np.any(p > hi):
        return np.zeros((0, 3))
    # The line's parameter range inside the domain rectangle (slab test).
    t_lo, t_hi = -math.inf, math.inf
    for k in range(2):
        if abs(u[k]) > 1e-12:
            a, b = (lo[k] - p[k]) / u[k], (hi[k] - p[k]) / u[k]
            t_lo, t_hi = max(t_lo, min(a, b)), min(t_hi, max(a, b))
    t = np.linspace(t_lo, t_hi, samples)
    xy = p + t[:, None] * u
    h = surface.height(xy)
    heights = surface.height_range()
    # Heights beyond the clip box are drawn clipped, like the surface itself.
    with np.errstate(invalid="ignore"):
        h = np.where((h < heights.clip_lo) | (h > heights.clip_hi), np.nan, h)
    return np.column_stack([xy, h])


def _segments(curve: np.ndarray) -> np.ndarray:
    """Line-list vertices joining consecutive finite points of ``curve``."""
    ok = np.all(np.isfinite(curve), axis=1)
    pair = ok[:-1] & ok[1:]
    return np.stack([curve[:-1][pair], curve[1:][pair]], axis=1).reshape(-1, 3)


@dataclass(frozen=True)
class SliceData:
    """The slice's data: the surface, the point and the direction (degrees from +x)."""

    surface: Surface
    point: tuple[float, float]
    degrees: float


class SliceVisual(MeshDrawnVisual):
    """The slice through the point and its tangent arrow. ``update(SliceData)`` builds
    them when the drawn surface, the point or the direction changed; ``draw`` draws."""

    data: SliceData | None = None
    _key = None
    _lines: np.ndarray | None = None
    _arrow: np.ndarray | None = None

    def update(self, data: SliceData) -> None:
        self.data = data
        key = (data.surface.draw_key(), tuple(data.point), float(data.degrees))
        if key != self._key:
            self._lines, self._arrow = slice_geometry(data.surface, data.point, data.degrees)
            self._key = key

    def draw(self, frame: FrameUniforms) -> None:
        if self._lines is not None:
            self.mesh.draw(frame.mvp_bytes, self._lines, SLICE_COLOR, moderngl.LINES)
        if self._arrow is not None:
            self.mesh.draw(frame.mvp_bytes, self._arrow, SLICE_COLOR)


def slice_geometry(surface: Surface, point, degrees: float):
    """The slice's line segments and its tangent arrow's triangles (either None)."""
    curve = slice_curve(surface, point, degrees)
    if len(curve) < 2:
        return None, None
    (x0, x1), (y0, y1) = surface.domain
    extent = max(x1 - x0, y1 - y0)
    # Lift the curve a hair toward the viewer's side (up) so it is not hidden in the surface.
    lifted = curve + np.array([0.0, 0.0, 0.003 * extent])
    # The tangent of the slice at the point: run 1 along u, rise D_u h = grad h . u.
    u = direction_vector(degrees)
    xy = np.asarray(point, dtype=np.float64)
    h, grad_h = height_gradient(surface, xy)
    h, rise = float(h), float(grad_h @ u)
    arrow = None
    if math.isfinite(h) and math.isfinite(rise):
        vec = np.array([*u, rise])
        vec = vec / np.linalg.norm(vec) * 0.16 * extent
        arrow = arrow_mesh(np.array([*xy, h]), vec, radius=0.005 * extent)
    return _segments(lifted), arrow
