"""The app's Ctrl+S / Ctrl+O and Record, headless (the window tests' harness)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("imgui_bundle")
pytest.importorskip("imageio_ffmpeg")

from test_app_headless import Harness

pytestmark = pytest.mark.gl


def _loaded(h) -> None:
    assert h.app.ui.compiler.wait(30.0)
    h.frame(2)


def test_ctrl_s_saves_and_ctrl_o_loads(harness, tmp_path, monkeypatch):
    h = harness
    monkeypatch.chdir(tmp_path)
    h.state.view.lighting = "normals"
    h.state.point = (0.25, -0.5)
    h.key("S", ctrl=True)
    path = tmp_path / "gradient-explorer-session.json"
    assert json.loads(path.read_text())["view"]["lighting"] == "normals"
    assert "session saved" in h.app.ui.message and not h.app.ui.message_is_error
    assert h.state.camera.projection == "perspective"  # not the S (side view) binding
    h.state.view.lighting = "unlit"
    h.state.point = None
    h.key("O", ctrl=True)
    _loaded(h)  # read and built in the build pipeline, like every surface
    assert h.state.view.lighting == "normals" and h.state.point == (0.25, -0.5)
    assert "session loaded" in h.app.ui.message
    path.write_text("{")
    h.key("O", ctrl=True)
    _loaded(h)
    assert h.app.ui.message_is_error and "not valid JSON" in h.app.ui.message
    assert h.state.view.lighting == "normals"  # a refused file changes nothing
    h.frame(2)


def test_record_button_path_makes_a_clip_while_the_app_runs(harness, tmp_path):
    import imageio.v3 as iio

    h = harness
    before = h.state.camera.get_state()
    rec = h.app.start_recording(tmp_path / "clip.mp4", seconds=0.2)
    assert rec is not None
    for _ in range(20):
        if h.app.recorder is None:
            break
        h.frame()
    assert h.app.recorder is None and "saved" in h.app.ui.message
    frames = iio.imread(tmp_path / "clip.mp4", plugin="FFMPEG", index=None)
    assert frames.shape[0] == 6 and frames.shape[1] % 2 == 0 and frames.shape[2] % 2 == 0
    assert h.state.camera.get_state() == before  # the clip orbited a copy
    h.frame(2)


def test_ctrl_o_keeps_the_window_when_loading_raises_anything(harness, tmp_path, monkeypatch):
    from gradient_explorer.app import builds, session

    h = harness
    monkeypatch.chdir(tmp_path)
    h.key("S", ctrl=True)
    before = session.session_to_dict(h.state)

    def broken(*args, **kwargs):
        raise AttributeError("'DescentState' object has no attribute '_f_row'\nsecond line")

    monkeypatch.setattr(builds, "load_session", broken)  # the loader Ctrl+O calls
    h.key("O", ctrl=True)  # must not raise out of the frame
    h.app.ui.compiler.wait()
    h.frame(2)
    assert h.app.ui.message_is_error and "\n" not in h.app.ui.message
    assert "not loaded (AttributeError: 'DescentState' object" in h.app.ui.message
    assert session.session_to_dict(h.state) == before
    h.frame(2)


def test_ctrl_o_brings_back_the_typed_name_and_the_slider_ranges(monkeypatch, tmp_path):
    from gradient_explorer.surfaces.surface import Surface

    h = Harness(monkeypatch, tmp_path, surface="banana")
    try:
        monkeypatch.chdir(tmp_path)
        h.state.set_surface(Surface.from_expr("a*x^2 + y^2", name="mine"))
        h.state.param_ranges = {"a": (0.25, 8.0)}
        h.frame()
        h.key("S", ctrl=True)
        h.state.param_ranges = {}
        h.state.set_surface(Surface.named("banana"))
        h.frame()
        h.key("O", ctrl=True)
        assert h.app.ui.compiler.wait(30.0)  # loaded in the build pipeline
        h.frame()
        assert "session loaded" in h.app.ui.message
        assert h.state.surface.name == "mine"
        assert h.state.param_ranges == {"a": (0.25, 8.0)}
        h.frame(2)
    finally:
        h.close()
