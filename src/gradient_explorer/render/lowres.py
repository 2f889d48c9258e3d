"""A frame drawn at a lower resolution without MSAA, then stretched over the window.

On a software renderer (Mesa llvmpipe) a frame's cost grows with its pixels times its
samples: 1280x720 with 4x MSAA is a few frames a second. While the picture moves, the
window draws the scene into this target (a fraction of the pixels, one sample each) and
stretches it over the window with bilinear filtering; the overlay (imgui) is drawn on
top at full resolution. :class:`gradient_explorer.app.quality.AdaptiveQuality` decides
when.
"""

from __future__ import annotations

import moderngl

from gradient_explorer.render.resolve import MsaaResolver
from gradient_explorer.render.shader_loader import load_program

__all__ = ["LowResTarget", "MsaaTarget"]


class LowResTarget:
    """An offscreen colour + depth target, resized on demand, and its upscaling pass."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.program = load_program(ctx, "upscale")
        self.vao = ctx.vertex_array(self.program, [])
        self.size: tuple[int, int] | None = None
        self.color: moderngl.Texture | None = None
        self.depth: moderngl.Renderbuffer | None = None
        self.fbo: moderngl.Framebuffer | None = None

    def begin(self, size: tuple[int, int]) -> moderngl.Framebuffer:
        """Bind the target of ``size`` pixels (made or remade as needed) and return it."""
        size = (max(1, int(size[0])), max(1, int(size[1])))
        if size != self.size:
            self._release_target()
            self.color = self.ctx.texture(size, 4)
            self.color.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.color.repeat_x = self.color.repeat_y = False
            self.depth = self.ctx.depth_renderbuffer(size)
            self.fbo = self.ctx.framebuffer([self.color], self.depth)
            self.size = size
        self.fbo.use()
        self.fbo.viewport = (0, 0, *size)
        return self.fbo

    def present(self, dst: moderngl.Framebuffer, size: tuple[int, int]) -> None:
        """Stretch the target over ``dst`` (``size`` pixels), replacing what was there."""
        dst.use()
        dst.viewport = (0, 0, *size)
        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND | moderngl.CULL_FACE)
        self.color.use(0)
        self.program["u_frame"].value = 0
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def _release_target(self) -> None:
        for obj in (self.fbo, self.depth, self.color):
            if obj is not None:
                obj.release()
        self.fbo = self.depth = self.color = None
        self.size = None

    def release(self) -> None:
        """Free every GL object; safe to call twice."""
        self._release_target()
        if self.vao is not None:
            self.vao.release()
            self.program.release()
            self.vao = None


class MsaaTarget:
    """An offscreen multisampled target, resolved into the window when presented.

    On a software renderer the window itself is made without MSAA (every overlay draw
    and every swap of a multisampled window costs), and the still picture gets its
    samples here instead.
    """

    def __init__(self, ctx: moderngl.Context, samples: int) -> None:
        self.ctx = ctx
        self.samples = int(samples)
        self.size: tuple[int, int] | None = None
        self._objects: tuple = ()
        self.fbo: moderngl.Framebuffer | None = None
        self._resolver = MsaaResolver(ctx)

    def begin(self, size: tuple[int, int]) -> moderngl.Framebuffer:
        """Bind the target of ``size`` pixels (made or remade as needed) and return it."""
        size = (max(1, int(size[0])), max(1, int(size[1])))
        if size != self.size:
            self._release_target()
            color = self._resolver.color(size, self.samples)
            depth = self.ctx.depth_renderbuffer(size, samples=self.samples)
            self.fbo = self.ctx.framebuffer([color], depth)
            self._objects = (self.fbo, depth, color)
            self.size = size
        self.fbo.use()
        self.fbo.viewport = (0, 0, *size)
        return self.fbo

    def present(self, dst: moderngl.Framebuffer, size: tuple[int, int]) -> None:
        """Resolve the samples into ``dst`` (the same size), then bind ``dst``."""
        self._resolver.resolve(self.fbo, dst)
        dst.use()
        dst.viewport = (0, 0, *size)

    def release(self) -> None:
        """Free every GL object; safe to call twice."""
        self._release_target()
        self._resolver.release()

    def _release_target(self) -> None:
        for obj in self._objects:
            obj.release()
        self._objects = ()
        self.fbo = None
        self.size = None
