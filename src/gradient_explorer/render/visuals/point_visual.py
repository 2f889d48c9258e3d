"""The point: a dot on the surface, the gradient arrows, the drop line, the tangent plane.

:func:`point_geometry` is numpy only (tested without GL); :class:`PointVisual` draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.render import palette
from gradient_explorer.render.geometry import arrow_mesh, height_slope, sphere_mesh
from gradient_explorer.render.visuals._gl import gl_state
from gradient_explorer.render.visuals.field_visual import field_length_scale
from gradient_explorer.render.visuals.mesh_visual import MeshDrawnVisual, MeshVisual, StaticMesh
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import Surface

__all__ = ["PointData", "PointGeometry", "PointVisual", "point_geometry", "point_mesh"]


@dataclass(frozen=True)
class PointGeometry:
    """What is drawn at the point, in world coordinates (numpy only, testable)."""

    position: np.ndarray  # (x, y, h)
    gradient: np.ndarray  # grad f at the point
    floor_arrow: tuple[np.ndarray, np.ndarray] | None  # start, vector in the floor plane
    ascent_arrow: tuple[np.ndarray, np.ndarray] | None  # start, vector along the surface
    tangent_plane: np.ndarray | None  # triangles (6, 3)
    level: float  # displayed height of the level curve through the point


def point_geometry(surface: Surface, point, floor_z: float) -> PointGeometry | None:
    """Dot, gradient arrows and tangent plane at ``point``; None where f is undefined."""
    xy = np.asarray(point, dtype=np.float64)
    h = float(surface.height(xy))
    grad = surface.gradient(xy)
    if not (math.isfinite(h) and np.all(np.isfinite(grad))):
        return None
    (x0, x1), (y0, y1) = surface.domain
    extent = max(x1 - x0, y1 - y0)
    grad_h = float(height_slope(surface, xy)) * grad  # of the displayed height
    norm = float(np.linalg.norm(grad))
    floor_arrow = ascent_arrow = None
    if norm > 0:
        scale, cap = field_length_scale(surface, 8)
        length = min(scale * norm, cap * 1.5)
        direction = grad / norm
        floor_arrow = (np.array([*xy, floor_z]), np.array([*(direction * length), 0.0]))
        # Steepest ascent on the surface: along grad in the plane, rising |grad h| per unit.
        rise = float(np.linalg.norm(grad_h))
        vec = np.array([*direction, rise])
        ascent_arrow = (np.array([*xy, h]), vec / np.linalg.norm(vec) * 0.22 * extent)
    r = 0.12 * extent
    corners = np.array([[-r, -r], [r, -r], [r, r], [-r, r]])
    plane = np.column_stack([xy + corners, h + corners @ grad_h])
    tangent = plane[[0, 1, 2, 0, 2, 3]]
    return PointGeometry(np.array([*xy, h]), grad, floor_arrow, ascent_arrow, tangent, h)


@dataclass(frozen=True)
class PointData:
    """The point's data: the surface, the domain point, the floor's height, and whether
    the tangent plane is shown."""

    surface: Surface
    point: tuple[float, float]
    floor_z: float
    tangent_plane: bool = True


class PointVisual(MeshDrawnVisual):
    """Draws the point's dot, arrows, drop line and tangent plane. ``update(PointData)``;
    :attr:`geometry` is then the point's geometry (None where f is undefined)."""

    data: PointData | None = None

    def __init__(self, ctx: moderngl.Context, mesh: MeshVisual | None = None):
        super().__init__(ctx, mesh)
        self._key = None
        self.geometry: PointGeometry | None = None
        self._mesh_data = None
        # uploaded when the point or the surface changes: the dot and arrows, the drop
        # line, the tangent plane
        self._statics = [StaticMesh(self.mesh) for _ in range(3)]

    def update(self, data: PointData) -> None:
        """Rebuild the geometry only when the drawn surface or the point moved."""
        self.data = data
        surface = data.surface
        key = (surface.draw_key(), tuple(data.point), data.floor_z)
        if key != self._key:
            self.geometry = point_geometry(surface, data.point, data.floor_z)
            self._mesh_data = point_mesh(self.geometry, surface) if self.geometry else None
            self._upload()
            self._key = key

    def _upload(self) -> None:
        dot, drop, plane = self._statics
        g = self.geometry
        empty = np.zeros((0, 3))
        triangles, colors, drop_lines = self._mesh_data or (empty, (0, 0, 0, 0), None)
        dot.set(triangles, colors)
        drop.set(empty if drop_lines is None else drop_lines, palette.DROP_COLOR)
        tangent = g.tangent_plane if g is not None else None
        plane.set(empty if tangent is None else tangent, palette.TANGENT_PLANE_COLOR)

    def draw(self, frame: FrameUniforms) -> None:
        g = self.geometry
        if g is None:
            return
        mvp = frame.mvp_bytes
        dot, drop, plane = self._statics
        dot.draw(mvp)
        drop.draw(mvp, moderngl.LINES)
        if self.data.tangent_plane and plane.count:
            # see-through, and writing no depth: it must not hide the balls behind it
            with gl_state(self.ctx, blend=True, depth_mask=False):
                plane.draw(mvp)

    def release(self) -> None:
        for static in self._statics:
            static.release()
        self._key = None  # a later update uploads again
        super().release()


def point_mesh(g: PointGeometry, surface: Surface):
    """Triangles and colours of the dot and the gradient arrows; the drop line to the floor."""
    (x0, x1), (y0, y1) = surface.domain
    extent = max(x1 - x0, y1 - y0)
    radius = 0.018 * extent
    dot = sphere_mesh(g.position, radius)
    shade = 0.55 + 0.45 * ((dot - g.position) @ np.array([0.3, -0.4, 0.87]) / radius)
    parts = [dot]
    colors = [np.column_stack([np.outer(shade, palette.POINT_COLOR[:3]), np.ones(len(dot))])]
    red = np.array(palette.ARROW_COLOR)
    drop = None
    arrows = []
    if g.ascent_arrow is not None:
        arrows.append(arrow_mesh(*g.ascent_arrow, radius=0.006 * extent))
    if g.floor_arrow is not None:
        start, vec = g.floor_arrow
        arrows.append(arrow_mesh(start, vec, radius=0.005 * extent))
        drop = np.array([g.position, [*g.position[:2], start[2]]], dtype=np.float32)
    for arrow in arrows:
        parts.append(arrow)
        colors.append(np.tile(red, (len(arrow), 1)))
    return np.concatenate(parts).astype(np.float32), np.concatenate(colors), drop
