"""OrbitController: drags, wheel zoom toward the picked point, keys; no window library."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.controller import KEY_BINDINGS, OrbitController
from gradient_explorer.view.picking import pick_height_surface, screen_to_ray, world_to_screen

FB = (1600, 1000)  # framebuffer pixels
VIEWPORT = (0, 100, 1600, 800)  # letterboxed, bottom-left origin
RATIO = 2.0


def bump(xy):
    return 2.0 * np.exp(-(xy[:, 0] ** 2 + xy[:, 1] ** 2))


DOMAIN = ((-3.0, 3.0), (-3.0, 3.0), (0.0, 2.0))


def setup(smooth_time=0.1):
    cam = OrbitCamera(smooth_time=smooth_time)
    cam.frame((-3, -3, 0), (3, 3, 2), aspect=2.0, snap=True)
    ctl = OrbitController(cam, viewport_size=(VIEWPORT[2] / RATIO, VIEWPORT[3] / RATIO))
    return cam, ctl


def screen(cam, p):
    return world_to_screen(cam, p, VIEWPORT, FB, pixel_ratio=RATIO)


def pick(cam):
    def pick_fn(x, y):
        ray = screen_to_ray(cam, (x, y), VIEWPORT, FB, pixel_ratio=RATIO)
        return None if ray is None else pick_height_surface(*ray, bump, DOMAIN)

    return pick_fn


def test_left_drag_orbits():
    cam, ctl = setup()
    az, el = cam.azimuth, cam.elevation
    assert ctl.press(100, 100, 1)
    assert ctl.dragging == "orbit"
    assert ctl.drag(110, 105, 10, 5)
    cam.snap()
    assert cam.azimuth == pytest.approx(az - 10 * ctl.orbit_speed)
    assert cam.elevation == pytest.approx(el + 5 * ctl.orbit_speed)
    assert ctl.release(1)
    assert ctl.dragging is None
    assert not ctl.drag(120, 105, 10, 0)  # no button held


def test_invert_orbit_y():
    cam, ctl = setup()
    ctl.invert_orbit_y = True
    el = cam.elevation
    ctl.press(0, 0, "left")
    ctl.drag(0, 5, 0, 5)
    cam.snap()
    assert cam.elevation == pytest.approx(el - 5 * ctl.orbit_speed)


@pytest.mark.parametrize(("button", "shift"), [(2, False), (3, False), (1, True), ("right", False)])
def test_pan_drags_keep_target_depth_point_under_cursor(button, shift):
    cam, ctl = setup()
    right, up, _ = cam.basis()
    p = cam.target + 0.7 * right - 0.4 * up  # at the target's depth
    before = screen(cam, p)
    assert ctl.press(*before, button, shift=shift)
    assert ctl.dragging == "pan"
    ctl.drag(before[0] + 30, before[1] - 12, 30, -12)
    ctl.drag(before[0] + 25, before[1] - 20, -5, -8)
    ctl.release(button)
    cam.snap()
    np.testing.assert_allclose(screen(cam, p) - before, [25, -20], atol=1e-9)


def test_release_other_button_and_second_press_ignored():
    _, ctl = setup()
    ctl.press(0, 0, 1)
    assert not ctl.press(0, 0, 2)  # already dragging
    assert not ctl.release(2)
    assert ctl.dragging == "orbit"
    assert ctl.release(1)
    assert not ctl.press(0, 0, 7)  # unknown button


def test_wheel_zooms_toward_picked_point():
    cam, ctl = setup()
    # A surface point near the bump's flank, seen from the home view.
    q = np.array([0.8, -0.5, float(bump(np.array([[0.8, -0.5]]))[0])])
    mouse = screen(cam, q)
    d0 = cam.distance
    assert ctl.scroll(*mouse, 2.0, pick_fn=pick(cam))
    cam.snap()
    assert cam.distance == pytest.approx(d0 * math.exp(-2 * ctl.zoom_speed))
    np.testing.assert_allclose(screen(cam, q), mouse, atol=1e-6)
    # The point picked again is the same surface point.
    np.testing.assert_allclose(pick(cam)(*mouse), q, atol=1e-9)


def test_wheel_without_hit_zooms_toward_target():
    cam, ctl = setup()
    target, d0 = cam.target, cam.distance
    ctl.scroll(5, 5, -1.0, pick_fn=lambda x, y: None)
    cam.snap()
    np.testing.assert_allclose(cam.target, target)
    assert cam.distance == pytest.approx(d0 * math.exp(ctl.zoom_speed))
    assert not ctl.scroll(5, 5, 0.0)
    ctl.scroll(5, 5, 1.0)  # no pick_fn at all
    cam.snap()
    assert cam.distance == pytest.approx(d0)


def test_keys():
    # The key table's names (view/keys.py): T / S / Q presets, O projection, arrows, +.
    cam, ctl = setup()
    home = cam.get_state()
    assert ctl.key("t")
    cam.snap()
    assert cam.projection == "orthographic" and cam.elevation == 90
    assert ctl.key("S")
    cam.snap()
    assert cam.projection == "perspective" and cam.elevation == 0
    assert ctl.key("o")
    assert cam.projection == "orthographic"
    assert ctl.key("O")
    assert cam.projection == "perspective"
    az = cam.get_state()["azimuth"]
    assert ctl.key("Left")
    assert cam.get_state()["azimuth"] == pytest.approx(az + ctl.key_orbit_step)
    d = cam.get_state()["distance"]
    assert ctl.key("EQUAL")
    assert cam.get_state()["distance"] < d
    assert ctl.key("R")
    cam.snap()
    state = cam.get_state()
    np.testing.assert_allclose(state.pop("target"), home.pop("target"))
    assert state.pop("projection") == home.pop("projection")
    assert state == pytest.approx(home)
    assert ctl.key("q")
    assert not ctl.key("w")
    assert not ctl.key("1")  # the app's surface mode, not a camera action
    assert not ctl.do("surface mode")
    assert set(KEY_BINDINGS) >= {"r", "t", "s", "q", "o"}


def test_resize_validates():
    _, ctl = setup()
    ctl.resize(300, 200)
    assert ctl.aspect == 1.5
    with pytest.raises(ValueError):
        ctl.resize(0, 200)


def test_no_window_library_imported():
    code = (
        "import sys, gradient_explorer.view.controller, gradient_explorer.view.picking; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('moderngl_window', 'moderngl', 'pyglet', 'glfw', 'imgui_bundle')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
