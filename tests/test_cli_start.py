"""The command line starts light: --help and surfaces import no sympy and no app."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("sympy", "gradient_explorer.app.state", "moderngl", "imgui_bundle", "torch", "numba")


@pytest.mark.parametrize("argv", [["--help"], ["surfaces"], ["render", "--help"]])
def test_help_and_surfaces_import_nothing_heavy(argv, tmp_path):
    code = (
        "import sys, contextlib, io\n"
        "from gradient_explorer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_cli_lighting_choices_are_the_apps():
    from gradient_explorer.app.state import LIGHTING_MODES
    from gradient_explorer.cli import render

    assert render.LIGHTING_MODES == LIGHTING_MODES


def test_the_window_module_imports_no_sympy(tmp_path):
    # sympy takes 0.25 s; the window's first frame of a catalogue surface needs none of it
    # (the backprop panel imported it for a pass it runs only when opened)
    code = "import sys\nimport gradient_explorer.app.window\nprint('sympy' in sys.modules)\n"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
