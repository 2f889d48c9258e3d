"""What the window's start is spared: glfw's library search, which runs a Python per
library it finds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("glfw")

CODE = "import gradient_explorer.app, os; print(os.environ.get('PYGLFW_LIBRARY', ''))\n"


def _library(env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pyglfw's Linux wheel")
def test_glfw_gets_the_library_its_search_would_find():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYGLFW")}
    env.pop("XDG_SESSION_TYPE", None)
    chosen = _library(env)
    assert chosen.endswith(os.path.join("glfw", "x11", "libglfw.so"))
    # the search itself, in a process of its own, loads the same file
    search = "import glfw; print(glfw.library.glfw._name)"
    out = subprocess.run([sys.executable, "-c", search], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == chosen
    assert _library({**env, "XDG_SESSION_TYPE": "wayland"}).endswith(
        os.path.join("glfw", "wayland", "libglfw.so")
    )
    assert _library({**env, "PYGLFW_LIBRARY": "/their/libglfw.so"}) == "/their/libglfw.so"


def test_a_window_that_cannot_be_opened_again_is_one_line(monkeypatch):
    """A software renderer's first window has samples and is opened again without them;
    when glfw refuses the second (a display gone busy), run() says so in one line (the
    CLI then renders headless) instead of raising glfw's ValueError."""
    import types

    from gradient_explorer.app import renderer_memory, window
    from gradient_explorer.app.state import AppState
    from gradient_explorer.errors import GradientExplorerError
    from gradient_explorer.surfaces.surface import Surface

    opened = []

    class FakeWindow:
        def __init__(self, samples, **kwargs):
            if opened:  # the second window: glfw cannot start again
                raise ValueError("Failed to initialize glfw")
            opened.append(samples)
            self.ctx = types.SimpleNamespace(info={"GL_RENDERER": "llvmpipe (LLVM 15.0.6)"})

        def destroy(self):
            pass

    monkeypatch.setattr(window.mglw, "get_local_window_cls", lambda name: FakeWindow)
    monkeypatch.setattr(window.mglw, "activate_context", lambda window: None)
    monkeypatch.setattr(renderer_memory, "remembered", lambda: None)
    monkeypatch.setattr(renderer_memory, "remember", lambda renderer: None)
    with pytest.raises(GradientExplorerError, match="could not open a window: Failed to init"):
        window.run(AppState(Surface.named("banana")), (320, 200))
    assert opened == [4]


@pytest.mark.parametrize(
    ("size", "workarea", "expected"),
    [
        ((1280, 720), (1920, 1050), (1280, 720)),  # fits: as asked
        ((1280, 720), (1024, 600), (942, 529)),  # a netbook: 92% of the width, same shape
        ((1280, 720), (1280, 720), (1280, 720)),  # the screen's own size: as asked
        ((1280, 720), (1200, 1024), (1104, 621)),  # too wide only
        ((800, 600), None, (800, 600)),  # no monitor known
        ((800, 600), (0, 0), (800, 600)),
    ],
)
def test_the_window_opens_inside_the_screen(size, workarea, expected):
    from gradient_explorer.app.window import SCREEN_SHARE, fit_to_screen

    got = fit_to_screen(size, workarea)
    assert got == expected
    if got != size:
        assert got[0] <= SCREEN_SHARE * workarea[0] + 1 and got[1] <= SCREEN_SHARE * workarea[1] + 1
        assert abs(got[0] / got[1] - size[0] / size[1]) < 0.01
