"""An idle window draws nothing: frames only while something moves or input just came."""

from __future__ import annotations

import time

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


def test_while_a_build_runs_frames_are_spaced_and_its_result_is_drawn_at_once():
    from gradient_explorer.app.pacing import BUILDING_FRAME_S, Pacer

    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.touch()  # Enter was pressed: input just came
    assert pacer.wants_frame(False, building=True)
    pacer.drew()
    clock.now += BUILDING_FRAME_S / 2
    assert not pacer.wants_frame(False, building=True)  # the helpers get the CPU
    assert pacer.wants_frame(True, building=True)  # unless something moves
    assert pacer.wants_frame(False, building=True, built=True)  # the result: at once
    clock.now += BUILDING_FRAME_S
    assert pacer.wants_frame(False, building=True)  # typing still shows, 10 times a second
    pacer.throttle_while_building = False
    pacer.drew()
    assert pacer.wants_frame(False, building=True)


def test_a_typed_expression_arrives_in_a_paced_window(tmp_path):
    h = AppHarness((640, 400), "bowl", 0, screenshot_dir=tmp_path)
    try:
        h.frame(2)
        h.enter_expression("x^2 - y^2")
        for _ in range(3000):  # the window's loop, with the real clock
            if h.state.surface.formula() == "x^2 - y^2":
                break
            if h.app.wants_frame():
                h.frame(dt=None)
            else:
                time.sleep(h.app.idle_wait())
        assert h.state.surface.formula() == "x^2 - y^2"
    finally:
        h.close()
