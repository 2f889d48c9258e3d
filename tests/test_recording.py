"""Recording: MP4 and GIF with the asked frame count, moving frames, even sizes, atomic."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from gradient_explorer.app.state import AppState
from gradient_explorer.cli import main
from gradient_explorer.errors import UsageError
from gradient_explorer.render import recording
from gradient_explorer.surfaces.surface import Surface

iio = pytest.importorskip("imageio.v3")
pytest.importorskip("imageio_ffmpeg")

pytestmark = pytest.mark.gl


def read_frames(path) -> np.ndarray:
    plugin = "FFMPEG" if str(path).endswith(".mp4") else None
    return iio.imread(path, plugin=plugin, index=None)


def changes(frames: np.ndarray) -> list[float]:
    """Mean absolute difference between consecutive frames."""
    f = frames.astype(np.int16)
    return [float(np.abs(f[i + 1] - f[i]).mean()) for i in range(len(f) - 1)]


def test_cli_mp4_orbit_and_race(tmp_path, capsys):
    out = tmp_path / "banana.mp4"
    argv = [
        "record",
        "--surface",
        "banana",
        "--orbit",
        "--descent",
        "adam",
        "sgd",
        "--frames",
        "8",
        "--size",
        "97x65",
        "--grid",
        "48",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    frames = read_frames(out)
    assert frames.shape == (8, 64, 96, 3)  # rounded down to even
    assert min(changes(frames)) > 0.5  # the camera turns every frame
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "8/8 frames" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["banana.mp4"]


def test_gif_balls_move_with_a_still_camera(tmp_path, ctx):
    state = AppState.for_surface(Surface.named("himmelblau"))
    state.view.grid = 48
    ds = state.descent
    ds.kind = "swarm"
    ds.swarm_size = 40
    ds.start_run(state.surface)
    out = tmp_path / "swarm.gif"
    seen = []
    path = recording.record(
        state,
        out,
        5,
        fps=10,
        size=(90, 60),
        steps_per_frame=4,
        ctx=ctx,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert path == out
    frames = read_frames(out)
    assert frames.shape == (5, 60, 90, 3)
    assert iio.improps(out).n_images == 5
    assert iio.immeta(out)["duration"] == 100
    assert all(c > 0 for c in changes(frames))  # only the balls move
    assert seen[-1] == (5, 5)
    assert ds.descents[0].steps.max() == 16  # 4 steps between each of the 5 frames


def test_sweep_moves_the_tangent(tmp_path, ctx):
    state = AppState(surface=Surface.named("cubic"), mode="curve")
    state.curve.source = "slice"  # a curve as the surface shows itself
    out = tmp_path / "cubic.mp4"
    # 320x240: the 1D view leaves a GL error at very small sizes (a negative scissor box)
    recording.record(state, out, 4, fps=5, size=(320, 240), sweep=True, ctx=ctx)
    frames = read_frames(out)
    assert frames.shape == (4, 240, 320, 3)
    assert all(c > 0 for c in changes(frames))
    assert state.curve.x != 0.5


def test_cli_sweep_of_a_catalogue_curve_gif(tmp_path):
    out = tmp_path / "cubic.gif"
    argv = [
        "record",
        "--surface",
        "cubic",
        "--sweep",
        "--frames",
        "3",
        "--size",
        "320x240",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    frames = read_frames(out)
    assert frames.shape == (3, 240, 320, 3)  # an odd count: no two frames alike
    assert min(changes(frames)) > 0


def test_interrupted_recording_leaves_the_old_file(tmp_path, ctx, monkeypatch):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"old video")
    state = AppState.for_surface(Surface.named("bowl"))
    state.view.grid = 32

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        recording.record(state, out, 3, size=(64, 48), orbit=True, ctx=ctx)
    assert out.read_bytes() == b"old video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_recorder_steps_one_frame_at_a_time_on_a_shared_context(tmp_path, ctx):
    state = AppState.for_surface(Surface.named("saddle"))
    state.view.grid = 32
    copy = recording.snapshot(state)
    before = state.camera.get_state()
    rec = recording.Recorder(copy, tmp_path / "a.gif", 3, size=(40, 30), orbit=True, ctx=ctx)
    steps = [rec.step() for _ in range(3)]
    assert steps == [False, False, True] and rec.progress == 1.0
    assert state.camera.get_state() == before  # the snapshot moved, not the live state
    assert read_frames(tmp_path / "a.gif").shape[0] == 3


def test_bad_requests_are_refused(tmp_path, ctx):
    state = AppState.for_surface(Surface.named("bowl"))
    with pytest.raises(UsageError, match=r"\.mp4 or \.gif"):
        recording.Recorder(state, tmp_path / "x.avi", 3, ctx=ctx)
    with pytest.raises(UsageError, match="frames"):
        recording.Recorder(state, tmp_path / "x.mp4", 0, ctx=ctx)
    err = io.StringIO()
    show = recording.progress_printer(err)
    show(1, 2)
    show(2, 2)
    assert err.getvalue().count("\n") == 1 and "2/2 frames" in err.getvalue()
    assert main(["record", "--surface", "bowl", "--frames", "2", "--out", "x.webm"]) == 2
    assert (
        main(
            [
                "record",
                "--surface",
                "bowl",
                "--descent",
                "magic",
                "--frames",
                "2",
                "--out",
                str(tmp_path / "x.gif"),
            ]
        )
        == 2
    )
    assert not list(tmp_path.iterdir())
    assert recording.even_size((97, 65)) == (96, 64)
