"""Coloured triangles and lines built on the CPU each frame: axes, the point, arrows."""

from __future__ import annotations

import moderngl
import numpy as np

from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.render.visuals._gl import set_uniforms


class MeshVisual:
    """A growable vertex buffer of (x, y, z, r, g, b, a) drawn with one program."""

    def __init__(self, ctx: moderngl.Context, capacity: int = 4096):
        self.ctx = ctx
        self.program = load_program(ctx, "lines")
        self._capacity = 0
        self._buffer = None
        self._vao = None
        self._ensure(capacity)

    def _ensure(self, vertices: int) -> None:
        if vertices <= self._capacity:
            return
        capacity = max(vertices, 2 * self._capacity)
        if self._vao is not None:
            self._vao.release()
            self._buffer.release()
        self._buffer = self.ctx.buffer(reserve=capacity * 28, dynamic=True)
        self._vao = self.ctx.vertex_array(
            self.program, [(self._buffer, "3f 4f", "in_position", "in_color")]
        )
        self._capacity = capacity

    def draw(self, mvp: bytes, positions: np.ndarray, colors, mode=moderngl.TRIANGLES) -> None:
        """Draw vertices (n, 3) with colours (n, 4) or one colour for all."""
        positions = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
        n = len(positions)
        if n == 0:
            return
        colors = np.broadcast_to(np.asarray(colors, dtype=np.float32), (n, 4))
        finite = np.all(np.isfinite(positions), axis=1)
        if not finite.all():  # no NaN reaches a GPU buffer
            positions, colors = positions[finite], colors[finite]
            n = len(positions)
        self._ensure(n)
        self._buffer.write(np.hstack([positions, colors]).astype(np.float32).tobytes())
        set_uniforms(self.program, {"u_mvp": mvp})
        self._vao.render(mode, vertices=n)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._buffer.release()
            self._vao = self._buffer = None
        self.program.release()
