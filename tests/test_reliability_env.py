"""Environment faults at the command line: no display, no OpenGL 3.3, read-only folders,
broken shader files. Each ends in one line that says what happened, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

import moderngl
import pytest

from gradient_explorer.cli import main
from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render.gl import check_version, create_headless_context

pytestmark = pytest.mark.gl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_reliability_app import readonly  # noqa: E402


def _no_display_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_no_display_says_so_in_one_line_and_writes_a_png(tmp_path):
    exe = Path(sys.executable).with_name("gradient-explorer")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gradient_explorer"]
    out = subprocess.run(
        [*cmd, "--size", "160x120"],
        cwd=tmp_path,
        env=_no_display_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "render" in lines[0]
    assert "Traceback" not in out.stderr
    assert (tmp_path / "gradient-explorer.png").stat().st_size > 1000


def test_no_display_in_a_read_only_folder_writes_to_the_temp_folder(tmp_path, monkeypatch, capsys):
    cwd, temp = tmp_path / "ro", tmp_path / "tmp"
    cwd.mkdir()
    temp.mkdir()
    readonly(monkeypatch, cwd)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--size", "160x120"]) == 0
    out = capsys.readouterr()
    assert "render" in out.out and str(temp) in out.out
    assert (temp / "gradient-explorer.png").exists()
    assert list(cwd.iterdir()) == []


class _OldContext:
    """What a GL 2.1 driver gives: a context, but the wrong version."""

    version_code = 210
    info: ClassVar = {"GL_RENDERER": "Ancient Rasterizer 0.1", "GL_VERSION": "2.1 Mesa 9.0"}

    def release(self):
        pass


@pytest.mark.parametrize("how", ["old", "raises"])
def test_no_opengl_33_is_one_line_naming_what_was_found(monkeypatch, capsys, tmp_path, how):
    def create(*args, **kwargs):
        if how == "raises":
            raise moderngl.Error("eglInitialize failed: no EGL device\nmore detail")
        return _OldContext()

    monkeypatch.setattr(moderngl, "create_standalone_context", create)
    with pytest.raises(GradientExplorerError) as info:
        create_headless_context()
    assert "\n" not in str(info.value)
    code = main(["render", "--surface", "bowl", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    if how == "old":
        assert "Ancient Rasterizer 0.1" in err and "2.1 Mesa 9.0" in err
    else:
        assert "eglInitialize failed" in err and "OpenGL 3.3" in err
    assert not (tmp_path / "x.png").exists()


def test_check_version_names_the_renderer():
    with pytest.raises(GradientExplorerError, match=r"Ancient Rasterizer 0\.1 offers 2\.1"):
        check_version(_OldContext())


@pytest.mark.parametrize("fault", ["truncated", "missing", "garbage"])
@pytest.mark.parametrize("name", ["surface", "floor", "lines", "common"])
def test_broken_shader_files_are_one_line_naming_the_file(
    shader_copy, capsys, tmp_path, fault, name
):
    path = shader_copy / f"{name}.glsl"
    if fault == "truncated":
        text = path.read_text()
        path.write_text(text[: len(text) // 2])
    elif fault == "missing":
        path.unlink()
    else:
        path.write_bytes(b"\x00\xff not glsl at all {{{")
    code = main(["render", "--surface", "bowl", "--floor", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    if name == "common" and fault == "truncated":
        # The include is cut: the driver names the line that calls what went missing.
        assert ".glsl:" in err
    else:
        assert f"{name}.glsl" in err
