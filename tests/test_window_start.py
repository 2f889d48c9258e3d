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
