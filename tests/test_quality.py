"""Adaptive quality: a reduced picture while it moves on a software renderer, the full
picture back once it stops, and nothing different on a GPU."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.quality import RESTORE_S, AdaptiveQuality, is_software

TICK = 1 / 30


@pytest.mark.parametrize(
    ("renderer", "software"),
    [
        ("llvmpipe (LLVM 15.0.6, 256 bits)", True),
        ("softpipe", True),
        ("Software Rasterizer", True),
        ("NVIDIA H200/PCIe/SSE2", False),
        ("AMD Radeon Pro 5500M OpenGL Engine", False),
        ("Apple M2", False),
    ],
)
def test_only_a_software_renderer_adapts(renderer, software, monkeypatch):
    monkeypatch.delenv("GRADIENT_EXPLORER_ADAPTIVE", raising=False)
    assert is_software(renderer) is software
    q = AdaptiveQuality(renderer)
    assert q.enabled is software
    assert (q.frame_scale(True) is not None) is software
    monkeypatch.setenv("GRADIENT_EXPLORER_ADAPTIVE", "0")
    assert AdaptiveQuality(renderer).frame_scale(True) is None


def test_restores_after_the_movement_stops():
    now = [0.0]
    q = AdaptiveQuality("llvmpipe", clock=lambda: now[0])
    assert q.frame_scale(True) == pytest.approx(0.5)
    now[0] += RESTORE_S / 2
    assert q.frame_scale(False) is not None and q.restore_pending()
    now[0] += RESTORE_S
    assert q.frame_scale(False) is None and not q.restore_pending()


pytest.importorskip("moderngl_window.context.headless")
pytest.importorskip("moderngl_window.context.glfw.keys")

from harness import AppHarness  # noqa: E402


def _orbit_then_rest(h: AppHarness, now: list[float]) -> list[bool]:
    """Drag to orbit, release, wait: whether each frame was reduced."""
    reduced = []

    def frame():
        now[0] += TICK
        h.frame(dt=TICK)
        reduced.append(h.app.quality.reduced)

    x, y = 480, 200
    h.move(x, y)
    h.app.on_mouse_press_event(x, y, 1)
    frame()
    for _ in range(6):
        x += 8
        h.app.on_mouse_drag_event(x, y, 8, 0)
        frame()
    h.app.on_mouse_release_event(x, y, 1)
    for _ in range(90):  # 3 s: the camera's easing ends, then the full picture returns
        frame()
    return reduced


@pytest.mark.gl
@pytest.mark.parametrize("adaptive", ["1", "0"])
def test_orbit_is_reduced_and_the_still_picture_is_full(adaptive, monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIENT_EXPLORER_ADAPTIVE", adaptive)
    h = AppHarness((640, 400), "banana", 0, screenshot_dir=tmp_path)
    now = [0.0]
    h.app.quality.clock = lambda: now[0]
    try:
        reduced = _orbit_then_rest(h, now)
        if adaptive == "1":
            assert all(reduced[1:7])  # while dragging
            assert h.app.lowres is not None and h.app.lowres.size == (320, 200)
        else:
            assert not any(reduced) and h.app.lowres is None
        assert not reduced[-1]
        still = h.pixels()
        camera = h.state.camera.get_state()
    finally:
        h.close()
    # the same view in an app that never reduces: the same picture, pixel for pixel
    monkeypatch.setenv("GRADIENT_EXPLORER_ADAPTIVE", "0")
    ref = AppHarness((640, 400), "banana", 0, screenshot_dir=tmp_path)
    try:
        ref.state.camera.set_state(camera)
        ref.move(480 + 48, 200)
        ref.frame(3)
        # the 3D view (the panels' text, hover and frame rate may differ)
        view = (slice(0, 280), slice(350, 630))
        assert np.array_equal(ref.pixels()[view], still[view])
    finally:
        ref.close()


@pytest.mark.gl
def test_the_offscreen_msaa_picture_is_the_multisampled_window_picture(monkeypatch, tmp_path):
    # on a software renderer the window has no samples and the still picture gets them
    # offscreen (run() does this): it must look as the multisampled window did
    from gradient_explorer.render.lowres import MsaaTarget

    monkeypatch.setenv("GRADIENT_EXPLORER_ADAPTIVE", "0")
    pictures = []
    for window_samples, offscreen in ((4, 0), (0, 4), (0, 0)):
        h = AppHarness((640, 400), "banana", window_samples, screenshot_dir=tmp_path)
        try:
            if offscreen:
                h.app.msaa = MsaaTarget(h.app.ctx, offscreen)
            h.frame(3)
            pictures.append(h.pixels()[:280, 350:630].astype(int))
        finally:
            h.close()
    smooth, offscreen, aliased = pictures
    # 20 pixels differ by a few levels (the overlay's text over the scene is drawn into
    # a multisampled window in one case); without samples ~1300 edge pixels differ a lot
    differs = np.abs(smooth - offscreen).max(axis=2) > 1
    assert differs.sum() < 100 and np.abs(smooth - offscreen).max() <= 8
    assert (np.abs(smooth - aliased).max(axis=2) > 1).sum() > 10 * max(differs.sum(), 10)
