"""An idle window draws nothing: frames only while something moves or input just came."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gl

pytest.importorskip("moderngl_window.context.headless")
pytest.importorskip("moderngl_window.context.glfw.keys")

from harness import AppHarness  # noqa: E402

from gradient_explorer.app.pacing import SETTLE_S  # noqa: E402

TICK = 1 / 60


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def paced(tmp_path):
    h = AppHarness((320, 240), "bowl", 0, screenshot_dir=tmp_path)
    clock = FakeClock()
    h.app.pacer.clock = clock
    h.app.pacer.touch()

    def run(seconds: float) -> int:
        """The window's loop for ``seconds`` of fake time: frames drawn."""
        before = h.app.pacer.frames
        for _ in range(round(seconds / TICK)):
            clock.now += TICK
            if h.app.wants_frame():
                h.frame(dt=TICK)
        return h.app.pacer.frames - before

    h.run = run
    run(3.0)  # the start settles (camera framing, imgui's first frames)
    yield h
    h.close()


def test_an_idle_window_draws_no_frame(paced):
    assert paced.run(5.0) == 0


def test_input_draws_frames_then_the_window_rests_again(paced):
    paced.move(100, 100)
    drawn = paced.run(SETTLE_S + 0.5)
    assert drawn >= round(SETTLE_S / TICK) - 1  # frames while imgui settles, then none
    assert paced.run(2.0) == 0
    paced.key("F1")  # the help opens: drawn, then rest
    assert paced.run(0.5) > 0
    paced.run(SETTLE_S)
    assert paced.run(2.0) == 0


def test_moving_things_keep_drawing(paced):
    camera = paced.state.camera
    camera.preset("top", aspect=320 / 240)  # the camera eases there over many frames
    assert paced.run(0.25) == round(0.25 / TICK)
    paced.run(5.0)
    assert not camera.moving and paced.run(2.0) == 0
    paced.app.ui.screenshot_requested = True
    assert paced.run(0.1) > 0
