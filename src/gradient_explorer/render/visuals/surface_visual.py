"""The height surface: one (u, v) grid uploaded once, heights and normals from GLSL."""

from __future__ import annotations

import moderngl
import numpy as np

from gradient_explorer.render.geometry import surface_grid
from gradient_explorer.render.visuals._gl import ProgramCache, set_uniforms
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


class SurfaceVisual:
    """Draws z = s * display(f(x, y)) lit by the analytic gradient, per pixel."""

    def __init__(self, ctx: moderngl.Context, grid: int = 256):
        self.ctx = ctx
        self.grid = grid
        uv, indices = surface_grid(grid)
        self._uv = ctx.buffer(uv.tobytes())
        self._indices = ctx.buffer(indices.tobytes())
        self._programs = ProgramCache(ctx, "surface")

    def _vaos(self, program: moderngl.Program) -> dict:
        return {"grid": self.ctx.vertex_array(program, [(self._uv, "2f", "in_uv")], self._indices)}

    def render(self, surface: Surface, uniforms: dict) -> None:
        program, vaos = self._programs.get(surface.glsl, self._vaos)
        set_uniforms(program, uniforms)
        vaos["grid"].render(moderngl.TRIANGLES)

    def release(self) -> None:
        self._programs.release()
        self._indices.release()
        self._uv.release()


class FloorVisual:
    """The floor map: the same level curves as a 2D contour plot under the surface."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
        self._uv = ctx.buffer(uv.tobytes())
        self._programs = ProgramCache(ctx, "floor")

    def _vaos(self, program: moderngl.Program) -> dict:
        return {"quad": self.ctx.vertex_array(program, [(self._uv, "2f", "in_uv")])}

    def render(self, surface: Surface, uniforms: dict) -> None:
        program, vaos = self._programs.get(surface.glsl, self._vaos)
        set_uniforms(program, uniforms)
        vaos["quad"].render(moderngl.TRIANGLE_STRIP)

    def release(self) -> None:
        self._programs.release()
        self._uv.release()
