"""The surface's draw call without the GIL on software GL, and the balls' numpy work done
meanwhile on a helper thread: the same pictures as one thread doing it all."""

from __future__ import annotations

import threading

import moderngl
import numpy as np
import pytest

from gradient_explorer.app.descent_mode import GlyphOptions
from gradient_explorer.app.state import AppState
from gradient_explorer.render import gl_direct
from gradient_explorer.render.geometry import grid_strips
from gradient_explorer.render.gl_direct import DirectDraw
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.visuals.balls_visual import BallsVisual
from gradient_explorer.surfaces.surface import Surface

pytestmark = pytest.mark.gl
SIZE = (320, 200)


class _FakeContext:
    def __init__(self, renderer: str):
        self.info = {"GL_RENDERER": renderer}


@pytest.mark.parametrize(
    ("renderer", "expected"),
    [
        ("llvmpipe (LLVM 15.0.6, 256 bits)", True),
        ("softpipe", True),
        ("NVIDIA H200/PCIe/SSE2", False),
        ("AMD Radeon Pro 5500M OpenGL Engine", False),
        ("Apple M2", False),
    ],
)
def test_only_a_software_rasterizer_gets_the_direct_path(monkeypatch, renderer, expected):
    monkeypatch.delenv("GRADIENT_EXPLORER_OVERLAP", raising=False)
    monkeypatch.setattr(gl_direct, "_load_draw_elements", lambda: lambda *a: None)
    assert (DirectDraw.for_context(_FakeContext(renderer)) is not None) is expected


def test_no_gl_library_or_turned_off_means_moderngl_s_own_calls(monkeypatch):
    llvmpipe = _FakeContext("llvmpipe")
    monkeypatch.setattr(gl_direct, "_load_draw_elements", lambda: None)
    assert DirectDraw.for_context(llvmpipe) is None
    monkeypatch.setattr(gl_direct, "_load_draw_elements", lambda: lambda *a: None)
    monkeypatch.setenv("GRADIENT_EXPLORER_OVERLAP", "0")
    assert DirectDraw.for_context(llvmpipe) is None


@pytest.fixture
def strip(ctx):
    """A 9 x 9 grid of triangle strips with primitive restart, as the surface draws."""
    program = ctx.program(
        vertex_shader="#version 330\nin vec2 p;\nout vec2 v;\n"
        "void main() { v = p; gl_Position = vec4(1.6 * p - 0.8, 0.0, 1.0); }",
        fragment_shader="#version 330\nin vec2 v;\nout vec4 c;\n"
        "void main() { c = vec4(v, 0.5, 1.0); }",
    )
    u = np.linspace(0.0, 1.0, 9, dtype="f4")
    uv = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
    buffers = [ctx.buffer(uv.tobytes()), ctx.buffer(grid_strips(9, ("rows", True)).tobytes())]
    vao = ctx.vertex_array(program, [(buffers[0], "2f", "p")], buffers[1])
    target = ctx.simple_framebuffer((48, 40))
    previous = ctx.fbo or ctx.detect_framebuffer(0)
    target.use()
    yield vao, target
    previous.use()  # what the next test finds bound must still exist
    for obj in (vao, target, *buffers, program):
        obj.release()


def _picture(target, draw) -> np.ndarray:
    target.clear(0.0, 0.0, 0.0, 1.0)
    draw()
    return np.frombuffer(target.read(components=4), np.uint8).reshape(40, 48, 4)


def test_the_direct_draw_is_moderngl_s_draw(ctx, strip):
    direct = DirectDraw.for_context(ctx)
    if direct is None:
        pytest.skip("a GPU driver: the direct path is not used")
    vao, target = strip
    expected = _picture(target, lambda: vao.render(moderngl.TRIANGLE_STRIP))
    assert (expected[..., 3] == 255).all() and len(np.unique(expected[..., 0])) > 8
    for _ in range(2):  # the first draw is the checked one, then the plain call
        got = _picture(target, lambda: direct.render(vao, moderngl.TRIANGLE_STRIP))
        np.testing.assert_array_equal(got, expected)
    assert direct.checked and direct.ok


def test_a_direct_call_that_draws_nothing_is_drawn_again_and_not_used_again(ctx, strip):
    vao, target = strip
    expected = _picture(target, lambda: vao.render(moderngl.TRIANGLE_STRIP))
    calls = []
    lost = DirectDraw(ctx, lambda *args: calls.append(args))  # reaches no context
    got = _picture(target, lambda: lost.render(vao, moderngl.TRIANGLE_STRIP))
    np.testing.assert_array_equal(got, expected)
    assert lost.checked and not lost.ok and len(calls) == 1
    _picture(target, lambda: lost.render(vao, moderngl.TRIANGLE_STRIP))
    assert len(calls) == 1  # moderngl's own call from then on


def _descent_state(kind: str) -> AppState:
    surface = Surface.named("himmelblau")
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    state.point = (1.0, 1.5)
    ds = state.descent
    ds.kind = kind
    if kind == "race":
        ds.race = ["gd", "sgd", "adam", "newton"]
        ds.glyphs = GlyphOptions(gradient=True, momentum=True, step=True, second_moment=True)
    if kind == "swarm":
        ds.swarm_size = 300
    ds.start_run(surface, (-0.3, -0.2))
    ds.step(25)
    return state


@pytest.fixture
def renderers(ctx, monkeypatch):
    """(one thread, the helper thread during the surface's draw): two renderers."""
    monkeypatch.setenv("GRADIENT_EXPLORER_OVERLAP", "0")
    serial = HeadlessRenderer(ctx, grid=64)
    monkeypatch.delenv("GRADIENT_EXPLORER_OVERLAP")
    overlapped = HeadlessRenderer(ctx, grid=64)
    try:
        if overlapped.scene.direct is None:
            pytest.skip("a GPU driver: one thread draws")
        yield serial, overlapped
    finally:
        serial.release()
        overlapped.release()


def _threads_of(monkeypatch, cls, name: str) -> list:
    """The threads that call ``cls.name`` from now on."""
    threads = []
    method = getattr(cls, name)

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return method(*args, **kwargs)

    monkeypatch.setattr(cls, name, spy)
    return threads


@pytest.mark.parametrize("kind", ["single", "race", "swarm"])
def test_balls_prepared_on_the_helper_thread_draw_the_same_picture(renderers, monkeypatch, kind):
    serial, overlapped = renderers
    threads = _threads_of(monkeypatch, BallsVisual, "prepare")
    state = _descent_state(kind)
    for _ in range(3):  # a camera that moves, balls that step
        expected = serial.render(state, SIZE, samples=0)
        got = overlapped.render(state, SIZE, samples=0)
        np.testing.assert_array_equal(got, expected)
        state.camera.orbit(25.0, 5.0)
        state.camera.snap()
        state.descent.step(3)
    assert len(threads) == 3 and threading.main_thread() not in threads
    assert overlapped.scene.balls_visual.drawn == serial.scene.balls_visual.drawn > 0
    assert len(np.unique(expected.reshape(-1, 3), axis=0)) > 100  # a picture


def test_an_error_while_preparing_the_balls_is_raised_by_render(ctx, monkeypatch):
    monkeypatch.delenv("GRADIENT_EXPLORER_OVERLAP", raising=False)
    renderer = HeadlessRenderer(ctx, grid=32)
    try:
        if renderer.scene.direct is None:
            pytest.skip("a GPU driver: one thread draws")
        state = _descent_state("single")

        def fail(self, frame):
            raise ValueError("the trail's numbers")

        with monkeypatch.context() as m:
            m.setattr(BallsVisual, "_draw", fail)
            with pytest.raises(ValueError, match="the trail's numbers"):
                renderer.render(state, SIZE, samples=0)
        image = renderer.render(state, SIZE, samples=0)  # the next frame draws
        assert renderer.scene.balls_visual.drawn == 1 and image.std() > 10
    finally:
        renderer.release()


def test_labels_laid_out_on_the_helper_thread_draw_the_same_picture(ctx, renderers, monkeypatch):
    serial, overlapped = renderers
    state = AppState.for_surface(Surface.named("banana"), aspect=SIZE[0] / SIZE[1])
    state.point = (-0.5, 1.5)
    expected = serial.render(state, SIZE, samples=0)
    with ctx:  # render() leaves no context current
        has_atlas = overlapped._drawer() is not False
    if not has_atlas:
        pytest.skip("no cached glyph atlas: imgui draws the labels")
    threads = _threads_of(monkeypatch, HeadlessRenderer, "_place_labels")
    got = overlapped.render(state, SIZE, samples=0)
    np.testing.assert_array_equal(got, expected)
    assert threads and threading.main_thread() not in threads
    assert len(overlapped.scene.labels) > 3  # the axes' numbers were there to place
