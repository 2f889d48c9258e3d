"""Trails widened on the GPU (ribbons.glsl) cover the pixels screen_ribbons' numpy
triangles cover: the same ribbons, built where they are drawn."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState
from gradient_explorer.surfaces.surface import Surface

moderngl = pytest.importorskip("moderngl")

from gradient_explorer.render.visuals._gl import reset_gl_state  # noqa: E402
from gradient_explorer.render.visuals.balls_visual import (  # noqa: E402
    IDENTITY,
    ScreenFrame,
    merge_short_pieces,
    screen_ribbons,
)
from gradient_explorer.render.visuals.mesh_visual import MeshVisual  # noqa: E402
from gradient_explorer.render.visuals.ribbon_mesh import RibbonMesh  # noqa: E402
from gradient_explorer.render.visuals.visual import FrameUniforms  # noqa: E402

SIZE = (160, 120)


def _segments(rng, surface, m=40):
    (x0, x1), (y0, y1) = surface.domain
    xy = rng.uniform([x0, y0], [x1, y1], size=(m + 1, 2))
    z = surface.height(xy)
    p = np.column_stack([xy, z])
    return p[:-1], p[1:]


def _draw(ctx, paint) -> np.ndarray:
    color = ctx.renderbuffer(SIZE, 4)
    depth = ctx.depth_renderbuffer(SIZE)
    fbo = ctx.framebuffer([color], depth)
    previous = ctx.fbo or ctx.detect_framebuffer(0)  # bound again after
    try:
        fbo.use()
        reset_gl_state(ctx)
        ctx.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        paint()
        return np.frombuffer(fbo.read(components=3), np.uint8).reshape(SIZE[1], SIZE[0], 3)
    finally:
        previous.use()
        fbo.release()
        color.release()
        depth.release()


@pytest.mark.gl
@pytest.mark.parametrize(("width", "bias"), [(3.0, 0.0), (5.0, 2e-4)])
def test_gpu_ribbons_cover_what_screen_ribbons_cover(ctx, rng, width, bias):
    surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    frame = FrameUniforms.from_camera(state.camera, SIZE, state.view.light_direction)
    screen = ScreenFrame(frame.mvp, frame.size, frame.pixels_per_unit_at_w1)
    a, b = _segments(rng, surface)
    colors = np.column_stack([rng.uniform(0.2, 1.0, size=(len(a), 3)), np.ones(len(a))])
    mesh, ribbons = MeshVisual(ctx), RibbonMesh(ctx)
    try:
        tris, kept = screen_ribbons(screen, a, b, width)
        tris[:, 2] -= bias
        cpu = _draw(ctx, lambda: mesh.draw(IDENTITY, tris, np.repeat(colors[kept], 6, axis=0)))

        def gpu_paint():
            ribbons.upload(a, b, colors)
            ribbons.draw(frame.mvp_bytes, SIZE, width, bias=bias)

        gpu = _draw(ctx, gpu_paint)
    finally:
        mesh.release()
        ribbons.release()
    covered = cpu.any(axis=2)
    assert covered.mean() > 0.05  # the test draws something
    # float32 on the GPU against float64 in numpy: a few edge pixels may differ
    differ = np.abs(cpu.astype(int) - gpu).max(axis=2) > 2
    assert differ.sum() <= 0.01 * covered.sum()


@pytest.mark.gl
def test_the_outline_is_dark_wider_and_as_faded_as_asked(ctx, rng):
    surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    frame = FrameUniforms.from_camera(state.camera, SIZE, state.view.light_direction)
    a, b = _segments(rng, surface, m=6)
    colors = np.tile([1.0, 1.0, 1.0, 1.0], (len(a), 1))
    ribbons = RibbonMesh(ctx)
    try:

        def paint(width, outline):
            def draw():
                ribbons.upload(a, b, colors)
                ctx.enable(moderngl.BLEND)
                ribbons.draw(frame.mvp_bytes, SIZE, width, 0.5, outline)
                ctx.disable(moderngl.BLEND)

            return draw

        fill = _draw(ctx, paint(3.0, None))
        dark = _draw(ctx, paint(5.0, (0.0, 0.0, 1.0)))
        fresh = RibbonMesh(ctx)
        empty = _draw(ctx, lambda: fresh.draw(frame.mvp_bytes, SIZE, 3.0))  # nothing uploaded
        fresh.release()
    finally:
        ribbons.release()
    assert fill.any(axis=2).sum() < dark.any(axis=2).sum()  # wider
    # white at half strength over black; the outline blue at 0.6 * 0.5 (the most common
    # values: where ribbons overlap, blending adds up)
    assert abs(np.bincount(fill[..., 0][fill[..., 0] > 0]).argmax() - 128) <= 2
    assert dark[..., :2].max() == 0
    assert abs(np.bincount(dark[..., 2][dark[..., 2] > 0]).argmax() - 77) <= 2
    assert empty.max() == 0


def _frame(size=SIZE):
    surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    frame = FrameUniforms.from_camera(state.camera, size, state.view.light_direction)
    return surface, frame, ScreenFrame(frame.mvp, frame.size, frame.pixels_per_unit_at_w1)


def _chain(surface, start, end, pieces):
    t = np.linspace(0.0, 1.0, pieces + 1)[:, None]
    xy = np.asarray(start) + (np.asarray(end) - np.asarray(start)) * t
    p = np.column_stack([xy, surface.height(xy)])
    return p[:-1], p[1:]


def _pixels(screen, p):
    c = screen.clip(p)
    return c[:, :2] / c[:, 3:4] * 0.5 * np.asarray(screen.size)


def test_short_pieces_merge_into_segments_about_a_pixel_long_along_the_same_path():
    surface, _frame_uniforms, screen = _frame((1280, 720))
    # two chains of 400 tiny pieces each (a few pixels long in all) and one long piece
    a1, b1 = _chain(surface, (-1.0, 1.0), (-0.98, 1.01), 400)
    a2, b2 = _chain(surface, (0.5, 0.5), (0.52, 0.49), 400)
    a3, b3 = _chain(surface, (-1.5, 2.0), (1.0, 0.0), 1)
    a, b = np.concatenate([a1, a2, a3]), np.concatenate([b1, b2, b3])
    colors = np.column_stack([np.ones((len(a), 3)), np.linspace(0.3, 1.0, len(a))])
    ma, mb, mc, k = merge_short_pieces(screen, a, b, colors, 1.0)
    assert k.sum() == len(a)  # every piece in exactly one segment
    assert 4 < len(ma) < 60  # far fewer segments than the 801 pieces
    # each chain still runs from its start to its end, its segments end to end
    ends = np.cumsum(k).astype(int) - 1
    firsts = ends - k.astype(int) + 1
    np.testing.assert_array_equal(ma, a[firsts])
    np.testing.assert_array_equal(mb, b[ends])
    np.testing.assert_array_equal(mc, colors[ends])
    assert firsts[0] == 0 and 400 in firsts and 800 in firsts  # chains are not joined
    # no merged segment is much longer than a pixel unless one piece was
    length = np.linalg.norm(_pixels(screen, mb) - _pixels(screen, ma), axis=1)
    assert np.all((length < 2.5) | (k == 1))
    assert k[-1] == 1 and length[-1] > 50  # the long piece as it was


def test_pieces_of_a_pixel_or_more_are_left_as_they_are():
    surface, _frame_uniforms, screen = _frame((1280, 720))
    a, b = _chain(surface, (-1.5, -0.5), (1.5, 2.5), 20)
    colors = np.ones((len(a), 4))
    ma, mb, _mc, k = merge_short_pieces(screen, a, b, colors, 1.0)
    np.testing.assert_array_equal(ma, a)
    np.testing.assert_array_equal(mb, b)
    assert np.all(k == 1)
    one = merge_short_pieces(screen, a[:1], b[:1], colors[:1], 1.0)
    assert one[3].tolist() == [1.0]


@pytest.mark.gl
@pytest.mark.parametrize("pieces", [1, 3, 12])
def test_a_segment_for_k_pieces_is_as_opaque_as_their_k_blends(ctx, rng, pieces):
    _surface, frame, _screen = _frame()
    a = np.array([[-1.0, 1.0, 0.5]])
    b = np.array([[1.0, 1.0, 0.5]])
    colors = np.array([[1.0, 1.0, 1.0, 0.3]])
    ribbons = RibbonMesh(ctx)
    try:

        def draw():
            ribbons.upload(a, b, colors, np.array([pieces]))
            ctx.enable(moderngl.BLEND)
            ribbons.draw(frame.mvp_bytes, SIZE, 5.0, 0.5)
            ctx.disable(moderngl.BLEND)

        picture = _draw(ctx, draw)
    finally:
        ribbons.release()
    red = picture[..., 0][picture[..., 0] > 0]
    expected = 255 * (1.0 - (1.0 - 0.3 * 0.5) ** pieces)  # white over black
    assert red.size > 20
    assert abs(np.bincount(red).argmax() - expected) <= 2
