"""Coloured triangles and lines built on the CPU each frame: the helper the visuals share.

:class:`MeshVisual` is not a scene visual itself: the axes, the point, the slice, the
balls' trails and glyphs and the 1D view hand it their vertices with the matrix to draw
them by (the frame's, or a pixel or clip-space one).
"""

from __future__ import annotations

import moderngl
import numpy as np

from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.render.visuals._gl import GrowableBuffer, set_uniforms
from gradient_explorer.render.visuals.visual import Visual

VERTEX_BYTES = 28  # (x, y, z, r, g, b, a) float32


class MeshVisual:
    """A growable vertex buffer of (x, y, z, r, g, b, a) drawn with one program."""

    def __init__(self, ctx: moderngl.Context, capacity: int = 4096):
        self.ctx = ctx
        self.program = load_program(ctx, "lines")
        self._vertices = GrowableBuffer(ctx, VERTEX_BYTES, capacity)
        self._vao = None
        self._vao_for = 0  # the buffer generation the vertex array reads

    def draw(self, mvp: bytes, positions: np.ndarray, colors, mode=moderngl.TRIANGLES) -> None:
        """Draw vertices (n, 3) with colours (n, 4) or one colour for all."""
        packed = pack_vertices(positions, colors)
        n = len(packed)
        if n == 0:
            return
        self._vertices.write(packed)
        if self._vao_for != self._vertices.generation:  # the buffer grew: a new one
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(
                self.program, [(self._vertices.buffer, "3f 4f", "in_position", "in_color")]
            )
            self._vao_for = self._vertices.generation
        set_uniforms(self.program, {"u_mvp": mvp})
        self._vao.render(mode, vertices=n)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._vao = None
        self._vertices.release()
        if self.program is not None:
            self.program.release()
            self.program = None


def pack_vertices(positions, colors) -> np.ndarray:
    """``(n, 7)`` float32 rows (x, y, z, r, g, b, a) of the finite positions ``(n, 3)``,
    with colours ``(n, 4)`` or one colour for all: no NaN reaches a GPU buffer."""
    positions = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
    n = len(positions)
    colors = np.broadcast_to(np.asarray(colors, dtype=np.float32), (n, 4))
    finite = np.isfinite(positions).all(axis=1)
    if not finite.all():
        positions, colors = positions[finite], colors[finite]
        n = len(positions)
    packed = np.empty((n, 7), dtype=np.float32)  # one copy of each, already float32
    packed[:, :3] = positions
    packed[:, 3:] = colors
    return packed


class StaticMesh:
    """Vertices drawn every frame with a :class:`MeshVisual`'s program but changed rarely
    (the axes, the point's dot and arrows): uploaded when :meth:`set`, not at each draw."""

    def __init__(self, mesh: MeshVisual):
        self.mesh = mesh
        self._buffer: moderngl.Buffer | None = None
        self._vao: moderngl.VertexArray | None = None
        self.count = 0

    def set(self, positions, colors) -> None:
        """Keep these vertices (as :meth:`MeshVisual.draw` takes them) for the draws to come."""
        self.release()
        packed = pack_vertices(positions, colors)
        self.count = len(packed)
        if self.count:
            ctx = self.mesh.ctx
            self._buffer = ctx.buffer(packed.tobytes())
            self._vao = ctx.vertex_array(
                self.mesh.program, [(self._buffer, "3f 4f", "in_position", "in_color")]
            )

    def draw(self, mvp: bytes, mode=moderngl.TRIANGLES) -> None:
        if self.count:
            set_uniforms(self.mesh.program, {"u_mvp": mvp})
            self._vao.render(mode, vertices=self.count)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._vao = None
        if self._buffer is not None:
            self._buffer.release()
            self._buffer = None
        self.count = 0


class MeshDrawnVisual(Visual):
    """Base of the visuals drawn with a :class:`MeshVisual`: the scene's shared one
    (``mesh``), or one of their own, which :meth:`release` then frees."""

    def __init__(self, ctx: moderngl.Context, mesh: MeshVisual | None = None):
        self.ctx = ctx
        self._own_mesh = mesh is None
        self.mesh = mesh if mesh is not None else MeshVisual(ctx)

    def release(self) -> None:
        if self._own_mesh and self.mesh is not None:
            self.mesh.release()
        self.mesh = None
