"""The height surface and the floor map: one grid uploaded once, heights from GLSL.

Both take a :class:`SurfaceLook` (the surface, its height range and how it is drawn) and
draw with the frame's uniforms; the field and normals visuals take one too.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.render.geometry import grid_strips, surface_grid
from gradient_explorer.render.gl_direct import DirectDraw
from gradient_explorer.render.visuals._gl import ProgramCache, set_uniforms
from gradient_explorer.render.visuals.visual import FrameUniforms, Visual
from gradient_explorer.surfaces.surface import HeightRange, Surface

LIGHTING_INDEX = {"lit": 0, "unlit": 1, "normals": 2}


def surface_uniforms(surface: Surface, heights: HeightRange) -> dict:
    """Uniforms every surface-reading shader shares: domain, scale, ranges, parameters."""
    (x0, x1), (y0, y1) = surface.domain
    return {
        "u_domain": (x0, x1, y0, y1),
        "u_height_scale": surface.height_scale,
        "u_clip": (heights.lo, heights.hi, heights.clip_lo, heights.clip_hi),
        "u_floor_z": heights.floor_z,
        **surface.uniforms(),
    }


@dataclass(frozen=True)
class SurfaceLook:
    """A surface and how it is drawn: the data of the surface-reading visuals.

    ``point_level``: the displayed height of the level curve through the point (drawn
    highlighted), None with no point.
    """

    surface: Surface
    heights: HeightRange
    lighting: str = "lit"
    contours: int = 0
    line_width: float = 1.0
    point_level: float | None = None

    def uniforms(self, frame: FrameUniforms) -> dict:
        """Every uniform the surface-reading shaders take, the frame's included."""
        # the reciprocals of the colour range and of the level spacing, here once rather
        # than a division per pixel; an empty range draws no level curves, as before (its
        # pixels lie a huge spacing away from any)
        span = self.heights.hi - self.heights.lo
        levels = max(int(self.contours), 1) + 1
        return {
            **surface_uniforms(self.surface, self.heights),
            **frame.uniforms(),
            "u_color_scale": 1.0 / max(span, 1e-12),
            "u_level_scale": levels / span if span > 0 else 0.0,
            "u_level_spacing": span / levels if span > 0 else 1e30,
            "u_contours": int(self.contours),
            "u_line_width": float(self.line_width),
            "u_has_point": 1 if self.point_level is not None else 0,
            "u_point_level": self.point_level if self.point_level is not None else 0.0,
        }


class GeneratedVisual(Visual):
    """Base of the visuals drawn by one shader file with a surface's generated GLSL.

    A subclass names its ``shader``, makes its buffers with :meth:`_buffer`, and says how
    its vertex array is built (:meth:`_vertex_array`) and drawn (:meth:`_render`); the
    program cache, the uniforms and the release are this class's.
    """

    shader: str = ""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self._buffers: list[moderngl.Buffer] = []
        self._programs = ProgramCache(ctx, self.shader)

    def _buffer(self, array: np.ndarray) -> moderngl.Buffer:
        """A static buffer of ``array``, released with the visual."""
        buffer = self.ctx.buffer(array.tobytes())
        self._buffers.append(buffer)
        return buffer

    def _look(self) -> SurfaceLook:
        return self.data

    def _uniforms(self, frame: FrameUniforms) -> dict:
        return self._look().uniforms(frame)

    def _vertex_array(self, program: moderngl.Program) -> moderngl.VertexArray:
        raise NotImplementedError

    def _render(self, vao: moderngl.VertexArray) -> None:
        raise NotImplementedError

    def _vaos(self, program: moderngl.Program) -> dict:
        return {"main": self._vertex_array(program)}

    def draw(self, frame: FrameUniforms) -> None:
        program, vaos = self._programs.get(self._look().surface.glsl, self._vaos)
        set_uniforms(program, self._uniforms(frame))
        self._render(vaos["main"])

    def release(self) -> None:
        self._programs.release()
        for buffer in self._buffers:
            buffer.release()
        self._buffers.clear()


#: The largest grid drawn in the order that suits the camera (front to back): each order
#: is another index buffer (4 at most, 33 MB at 1024; 130 MB at 2048 would be too many).
ORDERED_GRID_MAX = 1024


def draw_order(eye, domain) -> tuple[str, bool]:
    """Which way to walk the grid so that the cells nearest the eye are drawn first.

    ``("rows", ascending)`` walks rows of constant y (from low y when ``ascending``),
    ``("columns", ascending)`` columns of constant x: along the horizontal axis that
    points most at the eye, starting from its side. The surface then hides what lies
    behind it before that is shaded: on a software rasterizer, pixels the depth test
    refuses cost little, and the banana seen from its side hides a third of itself.
    """
    (x0, x1), (y0, y1) = domain
    du = (float(eye[0]) - 0.5 * (x0 + x1)) / max(x1 - x0, 1e-300)
    dv = (float(eye[1]) - 0.5 * (y0 + y1)) / max(y1 - y0, 1e-300)
    if not (np.isfinite(du) and np.isfinite(dv)):
        return ("rows", True)
    if abs(du) > abs(dv):
        return ("columns", du < 0.0)
    return ("rows", dv <= 0.0)  # right above the centre: the grid's own order


class SurfaceVisual(GeneratedVisual):
    """Draws z = s * display(f(x, y)) lit by the analytic gradient, per pixel.

    ``update(look: SurfaceLook)``. The grid is drawn as triangle strips
    (:func:`~gradient_explorer.render.geometry.grid_strips`), front to back for the
    frame's eye (:func:`draw_order`), up to :data:`ORDERED_GRID_MAX`; the picture is the
    same in any order (the depth test decides), only its cost changes.
    """

    data: SurfaceLook | None = None
    shader = "surface"

    def __init__(self, ctx: moderngl.Context, grid: int = 256, direct: DirectDraw | None = None):
        super().__init__(ctx)
        self.grid = grid
        self.direct = direct  # software GL: the draw call without the GIL (gl_direct)
        self._uv = self._buffer(surface_grid(grid))
        self._indices: dict[tuple[str, bool], moderngl.Buffer] = {}  # made as needed
        self.order = ("rows", True)  # the order of the last draw (tests)

    def _index_buffer(self, order: tuple[str, bool]) -> moderngl.Buffer:
        if order not in self._indices:
            self._indices[order] = self._buffer(grid_strips(self.grid, order))
        return self._indices[order]

    def _vertex_array(self, program: moderngl.Program, order):
        buffer = self._index_buffer(order)
        return self.ctx.vertex_array(program, [(self._uv, "2f", "in_uv")], buffer)

    def draw(self, frame: FrameUniforms) -> None:
        look = self._look()
        # the lighting mode is compiled in: a branch on a uniform costs every pixel its
        # three ways on a software rasterizer (~5% of the draw); a mode change compiles once
        defines = {"LIGHTING": LIGHTING_INDEX[look.lighting]}
        program, vaos = self._programs.get(look.surface.glsl, self._vaos, defines)
        set_uniforms(program, self._uniforms(frame))
        order = ("rows", True)
        if self.grid <= ORDERED_GRID_MAX:
            order = draw_order(frame.eye, look.surface.domain)
        if order not in vaos:  # released with the program's other vertex arrays
            vaos[order] = self._vertex_array(program, order)
        self.order = order
        if self.direct is not None:
            self.direct.render(vaos[order], moderngl.TRIANGLE_STRIP)
        else:
            vaos[order].render(moderngl.TRIANGLE_STRIP)

    def _vaos(self, program: moderngl.Program) -> dict:
        return {}  # one per order, made by draw() as the camera needs it


class FloorVisual(GeneratedVisual):
    """The floor map: the same level curves as a 2D contour plot under the surface.

    ``update(look: SurfaceLook)``.
    """

    data: SurfaceLook | None = None
    shader = "floor"

    def __init__(self, ctx: moderngl.Context):
        super().__init__(ctx)
        self._uv = self._buffer(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32))

    def _vertex_array(self, program: moderngl.Program) -> moderngl.VertexArray:
        return self.ctx.vertex_array(program, [(self._uv, "2f", "in_uv")])

    def _render(self, vao: moderngl.VertexArray) -> None:
        vao.render(moderngl.TRIANGLE_STRIP)
