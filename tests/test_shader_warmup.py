"""The shader warm-up helper: it fills the driver's cache, and its failures cost nothing.

The cache tests run the "window" in a fresh process with its own Mesa cache folder
(drivers read ``MESA_SHADER_CACHE_DIR`` once, when they load) and count the files the
driver adds: a window that draws a surface the helper already drew adds none.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.workers.shader_warmup import ShaderWarmer, TargetFormat, WarmResult

ROOT = Path(__file__).resolve().parents[1]

# The app on a headless window (the reliability harness) draws one typed surface.
WINDOW_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from harness import AppHarness
    from gradient_explorer.surfaces.surface import Surface
    h = AppHarness(size=(96, 64), samples=4)
    h.state.set_surface(Surface.from_expr(sys.argv[2]), 1.5)
    h.state.view.field = h.state.view.normal_arrows = sys.argv[3] == "all"
    h.frame(2)
    assert h.close() == "GL_NO_ERROR"
    """
)


def cache_files(folder: Path) -> set[Path]:
    """Entries of a Mesa disk cache (its index file changes on every write, not counted)."""
    return {p for p in folder.rglob("*") if p.is_file() and p.name != "index"}


@pytest.fixture
def renderer(gl_ctx) -> str:
    return gl_ctx.info["GL_RENDERER"]


@pytest.fixture
def mesa_cache(monkeypatch, tmp_path, renderer) -> Path:
    """An empty Mesa shader cache for the helper and the window processes started here."""
    if "llvmpipe" not in renderer and "Mesa" not in renderer:
        pytest.skip(f"counts Mesa's cache files; this renderer is {renderer}")
    folder = tmp_path / "mesa-cache"
    folder.mkdir()
    monkeypatch.setenv("MESA_SHADER_CACHE_DIR", str(folder))
    monkeypatch.delenv("MESA_SHADER_CACHE_DISABLE", raising=False)
    return folder


def draw_in_window(expression: str, visuals: str = "default") -> None:
    """Draw ``expression`` in the app in a new process (``visuals="all"``: field, arrows)."""
    out = subprocess.run(
        [sys.executable, "-c", WINDOW_SCRIPT, str(ROOT / "reliability"), expression, visuals],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]


# ---------------------------------------------------------------------- the cache


@pytest.mark.gl
def test_after_the_helper_the_window_compiles_nothing_new(mesa_cache, renderer):
    warmer = ShaderWarmer(renderer, TargetFormat(samples=4))
    try:
        # Cold: the window compiles a surface itself, and the driver caches the result.
        before = cache_files(mesa_cache)
        draw_in_window("sin(2x)*cos(y) + x/5")
        assert len(cache_files(mesa_cache) - before) > 0, "the driver cache is not in use"

        # Warmed: the helper compiles another surface; the window then only loads it.
        expression = "exp(-(x^2 + y^2)/4) * sin(3x*y)"
        before = cache_files(mesa_cache)
        result = warmer.warm(Surface.from_expr(expression))
        assert result.ok, result.reason
        warmer.close()  # Mesa writes its cache on a thread: an exiting helper flushes it
        warmed = cache_files(mesa_cache)
        assert len(warmed - before) > 0
        draw_in_window(expression)
        assert cache_files(mesa_cache) == warmed, "the window compiled what the helper had"
    finally:
        warmer.close()


@pytest.mark.gl
def test_the_helper_answers_for_what_is_shown_then_compiles_the_rest(mesa_cache, renderer):
    warmer = ShaderWarmer(renderer, TargetFormat(samples=4))
    try:
        draw_in_window("x + y/3", "all")  # the window's own programs (imgui, lines) cached
        expression = "cos(x*y/2) + x^3/9"
        shown = warmer.warm(Surface.from_expr(expression), shown=("floor",))
        assert shown.ok, shown.reason
        # The next request waits for the rest (gradient field, normal arrows) to be done.
        assert warmer.warm(Surface.named("bowl"), shown=()).ok
        warmer.close()
        warmed = cache_files(mesa_cache)
        draw_in_window(expression, "all")
        assert cache_files(mesa_cache) == warmed
    finally:
        warmer.close()


@pytest.mark.gl
def test_a_warm_surface_is_quick_and_a_curve_needs_no_helper(renderer):
    warmer = ShaderWarmer(renderer, TargetFormat(samples=0))
    try:
        surface = Surface.from_expr("x^2 - 3*y + a*x*y", params={"a": 2.0})
        first, again = warmer.warm(surface), warmer.warm(surface.with_params(a=-1.0))
        assert first.ok and again.ok and again.seconds > 0
        curve = Surface.from_expr("x^3 - x")
        assert warmer.warm(curve) == WarmResult(True, reason="a curve has no generated shaders")
    finally:
        warmer.close()
    assert warmer._helper.process is None


@pytest.mark.gl
def test_a_failed_request_leaves_the_helper_serving(renderer):
    warmer = ShaderWarmer(renderer, TargetFormat(dtype="no such dtype"))
    try:
        surface = Surface.named("saddle")
        bad = warmer.warm(surface)
        assert not bad.ok and bad.reason and "\n" not in bad.reason
        process = warmer._helper.process
        warmer.target = TargetFormat()
        good = warmer.warm(surface)
        assert good.ok, good.reason
        assert warmer._helper.process is process and warmer.enabled
    finally:
        warmer.close()


@pytest.mark.gl
def test_a_surface_that_cannot_travel_is_left_to_the_frame(renderer):
    warmer = ShaderWarmer(renderer, TargetFormat())
    try:
        broken = Surface.named("bowl")
        broken.sources = threading.Lock()  # pickle refuses it before a byte is sent
        result = warmer.warm(broken)
        assert not result.ok and result.reason == "cannot send the surface (TypeError)"
        assert warmer.warm(Surface.named("bowl")).ok  # the helper was not disturbed
    finally:
        warmer.close()


# ---------------------------------------------------------------------- failures


def fake_helper(body: str) -> list[str]:
    """A helper that speaks the protocol as ``body`` says (``send`` and ``receive``)."""
    prelude = (
        "import sys\n"
        "from gradient_explorer.workers.helper_process import read_message, write_message\n"
        "send = lambda m: write_message(sys.stdout.buffer, m)\n"
        "receive = lambda: read_message(sys.stdin.buffer)\n"
    )
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def test_another_renderer_switches_warming_off():
    warmer = ShaderWarmer(
        "the window's GPU",
        TargetFormat(),
        command=fake_helper("send({'ready': True, 'renderer': 'llvmpipe'})"),
    )
    result = warmer.warm(Surface.named("bowl"))
    assert not result.ok and not warmer.enabled
    assert "'llvmpipe'" in warmer.disabled and "the window's GPU" in warmer.disabled
    assert warmer._helper.process is None
    assert warmer.warm(Surface.named("bowl")).reason == warmer.disabled  # no new start


def test_a_helper_without_opengl_switches_warming_off():
    command = fake_helper("send({'ready': False, 'error': 'no EGL display'})")
    warmer = ShaderWarmer("gpu", TargetFormat(), command=command)
    assert warmer.start().ok is False
    assert warmer.disabled == "the helper has no OpenGL (no EGL display)"


def test_a_helper_that_cannot_start(tmp_path):
    warmer = ShaderWarmer("gpu", TargetFormat(), command=[str(tmp_path / "no-such-python")])
    result = warmer.warm(Surface.named("bowl"))
    assert not result.ok and warmer.disabled.startswith("cannot start the helper")


def test_a_silent_helper_is_stopped_after_the_timeout():
    command = fake_helper("import time; time.sleep(60)")
    warmer = ShaderWarmer("gpu", TargetFormat(), timeout=1.0, command=command)
    result = warmer.warm(Surface.named("bowl"))  # the timer, not the helper, ends the wait
    assert not result.ok and warmer.disabled == "the helper has no OpenGL (did not answer in 1 s)"
    assert warmer._helper.process is None


def test_a_helper_that_dies_is_restarted_then_given_up():
    command = fake_helper(
        """
        send({'ready': True, 'renderer': 'gpu'})
        receive()
        sys.exit(3)  # dies on its first request
        """
    )
    warmer = ShaderWarmer("gpu", TargetFormat(), command=command)
    surface = Surface.named("bowl")
    for _attempt in range(3):
        assert warmer.enabled
        result = warmer.warm(surface)
        assert not result.ok and result.reason == "the helper exited"
        assert warmer._helper.process is None  # the next warm starts a new one
    assert not warmer.enabled and warmer.disabled.startswith("3 failures in a row")


def test_surfaces_travel_to_the_helper_with_their_numbers():
    surface = Surface.from_expr("a*log(x) + sin(b*y)", params={"a": 2.5, "b": -1.0})
    copy = pickle.loads(pickle.dumps(surface))
    points = np.array([[0.5, 0.3], [2.0, -1.0], [1.5, 2.5]])
    assert copy.param_values == surface.param_values and copy.glsl == surface.glsl
    np.testing.assert_array_equal(copy.f(points), surface.f(points))
    np.testing.assert_array_equal(copy.gradient(points), surface.gradient(points))
    assert copy.height_range() == surface.height_range()
    assert copy.value_and_gradient_at(0.5, 0.3) == surface.value_and_gradient_at(0.5, 0.3)


# ---------------------------------------------------------------------- in the app


@pytest.mark.gl
def test_the_app_builds_and_warms_typed_surfaces_in_its_helpers():
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    h = AppHarness(size=(640, 480), precompile=True)  # room for the panel
    try:
        compiler = h.app.ui.compiler
        warmer = compiler.warmer
        assert warmer is not None and warmer.target == TargetFormat(samples=4)
        assert warmer.last is None  # started, nothing warmed yet
        h.enter_expression("x^2*y - y^3/3")
        h.frames_until(lambda: not compiler.busy, 60)
        h.frame(2)
        assert h.state.surface.formula() == "x^2*y - y^3/3"
        assert warmer.last is not None and warmer.last.ok and warmer.last.seconds > 0
        processes = [warmer._helper.process, compiler.worker._helper.process]
        assert all(p is not None and p.poll() is None for p in processes)
        assert processes[1].pid != os.getpid()
    finally:
        assert h.close() == "GL_NO_ERROR"
    for process in processes:  # closing the app ends its helpers
        process.wait(5)
        assert process.returncode is not None


def test_the_environment_can_switch_precompiling_off(monkeypatch):
    pytest.importorskip("moderngl_window.context.headless")
    monkeypatch.setenv("GRADIENT_EXPLORER_PRECOMPILE", "0")
    from moderngl_window.context.glfw.keys import Keys
    from moderngl_window.context.headless import Window

    from gradient_explorer.app.state import AppState
    from gradient_explorer.app.window import ExplorerApp

    wnd = Window(size=(64, 48), backend="egl", gl_version=(3, 3), samples=0)
    app = ExplorerApp(
        ctx=wnd.ctx, wnd=wnd, state=AppState.for_surface(Surface.named("bowl")), keys=Keys
    )
    try:
        assert app.ui.compiler.warmer is None and app.ui.compiler.worker is None
    finally:
        app.release()
        wnd.destroy()
    assert os.environ["GRADIENT_EXPLORER_PRECOMPILE"] == "0"
