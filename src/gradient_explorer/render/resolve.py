"""The multisample resolve as a draw: the samples of each pixel averaged by a shader.

``ctx.copy_framebuffer`` (glBlitFramebuffer) resolves too, but Mesa's llvmpipe builds its
blitter's shaders on the first blit of every process and keeps none in its disk cache:
25-30 ms before a fresh process's first picture, at any size. This program, like the
scene's, is compiled once and then loaded from the driver's shader cache (~1 ms). It
writes the mean of the samples in float, which is what the blit writes: the pixels are
the same (``tests/test_resolve.py``).

GLSL 330 cannot ask a texture how many samples it has, and a driver may give more than
asked for (llvmpipe gives 4 for 2); only the largest count the driver offers is given
exactly. Other counts are resolved by the blit.
"""

from __future__ import annotations

import moderngl

__all__ = ["MsaaResolver"]

_VERTEX = """#version 330
void main() {  // one triangle that covers the viewport
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(2.0 * p - 1.0, 0.0, 1.0);
}
"""
_FRAGMENT = """#version 330
uniform sampler2DMS u_samples;
uniform int u_count;
out vec4 frag;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 sum = vec4(0.0);
    for (int i = 0; i < u_count; ++i) sum += texelFetch(u_samples, p, i);
    frag = sum / float(u_count);
}
"""


class MsaaResolver:
    """Resolves multisampled targets into plain ones of the same size."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self._program = None
        self._vao = None

    def color(self, size: tuple[int, int], samples: int):
        """An RGBA8 colour attachment with ``samples`` samples for :meth:`resolve` to read:
        a texture where the shader resolves it, else a renderbuffer."""
        if samples > 0 and samples == self.ctx.max_samples:
            return self.ctx.texture(size, 4, samples=samples)
        return self.ctx.renderbuffer(size, 4, samples=samples)

    def resolve(self, src: moderngl.Framebuffer, dst: moderngl.Framebuffer) -> None:
        """Write the mean of each pixel's samples in ``src`` to ``dst``, left bound."""
        color = src.color_attachments[0]
        if not isinstance(color, moderngl.Texture):
            self.ctx.copy_framebuffer(dst, src)
            dst.use()
            return
        ctx = self.ctx
        if self._program is None:
            self._program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
            self._vao = ctx.vertex_array(self._program, [])
        self._program["u_count"].value = max(1, int(color.samples))
        self._program["u_samples"].value = 0
        dst.use()
        dst.viewport = (0, 0, *color.size)
        color.use(0)
        # each visual sets the state it needs, as the low-resolution present does
        ctx.disable(moderngl.DEPTH_TEST | moderngl.BLEND | moderngl.CULL_FACE)
        self._vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        """Free the program; safe to call twice."""
        if self._vao is not None:
            self._vao.release()
            self._program.release()
            self._vao = self._program = None
