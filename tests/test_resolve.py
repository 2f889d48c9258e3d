"""The shader resolve of a multisampled picture writes what the driver's blit resolve writes."""

from __future__ import annotations

import numpy as np
import pytest

moderngl = pytest.importorskip("moderngl")

from gradient_explorer.render.resolve import MsaaResolver  # noqa: E402

_VERTEX = """#version 330
in vec2 in_pos;
in vec4 in_color;
out vec4 v_color;
void main() { v_color = in_color; gl_Position = vec4(in_pos, 0.0, 1.0); }
"""
_FRAGMENT = """#version 330
in vec4 v_color;
out vec4 frag;
void main() { frag = v_color; }
"""


def _draw_edges(ctx, fbo, data) -> None:
    """Coloured triangles, blended: their edges cut pixels, whose samples then differ."""
    program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
    buffer = ctx.buffer(data.tobytes())
    vao = ctx.vertex_array(program, [(buffer, "2f 4f", "in_pos", "in_color")])
    try:
        fbo.use()
        fbo.clear(0.1, 0.2, 0.3, 1.0)
        ctx.enable(moderngl.BLEND)
        vao.render(moderngl.TRIANGLES)
        ctx.disable(moderngl.BLEND)
    finally:
        vao.release()
        buffer.release()
        program.release()


@pytest.mark.parametrize("samples", [2, 4, "max"])
def test_resolve_equals_the_blit(ctx, rng, samples):
    """Every count: the largest the driver offers by the shader, the others by the blit
    (llvmpipe, asked for 2, gives 4, which a shader told 2 would average wrongly)."""
    samples = ctx.max_samples if samples == "max" else samples
    if ctx.max_samples < samples:
        pytest.skip(f"the driver offers {ctx.max_samples} samples")
    size = (37, 23)  # odd sizes: no row padding or power of two hides an error
    previous = ctx.fbo or ctx.detect_framebuffer(0)
    resolver = MsaaResolver(ctx)
    color = resolver.color(size, samples)
    depth = ctx.depth_renderbuffer(size, samples=samples)
    msaa = ctx.framebuffer([color], depth)
    targets = [ctx.renderbuffer(size, 4) for _ in range(2)]
    fbos = [ctx.framebuffer([t]) for t in targets]
    triangles = np.column_stack(
        [rng.uniform(-1.2, 1.2, (60, 2)), rng.uniform(0.0, 1.0, (60, 4))]
    ).astype("f4")
    try:
        _draw_edges(ctx, msaa, triangles)
        ctx.copy_framebuffer(fbos[0], msaa)  # the driver's resolve
        resolver.resolve(msaa, fbos[1])
        blit, ours = (
            np.frombuffer(f.read(components=4), np.uint8).reshape(size[1], size[0], 4) for f in fbos
        )
        np.testing.assert_array_equal(ours, blit)
        # the test can fail: drawn with one sample a pixel, the picture differs
        _draw_edges(ctx, fbos[1], triangles)
        single = np.frombuffer(fbos[1].read(components=4), np.uint8).reshape(blit.shape)
        assert (single != blit).any(axis=2).sum() > 50
    finally:
        previous.use()  # a bound framebuffer released is a GL error later
        resolver.release()
        resolver.release()  # twice is safe
        for obj in (*fbos, *targets, msaa, depth, color):
            obj.release()


def test_the_largest_count_is_resolved_by_the_shader(ctx):
    resolver = MsaaResolver(ctx)
    color = resolver.color((8, 8), ctx.max_samples)
    try:
        assert isinstance(color, moderngl.Texture)
        assert color.samples == ctx.max_samples
    finally:
        color.release()
