"""Trails as screen-space ribbons built on the GPU from their world segments.

:func:`~gradient_explorer.render.visuals.balls_visual.screen_ribbons` builds the same
triangles with numpy; a trail's segments are projected and widened every frame (the
camera moves) and drawn four times (outline and fill, faded and at full strength). Here
they are uploaded once a frame, as world ends and a colour per segment, and
``ribbons.glsl`` widens them for each of those draws.
"""

from __future__ import annotations

import moderngl
import numpy as np

from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.render.visuals._gl import GrowableBuffer, set_uniforms

_CORNERS = np.arange(6, dtype=np.float32)
VERTEX_BYTES = 48  # a (3), b (3), colour (4), pieces (1), corner (1), float32: six per segment


class RibbonMesh:
    """A growable buffer of segments (a, b, colour) drawn as ribbons ``width`` px wide."""

    def __init__(self, ctx: moderngl.Context, capacity: int = 1024):
        self.ctx = ctx
        self.program = load_program(ctx, "ribbons")
        self._segments = GrowableBuffer(ctx, VERTEX_BYTES, 6 * capacity)
        self._vao = None
        self._vao_for = 0
        self.count = 0

    def upload(self, a: np.ndarray, b: np.ndarray, colors: np.ndarray, pieces=None) -> None:
        """The segments ``a -> b`` (world, ``(m, 3)``, finite) with colours ``(m, 4)``.

        ``pieces`` (``(m,)``, default 1): how many overlapping pieces each segment stands
        for (:func:`~gradient_explorer.render.visuals.balls_visual.merge_short_pieces`);
        its alpha a is drawn as the k blends of them would be, 1 - (1 - a)^k.
        """
        self.write(self.pack(a, b, colors, pieces))

    @staticmethod
    def pack(a: np.ndarray, b: np.ndarray, colors: np.ndarray, pieces=None) -> np.ndarray:
        """:meth:`upload`'s vertices, without GL (any thread): six per segment."""
        m = len(a)
        packed = np.empty((m, 6, 12), dtype=np.float32)
        packed[:, :, 0:3] = np.asarray(a)[:, None]
        packed[:, :, 3:6] = np.asarray(b)[:, None]
        packed[:, :, 6:10] = np.asarray(colors)[:, None]
        packed[:, :, 10] = 1.0 if pieces is None else np.asarray(pieces)[:, None]
        packed[:, :, 11] = _CORNERS
        return packed.reshape(-1, 12)

    def write(self, packed: np.ndarray) -> None:
        """Upload :meth:`pack`'s vertices; what :meth:`draw` draws next."""
        self._segments.write(packed)
        self.count = len(packed) // 6
        if self._vao_for != self._segments.generation:  # the buffer grew: a new one
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(
                self.program,
                [
                    (
                        self._segments.buffer,
                        "3f 3f 4f 1f 1f",
                        "in_a",
                        "in_b",
                        "in_color",
                        "in_pieces",
                        "in_corner",
                    )
                ],
            )
            self._vao_for = self._segments.generation

    def draw(
        self,
        mvp: bytes,
        size: tuple[int, int],
        width: float,
        alpha: float = 1.0,
        outline_rgb=None,
        bias: float = 0.0,
    ) -> None:
        """Draw what was uploaded; ``outline_rgb``: as the dark outline in that colour."""
        if self.count == 0:
            return
        set_uniforms(
            self.program,
            {
                "u_mvp": mvp,
                "u_half_size": (0.5 * size[0], 0.5 * size[1]),
                "u_width": float(width),
                "u_bias": float(bias),
                "u_outline": 0 if outline_rgb is None else 1,
                "u_outline_rgb": tuple(float(v) for v in (outline_rgb or (0.0, 0.0, 0.0))[:3]),
                "u_alpha": float(alpha),
            },
        )
        self._vao.render(moderngl.TRIANGLES, vertices=6 * self.count)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._vao = None
        self._segments.release()
        if self.program is not None:
            self.program.release()
            self.program = None
