"""The gradient field on the floor: instanced arrows whose direction the GPU computes."""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.render.geometry import flat_arrow_template
from gradient_explorer.render.palette import FIELD_COLOR
from gradient_explorer.render.visuals.surface_visual import GeneratedVisual, SurfaceLook
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.percentiles import finite_percentiles
from gradient_explorer.surfaces.surface import Surface


def field_length_scale(surface: Surface, grid: int) -> tuple[float, float]:
    """(domain units per unit |grad f|, cap): typical arrows fill most of a cell.

    Sampled once per surface and parameter values (it is read every frame).
    """
    return surface.memo(("field_length_scale", grid), lambda: _length_scale(surface, grid))


def _length_scale(surface: Surface, grid: int) -> tuple[float, float]:
    (x0, x1), (y0, y1) = surface.domain
    cell = min(x1 - x0, y1 - y0) / grid
    u = (np.arange(grid) + 0.5) / grid
    gx, gy = np.meshgrid(x0 + (x1 - x0) * u, y0 + (y1 - y0) * u)
    norms = np.linalg.norm(surface.gradient(np.stack([gx, gy], -1)), axis=-1)
    norms = norms[np.isfinite(norms) & (norms > 0)]
    typical = float(finite_percentiles(norms, [75.0])[0]) if norms.size else 1.0
    cap = 0.9 * cell
    return cap / max(typical, 1e-300), cap


@dataclass(frozen=True)
class FieldData:
    """The gradient field's data: the surface as drawn, and arrows per side."""

    look: SurfaceLook
    grid: int


class FieldVisual(GeneratedVisual):
    """Arrows of grad f on a ``grid`` x ``grid`` lattice on the floor. ``update(FieldData)``."""

    data: FieldData | None = None
    shader = "field"

    def __init__(self, ctx: moderngl.Context):
        super().__init__(ctx)
        self._template = self._buffer(flat_arrow_template())

    def _look(self) -> SurfaceLook:
        return self.data.look

    def _vertex_array(self, program: moderngl.Program) -> moderngl.VertexArray:
        return self.ctx.vertex_array(program, [(self._template, "2f", "in_arrow")])

    def _uniforms(self, frame: FrameUniforms) -> dict:
        look, grid = self.data.look, self.data.grid
        surface = look.surface
        scale, cap = field_length_scale(surface, grid)
        return {
            **look.uniforms(frame),
            "u_grid": grid,
            "u_length_scale": scale,
            "u_max_length": cap,
            "u_color": FIELD_COLOR,
            # Sampled data: arrows stand on pixels (where the gradient is measured).
            "u_snap": surface.spacing if surface.sampled else (0.0, 0.0),
        }

    def _render(self, vao: moderngl.VertexArray) -> None:
        vao.render(moderngl.TRIANGLES, instances=self.data.grid * self.data.grid)


@dataclass(frozen=True)
class NormalsData:
    """The normal arrows' data: the surface as drawn, arrows per side, world length."""

    look: SurfaceLook
    grid: int
    length: float


class NormalsVisual(GeneratedVisual):
    """Normal arrows on a grid over the surface: (-dh/dx, -dh/dy, 1), normalized.

    ``update(NormalsData)``.
    """

    data: NormalsData | None = None
    shader = "normals"

    def _look(self) -> SurfaceLook:
        return self.data.look

    def _vertex_array(self, program: moderngl.Program) -> moderngl.VertexArray:
        return self.ctx.vertex_array(program, [])

    def _uniforms(self, frame: FrameUniforms) -> dict:
        d = self.data
        return {**d.look.uniforms(frame), "u_grid": d.grid, "u_length": d.length}

    def _render(self, vao: moderngl.VertexArray) -> None:
        vao.render(moderngl.LINES, vertices=2 * self.data.grid * self.data.grid)
