"""Shared fixtures: strict float errors, a seeded RNG, one EGL context for GL tests, a
copy of the shader folder to break."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

# The app harness (reliability/harness.py) drives the real app headless in the tests too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # the generated-code cache of catalogue surfaces goes to a fresh folder, not ~/.cache
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _strict_float_errors():
    # A silent overflow or invalid operation in the numerics is a bug; code that expects
    # NaN (holes in a surface) must say so with np.errstate.
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


@pytest.fixture(autouse=True)
def _engine_mode_back():
    # the app, `record` and `render` choose the numpy path for their process
    # (fastcode.numpy_unless_chosen): not for the tests after them
    yield
    from gradient_explorer.surfaces import fastcode

    fastcode.set_mode(None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


_SESSION_GL: list = []  # the session's GL context, once a test has asked for it


@pytest.fixture(scope="session")
def gl_ctx():
    """A standalone EGL context (Mesa llvmpipe on CI, any driver elsewhere)."""
    moderngl = pytest.importorskip("moderngl")
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    _SESSION_GL.append(ctx)
    yield ctx
    _SESSION_GL.clear()
    ctx.release()


def _session_gl_current() -> None:
    # An app-harness test makes its window's context current and destroys it: GL calls
    # (and ctx.error) then go to no context. Make the session's current again, and leave
    # it so (module fixtures like a renderer on gl_ctx are built before function ones).
    if _SESSION_GL:
        _SESSION_GL[0].__enter__()


@pytest.fixture(autouse=True, scope="module")
def _gl_current_for_module():
    _session_gl_current()


@pytest.fixture(autouse=True)
def _gl_current_for_test():
    _session_gl_current()


@pytest.fixture
def ctx(gl_ctx):
    """The session context, current, checked for GL errors before and after each test.

    Made current: a test before may have left another context current (the app
    harness's window) or none, and GL calls and ``ctx.error`` go to the current one.
    """
    with gl_ctx:
        assert gl_ctx.error == "GL_NO_ERROR"
        yield gl_ctx
        assert gl_ctx.error == "GL_NO_ERROR"


@pytest.fixture
def shader_copy(tmp_path, monkeypatch):
    """A copy of the shader folder that the loader reads instead of the real one."""
    from gradient_explorer.render import shader_loader

    copy = tmp_path / "shaders"
    shutil.copytree(shader_loader.shader_dir(), copy)
    monkeypatch.setattr(shader_loader, "shader_dir", lambda: copy)
    shader_loader._read.cache_clear()
    yield copy
    shader_loader._read.cache_clear()


@pytest.fixture
def panel_texts(monkeypatch):
    """Every string the panels pass to ``imgui.text`` / ``text_colored``, in order (the
    list is the fixture's value: clear it before the frame to look at)."""
    from gradient_explorer.app.ui import panels

    texts: list[str] = []
    for name in ("text", "text_colored"):
        original = getattr(panels.imgui, name)

        def spy(*args, _original=original):
            texts.extend(a for a in args if isinstance(a, str))
            return _original(*args)

        monkeypatch.setattr(panels.imgui, name, spy)
    return texts


@pytest.fixture
def harness(monkeypatch, tmp_path):
    """The real app on a headless window (``test_app_headless.Harness``), closed after the
    test with no GL error."""
    # Imported here: the harness needs moderngl-window, which only these tests use (its
    # module skips itself where that is missing).
    from test_app_headless import Harness

    h = Harness(monkeypatch, tmp_path)
    yield h
    h.close()
