"""The 3D scene: surface, floor map, gradient field, normals, axes and the point.

:class:`SceneRenderer` owns every visual (and so every GL object) and draws an
:class:`~gradient_explorer.app.state.AppState` into the bound framebuffer. The window and the
headless ``render`` command both call it: one code path for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.app.state import AppState
from gradient_explorer.render.geometry import (
    AXIS_NAME_OUT,
    AXIS_TICK,
    TICK_LABEL_OUT,
    arrow_mesh,
    format_tick,
    log_ticks,
    nice_ticks,
    sphere_mesh,
)
from gradient_explorer.render.palette import ARROW_COLOR, POINT_COLOR
from gradient_explorer.render.visuals.field_visual import (
    FieldVisual,
    NormalsVisual,
    field_length_scale,
)
from gradient_explorer.render.visuals.mesh_visual import MeshVisual
from gradient_explorer.render.visuals.sampled_textures import (
    bind_surface_textures,
    release_surface_textures,
)
from gradient_explorer.render.visuals.slice_visual import draw_slice
from gradient_explorer.render.visuals.surface_visual import (
    LIGHTING_INDEX,
    FloorVisual,
    SurfaceVisual,
    surface_uniforms,
)
from gradient_explorer.surfaces.surface import FLOAT32_MAX, Surface
from gradient_explorer.view.camera import gl_bytes
from gradient_explorer.view.formatting import format_number

#: float32's smallest normal number: a GPU value under it is 0 or loses its digits.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


@dataclass(frozen=True)
class Label:
    """Text to draw at a world position (axes ticks and names)."""

    position: tuple[float, float, float]
    text: str
    color: tuple[float, float, float, float] = (0.85, 0.87, 0.92, 1.0)
    priority: int = 0  # which labels stay when they would overlap: higher first


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
    # Gradient of the displayed height h = s * display(f): the chain rule, in numpy.
    f = float(surface.f(xy))
    dh = surface.height_scale * (1.0 / (1.0 + f) if surface.display == "log1p" else 1.0)
    grad_h = dh * grad
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


class SceneRenderer:
    """Owns and draws the scene's visuals; ``release()`` frees every GL object."""

    def __init__(self, ctx: moderngl.Context, grid: int = 256):
        self.ctx = ctx
        self.surface_visual = SurfaceVisual(ctx, grid)
        self.floor_visual = FloorVisual(ctx)
        self.field_visual = FieldVisual(ctx)
        self.normals_visual = NormalsVisual(ctx)
        self.mesh = MeshVisual(ctx)
        self.labels: list[Label] = []
        self._cache: dict[str, tuple] = {}
        self.curve_visual = None  # the 1D mode, the balls, the attack: made on first use
        self.balls_visual = None
        self.attack_visual = None

    @property
    def grid(self) -> int:
        return self.surface_visual.grid

    def set_grid(self, grid: int) -> None:
        if grid != self.surface_visual.grid:
            self.surface_visual.release()
            self.surface_visual = SurfaceVisual(self.ctx, grid)

    def render(self, state: AppState, size: tuple[int, int], clear: bool = True) -> list[Label]:
        """Draw the scene into the bound framebuffer of ``size`` (pixels); return labels."""
        ctx = self.ctx
        width, height = size
        if width <= 0 or height <= 0:  # minimised: nothing to draw, nothing to break
            return []
        view = state.view
        surface = state.surface
        if clear:
            ctx.clear(*view.background, 1.0, depth=1.0)
        if getattr(state, "mode", "surface") == "curve" or surface.dim == 1:
            from gradient_explorer.render.visuals.curve_visual import CurveVisual

            self.curve_visual = self.curve_visual or CurveVisual(ctx)
            self.labels = self.curve_visual.render(state, size)
            return self.labels
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE)
        self.set_grid(view.grid)
        camera = state.camera
        mvp = gl_bytes(camera.view_projection(width / height))
        heights = surface.height_range()
        point = state.point
        surface_key = (id(surface.sources), tuple(surface.param_values.items()), surface.domain)
        geometry = None
        if point:
            key = (surface_key, tuple(point), heights.floor_z)
            geometry = self._cached(
                "point", key, lambda: point_geometry(surface, point, heights.floor_z)
            )
        uniforms = {
            **surface_uniforms(surface, heights),
            "u_mvp": mvp,
            "u_eye": tuple(float(v) for v in camera.eye),
            "u_light_dir": tuple(float(v) for v in view.light_direction),
            "u_lighting": LIGHTING_INDEX[view.lighting],
            "u_contours": int(view.contours),
            "u_line_width": float(view.line_width),
            "u_has_point": 1 if geometry is not None else 0,
            "u_point_level": geometry.level if geometry is not None else 0.0,
        }
        bind_surface_textures(ctx, surface)  # a sampled surface's data; formulas: nothing
        self.surface_visual.render(surface, uniforms)
        if view.floor:
            self.floor_visual.render(surface, uniforms)
            if view.field:
                self.field_visual.render(surface, uniforms, view.field_grid)
        if view.normal_arrows:
            (x0, x1), (y0, y1) = surface.domain
            length = 0.06 * max(x1 - x0, y1 - y0)
            self.normals_visual.render(surface, uniforms, 16, length)
        self.labels = self._axes(state, mvp, heights) if view.axes else []
        if geometry is not None:
            if getattr(view, "slice", False):  # the point panel's direction dial
                draw_slice(self.mesh, surface, point, getattr(state, "direction", 0.0), mvp)
            self._point(geometry, mvp, view.tangent_plane, surface)
        descent = getattr(state, "descent", None)
        if descent is not None and descent.active:
            from gradient_explorer.render.visuals.balls_visual import BallsVisual

            self.balls_visual = self.balls_visual or BallsVisual(ctx)
            self.balls_visual.render(state, mvp, heights)
        attack = getattr(state, "input_attack", None)
        # the input plane's attack, on the loss surface it belongs to
        if attack is not None and (attack.surface is None or attack.surface is surface):
            from gradient_explorer.render.visuals.attack_visual import AttackVisual

            self.attack_visual = self.attack_visual or AttackVisual(ctx)
            self.attack_visual.render(state, mvp, heights)
        return self.labels

    def _cached(self, name: str, key, build):
        """Per-frame geometry is rebuilt only when what it depends on changes."""
        entry = self._cache.get(name)
        if entry is None or entry[0] != key:
            entry = (key, build())
            self._cache[name] = entry
        return entry[1]

    def _axes(self, state: AppState, mvp: bytes, heights) -> list[Label]:
        surface = state.surface
        base = state.axes_base()
        key = (
            id(surface.sources),
            tuple(surface.param_values.items()),
            surface.domain,
            surface.display,
            surface.height_scale,
            base,
        )
        lines, labels = self._cached("axes", key, lambda: axes_geometry(surface, heights, base))
        self.mesh.draw(mvp, lines, (0.75, 0.78, 0.85, 1.0), moderngl.LINES)
        return labels

    def _point(self, g: PointGeometry, mvp: bytes, tangent: bool, surface: Surface) -> None:
        ctx = self.ctx
        triangles, colors, drop = self._cached("point_mesh", id(g), lambda: point_mesh(g, surface))
        self.mesh.draw(mvp, triangles, colors)
        if drop is not None:
            self.mesh.draw(mvp, drop, (1.0, 0.55, 0.1, 0.8), moderngl.LINES)
        if tangent and g.tangent_plane is not None:
            ctx.enable(moderngl.BLEND)
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            # moderngl keeps the depth mask on the framebuffer (a Context attribute is
            # silently ignored): the see-through plane must not hide the balls behind it
            fbo = ctx.fbo
            if fbo is not None:
                fbo.depth_mask = False
            self.mesh.draw(mvp, g.tangent_plane, (0.95, 0.95, 1.0, 0.35))
            if fbo is not None:
                fbo.depth_mask = True
            ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        for visual in (
            self.surface_visual,
            self.floor_visual,
            self.field_visual,
            self.normals_visual,
            self.mesh,
        ):
            visual.release()
        for visual in (self.curve_visual, self.balls_visual, self.attack_visual):
            if visual is not None:
                visual.release()
        self.curve_visual = self.balls_visual = self.attack_visual = None
        self._cache.clear()
        release_surface_textures(self.ctx)


def axes_geometry(
    surface: Surface, heights, base_z: float | None = None
) -> tuple[np.ndarray, list[Label]]:
    """Line segments of the axes and their ticks, and the labels (world coordinates).

    The x and y axes stand on ``base_z``: the floor's height (the default) where the floor
    map is drawn, else just under the surface's edges where they run (see
    :meth:`AppState.axes_base`), so no empty band sits under the surface. The f axis
    runs from the lower of that and the bottom of the clip box to its top.
    """
    (x0, x1), (y0, y1) = surface.domain
    z0, z1 = heights.floor_z if base_z is None else base_z, heights.clip_hi
    zf = min(z0, heights.clip_lo)
    extent = max(x1 - x0, y1 - y0)
    tick = AXIS_TICK * extent
    out, name_out = TICK_LABEL_OUT * tick, AXIS_NAME_OUT * tick
    lines, labels = [], []
    # x along the front edge, y along the right one, f standing at the far left corner
    # (and the left edge joining them): as in matplotlib's 3D axes, the y and f labels
    # stand on opposite sides of the surface, so they never stack in one column.
    lines += [(x0, y0, z0), (x1, y0, z0), (x1, y0, z0), (x1, y1, z0)]
    lines += [(x0, y0, z0), (x0, y1, z0), (x0, y1, zf), (x0, y1, z1)]
    name, end, inner = 3, 2, 1  # label priorities: axis names, end ticks, the rest
    xs = nice_ticks(x0, x1)
    for k, v in enumerate(xs):
        lines += [(v, y0, z0), (v, y0 - tick, z0)]
        rank = end if k in (0, len(xs) - 1) else inner
        labels.append(Label((v, y0 - out, z0), format_tick(v), priority=rank))
    ys = nice_ticks(y0, y1)
    for k, v in enumerate(ys):
        lines += [(x1, v, z0), (x1 + tick, v, z0)]
        rank = end if k in (0, len(ys) - 1) else inner
        labels.append(Label((x1 + out, v, z0), format_tick(v), priority=rank))
    # The f axis reads in values of f, at round numbers of f (decades on a log1p height).
    fs, hs = height_ticks(
        heights.lo, heights.hi, surface.height_scale, surface.display, limits=(zf, z1)
    )
    for k, (f, h) in enumerate(zip(fs, hs, strict=True)):
        lines += [(x0, y1, h), (x0 - tick, y1, h)]
        rank = end if k in (0, len(fs) - 1) else inner
        labels.append(Label((x0 - out, y1, h), format_tick(f), priority=rank))
    # a model's loss names its coordinates (w, b; α, β; two weights) and calls f the loss
    nx, ny, nf = getattr(surface, "axis_names", ("x", "y", "f"))
    labels += [
        Label(((x0 + x1) / 2, y0 - name_out, z0), nx, (1.0, 0.55, 0.5, 1.0), name),
        Label((x1 + name_out, (y0 + y1) / 2, z0), ny, (0.55, 1.0, 0.6, 1.0), name),
        Label((x0 - out, y1, z1), nf, (0.6, 0.75, 1.0, 1.0), name),
    ]
    return np.array(lines, dtype=np.float32), labels


def drawing_note(surface: Surface) -> str | None:
    """One line when f over the domain is past what float32 (the GPU's numbers) can draw.

    Heights beyond float32's largest number are left out of the picture (the shader gets
    inf there) and an f that stays under its smallest normal number draws flat at 0;
    the note says which, with the value. None when everything can be drawn.
    """
    if surface.dim != 2:
        return None
    return surface.memo(("drawing_note",), lambda: _drawing_note(surface))


def _drawing_note(surface: Surface) -> str | None:
    (x0, x1), (y0, y1) = surface.domain
    gx, gy = np.meshgrid(np.linspace(x0, x1, 129), np.linspace(y0, y1, 129))
    fv = np.asarray(surface.f(np.stack([gx, gy], -1)), dtype=np.float64)
    fv = fv[np.isfinite(fv)]
    if fv.size == 0:
        return None
    peak = float(fv[np.argmax(np.abs(fv))])
    if abs(peak) > FLOAT32_MAX:
        return (
            f"note: f reaches {format_number(peak, '.3g')} here, past the "
            f"{FLOAT32_MAX:.3g} the GPU's float32 holds: those heights are left out"
        )
    if 0.0 < abs(peak) < FLOAT32_TINY:
        return (
            f"note: |f| stays under {format_number(abs(peak), '.3g')}, below the "
            f"{FLOAT32_TINY:.3g} float32 can tell from 0: the surface is drawn flat"
        )
    return None


def point_mesh(g: PointGeometry, surface: Surface):
    """Triangles and colours of the dot and the gradient arrows; the drop line to the floor."""
    (x0, x1), (y0, y1) = surface.domain
    extent = max(x1 - x0, y1 - y0)
    radius = 0.018 * extent
    dot = sphere_mesh(g.position, radius)
    shade = 0.55 + 0.45 * ((dot - g.position) @ np.array([0.3, -0.4, 0.87]) / radius)
    parts = [dot]
    colors = [np.column_stack([np.outer(shade, POINT_COLOR[:3]), np.ones(len(dot))])]
    red = np.array(ARROW_COLOR)
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


def height_ticks(
    h_lo: float,
    h_hi: float,
    scale: float,
    display: str,
    count: int = 4,
    limits: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Round values of f for the height axis over displayed heights [h_lo, h_hi].

    Returns ``(f values, their displayed heights)``. A linear height gets 1-2-5 steps of
    f; a log1p height gets 0 and decades of f (0, 1, 10, 100, ...) at their log1p
    positions, so the axis never reads 6.39 or 402. Ticks stand within ``limits`` (the
    axis's extent in displayed height; [h_lo, h_hi] if None).
    """
    with np.errstate(all="ignore"):
        f_lo, f_hi = (float(_height_to_f(h, scale, display)) for h in (h_lo, h_hi))
    if display == "log1p":
        fs = log_ticks(f_lo, f_hi, count + 1)
        with np.errstate(all="ignore"):
            hs = scale * np.log1p(fs)
    else:
        fs = nice_ticks(f_lo, f_hi, count)
        hs = scale * fs
    a, b = sorted(limits if limits is not None else (h_lo, h_hi))
    slack = 1e-9 * abs(h_hi - h_lo)
    ok = np.isfinite(hs) & (hs >= a - slack) & (hs <= b + slack)
    return fs[ok], hs[ok]


def _height_to_f(h: float, scale: float, display: str) -> float:
    """Invert the display transform for tick labels: the axis reads in values of f."""
    v = np.float64(h) / scale
    return np.expm1(v) if display == "log1p" else v
