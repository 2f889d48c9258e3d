"""The input-plane attack drawn in the scene: class regions and the decision boundary on the
floor; at the point the eps-square and eps-circle, the FGSM corner, the L2 step and the PGD
path, each iterate coloured by the class the model predicts there.

:func:`attack_geometry` builds everything in world coordinates with numpy (tested);
:class:`AttackVisual` only draws it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from gradient_explorer.render.geometry import arrow_mesh, sphere_mesh
from gradient_explorer.render.palette import (
    ARROW_COLOR,
    CLASS_COLORS,
)
from gradient_explorer.render.palette import (
    ATTACK_BOUNDARY_COLOR as BOUNDARY_COLOR,
)
from gradient_explorer.render.palette import (
    ATTACK_CIRCLE_COLOR as CIRCLE_COLOR,
)
from gradient_explorer.render.palette import (
    ATTACK_PATH_COLOR as PATH_COLOR,
)
from gradient_explorer.render.palette import (
    ATTACK_REGION_ALPHA as REGION_ALPHA,
)
from gradient_explorer.render.palette import (
    ATTACK_SQUARE_COLOR as SQUARE_COLOR,
)
from gradient_explorer.render.visuals._gl import gl_state
from gradient_explorer.render.visuals.mesh_visual import MeshVisual
from gradient_explorer.render.visuals.visual import FrameUniforms, Visual


@dataclass(frozen=True)
class AttackGeometry:
    """Triangles and lines, each a (positions (n, 3), colours (n, 4)) pair."""

    regions: tuple[np.ndarray, np.ndarray]  # floor triangles, translucent
    lines: tuple[np.ndarray, np.ndarray]  # line segments (pairs of vertices)
    solids: tuple[np.ndarray, np.ndarray]  # opaque triangles: the dots


def _rgba(rgb, alpha: float = 1.0) -> np.ndarray:
    return np.array([*rgb[:3], alpha], dtype=np.float64)


def _polyline_segments(points: np.ndarray) -> np.ndarray:
    return np.repeat(points, 2, axis=0)[1:-1]


def _lift(surface, xy: np.ndarray, lift: float) -> np.ndarray:
    """Points on the drawn surface (a little above it, so lines are not hidden in it)."""
    h = np.asarray(surface.height(xy), dtype=np.float64)
    return np.column_stack([xy, h + lift])


def _densify(points: np.ndarray, per_edge: int) -> np.ndarray:
    """A closed or open polyline with ``per_edge`` points on each edge (to drape it)."""
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)[:, None]
    parts = [a + t * (b - a) for a, b in itertools.pairwise(points)]
    return np.vstack([*parts, points[-1:]])


def attack_geometry(surface, floor_z: float, attack, point, cells: int = 64) -> AttackGeometry:
    """World-space geometry for ``attack`` (an app InputAttack) at ``point``."""
    plane = attack.plane
    (x0, x1), (y0, y1) = surface.domain
    extent = max(x1 - x0, y1 - y0)
    floor = floor_z + 1e-3 * extent
    # class regions: one quad per cell, tinted by the predicted class at its centre
    ex, ey, classes = plane.class_grid(cells)
    gx0, gy0 = np.meshgrid(ex[:-1], ey[:-1])
    gx1, gy1 = np.meshgrid(ex[1:], ey[1:])
    quads = np.stack(
        [
            np.stack([gx0, gy0], -1),
            np.stack([gx1, gy0], -1),
            np.stack([gx1, gy1], -1),
            np.stack([gx0, gy0], -1),
            np.stack([gx1, gy1], -1),
            np.stack([gx0, gy1], -1),
        ],
        axis=2,
    ).reshape(-1, 2)
    region_xyz = np.column_stack([quads, np.full(len(quads), floor)])
    palette = np.array([_rgba(c, REGION_ALPHA) for c in CLASS_COLORS])
    region_rgba = np.repeat(palette[classes.ravel()], 6, axis=0)

    lines, line_colors = [], []

    def add(segments_xyz: np.ndarray, color) -> None:
        lines.append(segments_xyz)
        line_colors.append(
            np.tile(_rgba(color, color[3] if len(color) > 3 else 1.0), (len(segments_xyz), 1))
        )

    # the decision boundary on the floor, and draped over the surface where it runs
    seg = plane.boundary(2 * cells).reshape(-1, 2)
    add(np.column_stack([seg, np.full(len(seg), 2 * floor - floor_z)]), BOUNDARY_COLOR)
    add(_lift(surface, seg, 3e-3 * extent), BOUNDARY_COLOR)

    solids, solid_colors = [], []
    a = attack.at(point)
    if a is not None:
        lift = 4e-3 * extent
        square = np.vstack([a.square, a.square[:1]])
        circle = a.circle()
        for ring, color in ((square, SQUARE_COLOR), (circle, CIRCLE_COLOR)):
            on_floor = np.column_stack([ring, np.full(len(ring), floor)])
            add(_polyline_segments(on_floor), color)
            add(_polyline_segments(_lift(surface, _densify(ring, 12), lift)), color)
        path = _lift(surface, a.pgd, lift)
        add(_polyline_segments(path), PATH_COLOR)
        add(_polyline_segments(np.column_stack([a.pgd, np.full(len(a.pgd), floor)])), PATH_COLOR)
        # the one-step attacks: a line from the point to where each lands
        for target, color in ((a.fgsm, SQUARE_COLOR), (a.l2, CIRCLE_COLOR)):
            ends = _lift(surface, np.vstack([a.point, target]), lift)
            add(ends, color)
        # the arrow dL/dx along the surface, reaching past the square: FGSM keeps only
        # its signs, so the corner it lands on need not lie along the arrow
        norm = float(np.linalg.norm(a.gradient))
        if norm > 0:
            tip_xy = a.point + 1.6 * a.eps * a.gradient / norm
            start, tip = _lift(surface, np.vstack([a.point, tip_xy]), lift)
            arrow = arrow_mesh(start, tip - start, radius=0.004 * extent)
            solids.append(arrow)
            solid_colors.append(np.tile(_rgba(ARROW_COLOR), (len(arrow), 1)))
        radius = 0.011 * extent
        marks = [(p, int(c), 0.75) for p, c in zip(a.pgd[1:], a.classes[1:], strict=True)]
        marks += [(a.fgsm, a.fgsm_class, 1.0), (a.l2, a.l2_class, 1.0)]
        # the PGD ball at the step the panel's slider shows, in its class's colour
        t = attack.shown(a)
        marks.append((a.pgd[t], int(a.classes[t]), 1.7))
        for xy, cls, size in marks:
            centre = _lift(surface, xy[None, :], 0.0)[0]
            ball = sphere_mesh(centre, size * radius, rings=6, segments=10)
            solids.append(ball)
            solid_colors.append(np.tile(_rgba(CLASS_COLORS[cls]), (len(ball), 1)))
        # the point itself in the colour of the class it is predicted as, on the floor too
        floor_dot = sphere_mesh([*a.point, floor], 0.8 * radius, rings=6, segments=10)
        solids.append(floor_dot)
        solid_colors.append(np.tile(_rgba(CLASS_COLORS[a.clean_class]), (len(floor_dot), 1)))

    def cat(parts, colors, width=4):
        if not parts:
            return np.zeros((0, 3)), np.zeros((0, width))
        return np.vstack(parts), np.vstack(colors)

    return AttackGeometry(
        (region_xyz, region_rgba), cat(lines, line_colors), cat(solids, solid_colors)
    )


@dataclass(frozen=True, eq=False)
class AttackData:
    """What :class:`AttackVisual` draws: the app's input-plane attack at ``point`` on
    ``surface`` (its loss), above the floor of ``heights``."""

    surface: Any
    heights: Any
    attack: Any
    point: tuple[float, float] | None


class AttackVisual(Visual):
    """Draws :func:`attack_geometry`; owns one MeshVisual."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.mesh = MeshVisual(ctx)
        self._key = None
        self._geometry: AttackGeometry | None = None

    def update(self, data: AttackData) -> None:
        attack = data.attack
        key = (
            id(data.surface),
            id(attack.plane),
            data.point,
            attack.eps,
            attack.alpha,
            attack.steps,
            attack.step,
            data.heights.floor_z,
        )
        if key != self._key:  # the geometry changes with the point and the sliders only
            self._geometry = attack_geometry(data.surface, data.heights.floor_z, attack, data.point)
            self._key = key

    def draw(self, frame: FrameUniforms) -> None:
        g = self._geometry
        if g is None:
            return
        mvp = frame.mvp_bytes
        with gl_state(self.ctx, blend=True):  # the class regions are tinted, not painted
            self.mesh.draw(mvp, *g.regions)
        self.mesh.draw(mvp, *g.lines, moderngl.LINES)
        self.mesh.draw(mvp, *g.solids)

    def release(self) -> None:
        self.mesh.release()
