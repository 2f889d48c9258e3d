"""Balls on the surface: instanced lit spheres, trails, and per-ball glyphs.

Every ball is one instance of a unit-sphere mesh; its centre and colour live in one
buffer written once per frame, so 10,000 balls cost one upload and one draw call (two
with the floor map's discs). Centres sit on the displayed surface (world z =
``surface.height``), lifted by the radius along the surface normal so a ball touches it.
Nothing non-finite reaches a buffer: balls whose height is undefined are left out.

Glyphs (toggled in the descent panel) are numpy geometry from :func:`glyph_geometry`:
the gradient's x and y components as arrows, the velocity (momentum), the step actually
taken, and for adaptive methods the per-axis second moment as a rectangle whose sides are
``scale * sqrt(accumulator)``, the same scale as the gradient arrows (both are gradient
sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.geometry import sphere_mesh
from gradient_explorer.shader_loader import load_program
from gradient_explorer.visuals._gl import set_uniforms
from gradient_explorer.visuals.field_visual import field_length_scale
from gradient_explorer.visuals.mesh_visual import MeshVisual

__all__ = [
    "STATUS_COLORS",
    "BallsVisual",
    "GlyphGeometry",
    "arrows_batch",
    "ball_centers",
    "ball_radius",
    "glyph_geometry",
    "glyph_scale",
    "rectangles",
]

STATUS_COLORS = (
    (1.0, 0.55, 0.15),  # running
    (0.3, 0.9, 0.55),  # converged
    (1.0, 0.22, 0.25),  # diverged
)
GRADIENT_X_COLOR = (1.0, 0.35, 0.3, 1.0)
GRADIENT_Y_COLOR = (0.4, 1.0, 0.45, 1.0)
MOMENTUM_COLOR = (0.3, 0.85, 1.0, 1.0)
STEP_COLOR = (1.0, 1.0, 1.0, 1.0)
MOMENT_COLOR = (1.0, 0.85, 0.2, 1.0)
PHASE_COLOR = (1.0, 0.95, 0.5, 1.0)
MAX_GLYPH_BALLS = 2000
COARSE_ABOVE = 200  # balls drawn with the coarse sphere beyond this many
TRAIL_BUDGET = 60_000  # trail points per frame, shared by all balls (a swarm: 6 each)


def _extent(surface) -> float:
    (x0, x1), (y0, y1) = surface.domain
    return max(x1 - x0, y1 - y0)


def ball_radius(surface, n: int) -> float:
    """World radius: big for a few balls, smaller for a swarm so the surface shows."""
    extent = _extent(surface)
    if n <= 10:
        return 0.02 * extent
    return max(0.004, 0.02 * (10.0 / n) ** 0.25) * extent


def _height_gradient(surface, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Displayed height and its gradient (chain rule through the display transform)."""
    h = surface.height(xy)
    g = surface.gradient(xy)
    if surface.display == "log1p":
        with np.errstate(all="ignore"):
            g = g / (1.0 + surface.f(xy))[..., None]
    return h, surface.height_scale * g


def ball_centers(surface, positions: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """World centres ``(n, 3)`` of balls resting on the displayed surface, and a mask.

    The mask is False where the height or the normal is not finite (those balls are not
    drawn); their rows hold zeros, never NaN.
    """
    xy = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    h, gh = _height_gradient(surface, xy)
    with np.errstate(all="ignore"):
        normal = np.column_stack([-gh, np.ones(len(xy))])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        centers = np.column_stack([xy, h]) + radius * normal
    ok = np.all(np.isfinite(centers), axis=1)
    centers[~ok] = 0.0
    return centers, ok


def glyph_scale(surface) -> float:
    """Domain units per unit of gradient: typical gradients get about 1/8 of the domain."""
    scale, _cap = field_length_scale(surface, 8)
    return scale


def arrows_batch(starts, vectors, radius: float, sides: int = 6) -> np.ndarray:
    """Triangles of many 3D arrows at once: ``(m * 4 * sides * 3, 3)`` float32.

    Zero or non-finite vectors are dropped. Heads are 30% of the length, at most 6 radii.
    """
    s = np.asarray(starts, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    with np.errstate(all="ignore"):
        length = np.linalg.norm(v, axis=1)
    ok = np.isfinite(length) & (length > 1e-12) & np.all(np.isfinite(s), axis=1)
    s, v, length = s[ok], v[ok], length[ok]
    if len(s) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    d = v / length[:, None]
    helper = np.where(np.abs(d[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    a = np.cross(d, helper)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(d, a)
    head = np.minimum(0.3 * length, 6 * radius)
    r = np.minimum(radius, 0.25 * length)[:, None]
    neck = s + d * (length - head)[:, None]
    tip = s + v
    ang = np.linspace(0, 2 * math.pi, sides + 1)
    ring = np.cos(ang)[None, :, None] * a[:, None] + np.sin(ang)[None, :, None] * b[:, None]
    p0, p1 = ring[:, :-1] * r[:, None], ring[:, 1:] * r[:, None]  # (m, sides, 3)
    q0, q1 = 2.6 * p0, 2.6 * p1
    base, nk = s[:, None], neck[:, None]
    tp = np.broadcast_to(tip[:, None], p0.shape)
    nk_b = np.broadcast_to(nk, p0.shape)
    tris = np.stack(
        [
            *(base + p0, nk + p0, nk + p1, base + p0, nk + p1, base + p1),
            *(nk + q0, tp, nk + q1, nk + q0, nk + q1, nk_b),
        ],
        axis=2,
    )
    return tris.reshape(-1, 3).astype(np.float32)


@dataclass(frozen=True)
class GlyphGeometry:
    """World geometry of the glyphs of one run (numpy; tested without GL).

    Arrows are ``(starts, vectors)`` pairs of ``(m, 3)`` arrays; ``rectangles`` is
    ``(m, 4, 3)`` corners (counter-clockwise) of the second-moment rectangles.
    """

    gradient_x: tuple[np.ndarray, np.ndarray] | None
    gradient_y: tuple[np.ndarray, np.ndarray] | None
    momentum: tuple[np.ndarray, np.ndarray] | None
    step: tuple[np.ndarray, np.ndarray] | None
    rectangles: np.ndarray | None
    scale: float


def glyph_geometry(descent, centers, ok, options, scale: float, last_step=None) -> GlyphGeometry:
    """Glyphs for the balls of ``descent`` at world ``centers`` (mask ``ok``).

    Parameters
    ----------
    descent : Descent
    centers, ok : ndarray
        From :func:`ball_centers`.
    options : GlyphOptions
        Which glyphs to build.
    scale : float
        Domain units per unit of gradient (:func:`glyph_scale`).
    last_step : ndarray, optional
        ``(n, 2)`` the step each ball took last.
    """
    idx = np.flatnonzero(ok)[:MAX_GLYPH_BALLS]
    c = centers[idx]
    zero = np.zeros(len(idx))

    def flat(vec2: np.ndarray) -> np.ndarray:
        return np.column_stack([vec2[:, 0], vec2[:, 1], zero])

    gx = gy = mom = step = rects = None
    if options.gradient:
        g = descent.gradient[idx] * scale
        gx = (c, np.column_stack([g[:, 0], zero, zero]))
        gy = (c, np.column_stack([zero, g[:, 1], zero]))
    glyphs = descent.optimizer.glyphs()
    if options.momentum and glyphs["velocity"] is not None:
        v = np.asarray(glyphs["velocity"]).reshape(descent.n, -1)[idx]
        mom = (c, flat(v * scale))
    if options.step and last_step is not None:
        step = (c, flat(np.asarray(last_step).reshape(descent.n, -1)[idx]))
    if options.second_moment and glyphs["second_moment"] is not None:
        v = np.asarray(glyphs["second_moment"]).reshape(descent.n, -1)[idx]
        half = 0.5 * scale * np.sqrt(np.maximum(v, 0.0))
        rects = rectangles(c, half)
    return GlyphGeometry(gx, gy, mom, step, rects, scale)


def rectangles(centers: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Corners ``(m, 4, 3)`` of axis-aligned rectangles with half sides ``half (m, 2)``."""
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    xy = centers[:, None, :2] + signs[None] * half[:, None, :]
    z = np.broadcast_to(centers[:, None, 2:3], (len(centers), 4, 1))
    return np.concatenate([xy, z], axis=2)


def _rect_lines(rects: np.ndarray) -> np.ndarray:
    nxt = np.roll(rects, -1, axis=1)
    return np.stack([rects, nxt], axis=2).reshape(-1, 3)


class BallsVisual:
    """Draws a :class:`~gradient_explorer.descent_mode.DescentState`'s balls and glyphs."""

    def __init__(self, ctx: moderngl.Context, capacity: int = 1024):
        self.ctx = ctx
        self.program = load_program(ctx, "balls")
        # two levels of detail: a swarm's balls are a few pixels wide
        fine = sphere_mesh((0.0, 0.0, 0.0), 1.0, rings=10, segments=16)
        coarse = sphere_mesh((0.0, 0.0, 0.0), 1.0, rings=4, segments=6)
        self._sphere = ctx.buffer(np.concatenate([fine, coarse]).astype(np.float32).tobytes())
        self._lod = {"fine": (0, len(fine)), "coarse": (len(fine), len(coarse))}
        self._capacity = 0
        self._instances = None
        self._vao = None
        self._points_program = None
        self._points_vao = None
        self._points_for = None
        self._ensure(capacity)
        self.mesh = MeshVisual(ctx)
        self.drawn = 0  # balls drawn in the last frame (tests, the panel)
        self.last_centers = np.zeros((0, 3))

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        capacity = max(n, 2 * self._capacity)
        if self._vao is not None:
            self._vao.release()
            self._instances.release()
        self._instances = self.ctx.buffer(reserve=capacity * 28, dynamic=True)
        self._vao = self.ctx.vertex_array(
            self.program,
            [
                (self._sphere, "3f", "in_vert"),
                (self._instances, "3f 4f/i", "in_center", "in_color"),
            ],
        )
        self._capacity = capacity

    def render(self, state, mvp: bytes, heights) -> None:
        """Draw the balls of ``state.descent`` on ``state.surface`` (the scene's mvp)."""
        ds = state.descent
        surface = state.surface
        if surface.dim != 2 or ds.surface is not surface:
            self.drawn = 0
            return
        view = state.view
        total = sum(d.n for d in ds.descents)
        radius = ball_radius(surface, total)
        all_centers, all_colors = [], []
        per_run = []
        for i, d in enumerate(ds.descents):
            centers, ok = ball_centers(surface, d.finite_positions(), radius)
            if ds.kind == "race":
                rgb = np.broadcast_to(np.asarray(ds.colors[i]), (d.n, 3))
            else:
                rgb = np.asarray(STATUS_COLORS)[d.status_codes]
            colors = np.column_stack([rgb, np.ones(d.n)])
            all_centers.append(centers[ok])
            all_colors.append(colors[ok])
            per_run.append((d, centers, ok))
        centers = np.concatenate(all_centers) if all_centers else np.zeros((0, 3))
        colors = np.concatenate(all_colors) if all_colors else np.zeros((0, 4))
        self.last_centers = centers
        n = len(centers)
        self.drawn = n
        extent = _extent(surface)
        if ds.glyphs.trails:
            self._trails(ds, surface, mvp, heights, view.floor and ds.glyphs.floor_trails)
        if n:
            self._ensure(n)
            data = np.hstack([centers, colors]).astype(np.float32)
            self._instances.write(data.tobytes())  # the one buffer write per frame
            camera = state.camera
            set_uniforms(
                self.program,
                {
                    "u_mvp": mvp,
                    "u_radius": radius,
                    "u_on_floor": 0,
                    "u_floor_z": heights.floor_z,
                    "u_eye": tuple(float(v) for v in camera.eye),
                    "u_light_dir": tuple(float(v) for v in view.light_direction),
                },
            )
            if n > COARSE_ABOVE:
                self._render_points(state, mvp, heights, radius, n)
            else:
                first, count = self._lod["fine"]
                self._vao.render(moderngl.TRIANGLES, vertices=count, first=first, instances=n)
                if view.floor:
                    set_uniforms(self.program, {"u_on_floor": 1, "u_radius": 0.8 * radius})
                    self._vao.render(moderngl.TRIANGLES, vertices=count, first=first, instances=n)
        self._glyphs(ds, surface, per_run, mvp, radius, extent)

    def _render_points(self, state, mvp: bytes, heights, radius: float, n: int) -> None:
        """A swarm: sphere-shaded point sprites, one vertex per ball."""
        if self._points_vao is None:
            self._points_program = load_program(self.ctx, "ball_points")
            self._points_vao = self.ctx.vertex_array(
                self._points_program, [(self._instances, "3f 4f", "in_center", "in_color")]
            )
            self._points_for = self._instances
        elif self._points_for is not self._instances:  # the instance buffer grew
            self._points_vao.release()
            self._points_vao = self.ctx.vertex_array(
                self._points_program, [(self._instances, "3f 4f", "in_center", "in_color")]
            )
            self._points_for = self._instances
        camera = state.camera
        viewport_height = self.ctx.fbo.viewport[3] if self.ctx.fbo is not None else 720
        fbo_size = self.ctx.fbo.viewport if self.ctx.fbo is not None else (0, 0, 1280, 720)
        aspect = fbo_size[2] / max(fbo_size[3], 1)
        projection = camera.projection_matrix(aspect)
        view_rotation = camera.view_matrix()[:3, :3]
        light = view_rotation @ np.asarray(state.view.light_direction, dtype=np.float64)
        set_uniforms(
            self._points_program,
            {
                "u_mvp": mvp,
                "u_radius": radius,
                "u_pixels_per_unit_at_w1": 0.5 * viewport_height * float(projection[1, 1]),
                "u_on_floor": 0,
                "u_floor_z": heights.floor_z,
                "u_light_view": tuple(float(v) for v in light),
            },
        )
        self.ctx.enable(moderngl.PROGRAM_POINT_SIZE)
        self._points_vao.render(moderngl.POINTS, vertices=n)
        if state.view.floor:
            set_uniforms(self._points_program, {"u_on_floor": 1, "u_radius": 0.8 * radius})
            self._points_vao.render(moderngl.POINTS, vertices=n)
        self.ctx.disable(moderngl.PROGRAM_POINT_SIZE)

    def _trails(self, ds, surface, mvp: bytes, heights, floor: bool) -> None:
        total = sum(d.n for d in ds.descents)
        if total == 0:
            return
        keep = int(max(2, min(TRAIL_BUDGET // total, 512)))
        segs, cols, fsegs = [], [], []
        lift = 0.002 * _extent(surface)
        for i, d in enumerate(ds.descents):
            pts, lengths = d.trails()
            length = pts.shape[1]
            k = min(keep, length)
            pts = pts[:, length - k :]
            valid = np.arange(length - k, length)[None, :] >= (length - lengths)[:, None]
            h = surface.height(pts)
            world = np.concatenate([pts, h[..., None] + lift], axis=2)
            pair = valid[:, :-1] & valid[:, 1:]
            a, b = world[:, :-1][pair], world[:, 1:][pair]
            good = np.all(np.isfinite(a), 1) & np.all(np.isfinite(b), 1)
            if ds.kind == "race":
                rgb = np.broadcast_to(np.asarray(ds.colors[i]), (d.n, 3))
            else:
                rgb = np.asarray(STATUS_COLORS)[d.status_codes]
            # older segments fade out
            fade = np.broadcast_to(np.linspace(0.15, 0.95, k - 1)[None, :], pair.shape)[pair]
            seg_rgb = np.broadcast_to(rgb[:, None, :], (d.n, k - 1, 3))[pair]
            seg_col = np.column_stack([seg_rgb, fade])
            segs.append(np.stack([a[good], b[good]], 1).reshape(-1, 3))
            cols.append(np.repeat(seg_col[good], 2, axis=0))
            if floor:
                fa = np.column_stack([pts[:, :-1][pair], np.full(pair.sum(), heights.floor_z)])
                fb = np.column_stack([pts[:, 1:][pair], np.full(pair.sum(), heights.floor_z)])
                fsegs.append((np.stack([fa, fb], 1).reshape(-1, 3), np.repeat(seg_col, 2, 0)))
        ctx = self.ctx
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        if segs:
            self.mesh.draw(mvp, np.concatenate(segs), np.concatenate(cols), moderngl.LINES)
        for verts, c in fsegs:
            self.mesh.draw(mvp, verts, c, moderngl.LINES)
        ctx.disable(moderngl.BLEND)

    def _glyphs(self, ds, surface, per_run, mvp: bytes, radius: float, extent: float) -> None:
        g = ds.glyphs
        phase = ds.current_phase()
        if not (g.gradient or g.momentum or g.step or g.second_moment or phase):
            return
        scale = glyph_scale(surface)
        arrow_r = max(0.25 * radius, 0.002 * extent)
        for i, (d, centers, ok) in enumerate(per_run):
            geo = glyph_geometry(d, centers, ok, g, scale, ds.last_steps(i))
            for arrows, color in (
                (geo.gradient_x, GRADIENT_X_COLOR),
                (geo.gradient_y, GRADIENT_Y_COLOR),
                (geo.momentum, MOMENTUM_COLOR),
                (geo.step, STEP_COLOR),
            ):
                if arrows is not None:
                    self.mesh.draw(mvp, arrows_batch(*arrows, arrow_r), color)
            if geo.rectangles is not None:
                self.mesh.draw(mvp, _rect_lines(geo.rectangles), MOMENT_COLOR, moderngl.LINES)
            if phase is not None and phase.vectors[i] is not None:
                self._phase(phase, i, d, centers, ok, scale, mvp, arrow_r)

    def _phase(self, phase, i, d, centers, ok, scale, mvp, arrow_r) -> None:
        rows = phase.indices[i]
        vec = phase.vectors[i]
        keep = ok[rows]
        c, v = centers[rows][keep], vec[keep]
        if v.shape[1] != 2:
            return
        zero = np.zeros(len(v))
        if phase.name in ("accumulate", "rescaling"):
            half = 0.5 * scale * (np.sqrt(np.maximum(v, 0)) if phase.name == "accumulate" else v)
            half = np.where(np.isfinite(half), half, 0.0)
            self.mesh.draw(mvp, _rect_lines(rectangles(c, half)), PHASE_COLOR, moderngl.LINES)
            return
        k = 1.0 if phase.name == "step" else scale
        self.mesh.draw(mvp, arrows_batch(c, np.column_stack([v * k, zero]), arrow_r), PHASE_COLOR)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._instances.release()
            self._vao = self._instances = None
        self._sphere.release()
        if self._points_vao is not None:
            self._points_vao.release()
            self._points_program.release()
            self._points_vao = self._points_program = None
        self.program.release()
        self.mesh.release()
