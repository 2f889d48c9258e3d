"""ImguiRenderer on an offscreen EGL framebuffer: pixels, texture protocol, state, lifetime."""

from __future__ import annotations

import ctypes
import os

import moderngl
import numpy as np
import pytest
from imgui_bundle import imgui

from gradient_explorer.app.ui.imgui_input import ImguiInput
from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render.imgui_renderer import ImguiRenderer

pytestmark = pytest.mark.gl

SIZE = (200, 150)
BACKGROUND = (0.1, 0.3, 0.2)
BACKGROUND_U8 = np.array([26, 77, 51])  # what the clear colour reads back as
WIN_POS = (20, 20)
WIN_SIZE = (140, 90)
RED = (0.9, 0.1, 0.1, 1.0)


@pytest.fixture
def imgui_context():
    context = imgui.create_context()
    ImguiInput()  # the app's io setup: no imgui.ini, clipboard hooks
    try:
        yield context
    finally:
        imgui.destroy_context(context)


def _release_fbo(ctx, target) -> None:
    # moderngl re-binds the last bound framebuffer when it creates the next one; if that
    # was released, GL reports INVALID_OPERATION. Bind the default framebuffer first.
    ctx.detect_framebuffer(0).use()
    target.release()


@pytest.fixture
def fbo(ctx):
    target = ctx.simple_framebuffer(SIZE)
    target.use()
    yield target
    _release_fbo(ctx, target)


@pytest.fixture
def renderer(ctx, imgui_context):
    r = ImguiRenderer(ctx)
    yield r
    r.release()


def _ui(extra=None) -> None:
    imgui.set_next_window_pos(WIN_POS)
    imgui.set_next_window_size(WIN_SIZE)
    imgui.begin("Overlay", flags=imgui.WindowFlags_.no_collapse)
    imgui.text("Hello, gradient!")
    imgui.push_style_color(imgui.Col_.button, RED)
    imgui.push_style_color(imgui.Col_.button_hovered, RED)
    imgui.button("Red button")
    imgui.pop_style_color(2)
    if extra is not None:
        extra()
    imgui.end()


def _frame(renderer, fbo, display=SIZE, scale=1.0, ui=_ui, clear=True) -> np.ndarray:
    io = imgui.get_io()
    io.display_size = display
    io.display_framebuffer_scale = (scale, scale)
    io.delta_time = 1 / 60
    imgui.new_frame()
    ui()
    imgui.render()
    if clear:
        fbo.clear(*BACKGROUND, 1.0)
    renderer.render()
    return _pixels(fbo)


def _pixels(fbo) -> np.ndarray:
    w, h = fbo.size
    rgb = np.frombuffer(fbo.read(components=3), dtype=np.uint8).reshape(h, w, 3)
    return rgb[::-1].astype(np.int16)  # row 0 at the top, like imgui


def _changed(img: np.ndarray) -> np.ndarray:
    return np.abs(img - BACKGROUND_U8).max(axis=2) > 8


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_window_drawn_where_imgui_placed_it(renderer, fbo):
    img = _frame(renderer, fbo)
    img = _frame(renderer, fbo)  # second frame: layout settled

    changed = _changed(img)
    # Would fail on a black or empty frame: the background must read back as cleared.
    assert (np.abs(img[0, 0] - BACKGROUND_U8) <= 1).all()
    assert _bbox(changed) == (
        WIN_POS[0],
        WIN_POS[1],
        WIN_POS[0] + WIN_SIZE[0],
        WIN_POS[1] + WIN_SIZE[1],
    )
    x0, y0 = WIN_POS
    x1, y1 = x0 + WIN_SIZE[0], y0 + WIN_SIZE[1]
    assert changed[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].mean() > 0.95
    outside = changed.copy()
    outside[y0:y1, x0:x1] = False
    assert not outside.any()

    window = img[y0:y1, x0:x1]
    red = (window[..., 0] > 180) & (window[..., 1] < 80) & (window[..., 2] < 80)
    assert red.sum() > 200, "the red button is missing"
    white = (window > 200).all(axis=2)
    assert white.sum() > 50, "no text glyphs"

    if path := os.environ.get("IMGUI_CHECK_PNG"):  # for a human look, e.g. /tmp/imgui_check.png
        from PIL import Image

        Image.fromarray(img.astype(np.uint8)).resize((600, 450), Image.NEAREST).save(path)


def test_font_atlas_created_through_texture_protocol(renderer, fbo):
    assert renderer.texture_count == 0
    _frame(renderer, fbo)
    assert renderer.texture_count >= 1
    textures = list(imgui.get_platform_io().textures)
    assert textures
    for tex in textures:
        assert tex.status == imgui.ImTextureStatus.ok
        assert tex.tex_id != 0
    assert imgui.get_io().backend_flags & imgui.BackendFlags_.renderer_has_textures


def test_new_glyphs_arrive_as_partial_updates(renderer, fbo, ctx):
    _frame(renderer, fbo)
    (atlas,) = imgui.get_platform_io().textures
    texture_before = atlas.tex_id

    def big_text():
        imgui.push_font(None, 31.0)  # a new size: imgui bakes its glyphs into the atlas
        imgui.text("Big 123")
        imgui.pop_font()

    io = imgui.get_io()
    io.display_size = SIZE
    io.delta_time = 1 / 60
    imgui.new_frame()
    _ui(big_text)
    imgui.render()
    statuses = [tex.status for tex in imgui.get_draw_data().textures]
    assert imgui.ImTextureStatus.want_updates in statuses
    fbo.clear(*BACKGROUND, 1.0)
    renderer.render()

    assert atlas.status == imgui.ImTextureStatus.ok
    assert atlas.tex_id == texture_before  # updated in place, not recreated
    # The GL texture now holds exactly imgui's pixels, new glyphs included.
    gl_texture = renderer._owned[atlas.tex_id]
    uploaded = np.frombuffer(gl_texture.read(), dtype=np.uint8)
    assert np.array_equal(uploaded, atlas.get_pixels_array())


def test_framebuffer_scale_two_draws_twice_as_large(renderer, ctx):
    small = ctx.simple_framebuffer(SIZE)
    big = ctx.simple_framebuffer((SIZE[0] * 2, SIZE[1] * 2))
    try:
        small.use()
        _frame(renderer, small)
        box1 = _bbox(_changed(_frame(renderer, small)))
        big.use()
        _frame(renderer, big, display=SIZE, scale=2.0)
        box2 = _bbox(_changed(_frame(renderer, big, display=SIZE, scale=2.0)))
    finally:
        _release_fbo(ctx, small)
        _release_fbo(ctx, big)
    assert box2 == tuple(2 * v for v in box1)


def test_display_pos_offsets_the_drawing(renderer, fbo):
    io = imgui.get_io()
    io.display_size = SIZE
    io.delta_time = 1 / 60
    imgui.new_frame()
    _ui()
    imgui.render()
    draw_data = imgui.get_draw_data()
    # Pretend the display starts at (10, 5): everything shifts left and up.
    draw_data.display_pos = (10.0, 5.0)
    fbo.clear(*BACKGROUND, 1.0)
    renderer.render(draw_data)
    assert _bbox(_changed(_pixels(fbo)))[:2] == (WIN_POS[0] - 10, WIN_POS[1] - 5)


def test_user_texture(renderer, fbo, ctx):
    blue = ctx.texture((4, 4), 4, data=bytes([0, 0, 255, 255]) * 16)
    try:
        ref = renderer.register_texture(blue)

        def image():
            imgui.image(ref, (20, 20))

        _frame(renderer, fbo, ui=lambda: _ui(image))
        img = _frame(renderer, fbo, ui=lambda: _ui(image))
        is_blue = (img[..., 2] > 240) & (img[..., 0] < 20) & (img[..., 1] < 20)
        assert is_blue.sum() >= 20 * 20 * 0.9
        renderer.unregister_texture(blue)
    finally:
        blue.release()


def _gl_is_enabled():
    try:
        lib = ctypes.CDLL("libOpenGL.so.0")
    except OSError:
        pytest.skip("libOpenGL.so.0 not available to query GL state")
    lib.glIsEnabled.restype = ctypes.c_ubyte
    names = {"blend": 0x0BE2, "depth": 0x0B71, "cull": 0x0B44, "scissor": 0x0C11}
    return lambda: {name: bool(lib.glIsEnabled(cap)) for name, cap in names.items()}


def test_gl_state_restored(renderer, fbo, ctx):
    is_enabled = _gl_is_enabled()
    ctx.enable_only(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
    fbo.viewport = (5, 6, 70, 80)
    before = is_enabled()
    assert before == {"blend": False, "depth": True, "cull": True, "scissor": False}
    _frame(renderer, fbo)
    assert is_enabled() == before
    assert fbo.viewport == (5, 6, 70, 80)
    ctx.enable_only(moderngl.NOTHING)
    fbo.viewport = (0, 0, *SIZE)


def test_release_frees_everything_and_is_idempotent(ctx, imgui_context, fbo):
    renderer = ImguiRenderer(ctx)
    _frame(renderer, fbo)
    objects = renderer.gl_objects
    assert len(objects) >= 5  # program, 2 buffers, vertex array, font atlas
    renderer.release()
    assert all(type(obj.mglo).__name__ == "InvalidObject" for obj in objects)
    assert renderer.gl_objects == ()
    assert renderer.texture_count == 0
    textures = list(imgui.get_platform_io().textures)
    assert textures  # the atlas is still listed, marked destroyed
    for tex in textures:
        assert tex.status == imgui.ImTextureStatus.destroyed
        assert tex.tex_id == 0
    renderer.release()  # idempotent
    with pytest.raises(GradientExplorerError):
        renderer.render()

    # A fresh renderer picks the destroyed atlas up again through the protocol.
    again = ImguiRenderer(ctx)
    try:
        assert _changed(_frame(again, fbo)).any()
        assert again.texture_count >= 1
    finally:
        again.release()


def test_release_after_imgui_context_is_gone(ctx, fbo):
    context = imgui.create_context()
    renderer = ImguiRenderer(ctx)
    _frame(renderer, fbo)
    imgui.destroy_context(context)
    renderer.release()  # must not touch the dead context
    assert renderer.gl_objects == ()


def test_no_imgui_ini_in_working_directory(ctx, fbo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    # Control: a bare imgui context does write imgui.ini on shutdown.
    context = imgui.create_context()
    imgui.get_io().backend_flags |= imgui.BackendFlags_.renderer_has_textures
    imgui.get_io().display_size = SIZE
    imgui.new_frame()
    _ui()
    imgui.render()
    imgui.destroy_context(context)
    assert os.path.exists("imgui.ini")
    os.remove("imgui.ini")

    context = imgui.create_context()
    try:
        ImguiInput()
        renderer = ImguiRenderer(ctx)
        for _ in range(3):
            _frame(renderer, fbo)
        renderer.release()
    finally:
        imgui.destroy_context(context)
    assert not list(tmp_path.iterdir())
