"""The app's Ctrl+S / Ctrl+O and Record, headless (the window tests' harness)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("imgui_bundle")
pytest.importorskip("imageio_ffmpeg")

from test_app_headless import Harness

pytestmark = pytest.mark.gl


@pytest.fixture
def harness(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path)
    yield h
    h.close()


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
