"""The app under faults, driven headless: off-thread compiles, curves, soak, unwritable
folders, broken shader files. The long runs are reliability/frame_stalls.py and soak.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl
pytest.importorskip("moderngl_window.context.headless")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reliability"))

from harness import AppHarness  # noqa: E402

from gradient_explorer.app.ui import panels  # noqa: E402


@pytest.fixture
def app(tmp_path):
    h = AppHarness(size=(800, 600), screenshot_dir=tmp_path)
    yield h
    assert h.close() == "GL_NO_ERROR"


def readonly(monkeypatch, folder: Path) -> None:
    """Make ``folder`` unwritable; as root (where modes do not bind) refuse writes there."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_mkstemp, real_access = tempfile.mkstemp, os.access

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve() == folder.resolve():
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "access", access)


# ---------------------------------------------------------------------- frame loop


def test_compiles_run_off_the_frame_thread_and_frames_go_on(app, monkeypatch):
    """Enter starts the build elsewhere; frames return while it is still pending."""
    release, threads = threading.Event(), []
    real = panels.Surface.from_expr

    def slow_build(*args, **kwargs):
        threads.append(threading.get_ident())
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(panels.Surface, "from_expr", slow_build)
    old = app.state.surface
    app.enter_expression("x^2 + 2*y^2")
    app.frame(20)  # twenty frames while the build cannot finish
    assert app.app.ui.compiler.busy
    assert threads and threads[0] != threading.get_ident()
    assert app.state.surface is old
    release.set()
    assert app.app.ui.compiler.wait(30)
    app.frame(2)
    assert app.state.surface.formula() == "x^2 + 2*y^2"


def test_a_new_build_while_one_is_pending_does_not_block(app, monkeypatch):
    release = threading.Event()
    real = panels.Surface.from_expr

    def slow_build(text, *args, **kwargs):
        if text == "x^3 - y":
            assert release.wait(30)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(panels.Surface, "from_expr", slow_build)
    app.enter_expression("x^3 - y")
    app.frame(3)
    app.enter_expression("x*y")  # the latest request wins; the first is still running
    app.frame(3)
    release.set()
    app.frames_until(lambda: app.state.surface.formula() == "x*y", 30)


@pytest.mark.parametrize("how", ["catalogue", "typed"])
def test_curves_from_the_catalogue_or_typed_open_the_1d_mode(app, how):
    # A curve has no 3D box: switching to one used to crash the frame (scene_bounds).
    if how == "catalogue":
        panels.choose_surface(app.app.ui, "cubic")
    else:
        app.enter_expression("x^3 - 3x")
    app.frames_until(lambda: not app.app.ui.compiler.busy, 30)
    app.frame(3)
    assert app.state.surface.dim == 1 and app.state.mode == "curve"
    assert app.pixels().std() > 5
    panels.choose_surface(app.app.ui, "bowl")  # and back to a surface
    app.frames_until(lambda: not app.app.ui.compiler.busy, 30)
    app.frame(2)
    assert app.state.mode == "surface" and app.state.surface.name == "bowl"


# ---------------------------------------------------------------------- soak


def _run(script: str, *args: str, timeout: float = 240) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "reliability" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_soak_switches_compiles_resizes_short():
    out = _run(
        "soak.py",
        *("--switches", "8", "--compiles", "3", "--resizes", "20", "--catalogue", "4"),
        *("--warmup-compiles", "7", "--skip-phase2"),  # fills the program caches (6)
    )
    assert "PHASE 1" in out and out.rstrip().endswith("OK")


def test_soak_swarm_of_ten_thousand_short():
    out = _run(
        "soak.py",
        *("--skip-phase1", "--minutes", "0.1", "--balls", "10000", "--history", "500"),
    )
    assert "10000 balls" in out and "0 with NaN/inf" in out and out.rstrip().endswith("OK")


# ---------------------------------------------------------------------- unwritable folders


def test_f12_into_a_read_only_folder_says_so_and_goes_on(app, tmp_path, monkeypatch):
    folder = tmp_path / "shots"
    folder.mkdir()
    readonly(monkeypatch, folder)
    app.app.screenshot_dir = folder
    app.key("F12")
    ui = app.app.ui
    assert ui.message_is_error and "screenshot failed" in ui.message
    assert "\n" not in ui.message and "Traceback" not in ui.message
    assert list(folder.iterdir()) == []
    app.frame(3)
    app.key("F12")  # and again: nothing stuck
    assert "screenshot failed" in ui.message


def test_session_save_into_a_read_only_folder_keeps_the_old_file(app, tmp_path, monkeypatch):
    folder = tmp_path / "sessions"
    folder.mkdir()
    path = folder / "s.json"
    assert app.app.save_session(path)
    before = path.read_bytes()
    readonly(monkeypatch, folder)
    app.state.point = (0.5, 0.25)
    assert not app.app.save_session(path)
    ui = app.app.ui
    assert ui.message_is_error and "session not saved" in ui.message and "\n" not in ui.message
    assert path.read_bytes() == before  # the old file is whole
    app.frame(3)
    assert app.state.point == (0.5, 0.25)  # nothing changed in the app


# ---------------------------------------------------------------------- broken shader files


def test_a_truncated_surface_shader_is_a_status_message_in_the_app(shader_copy):
    text = (shader_copy / "surface.glsl").read_text()
    (shader_copy / "surface.glsl").write_text(text[: len(text) // 2])
    h = AppHarness(size=(640, 400))
    try:
        h.frame(3)
        ui = h.app.ui
        assert ui.message_is_error and "surface.glsl" in ui.message
        assert "\n" not in ui.message
        assert np.isfinite(h.pixels()).all()
    finally:
        assert h.close() == "GL_NO_ERROR"
