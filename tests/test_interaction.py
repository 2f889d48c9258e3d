"""Interaction without a window: clicks, drags and the wheel as plain numbers."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.interaction import CLICK_SLOP, Interaction

SIZE = (800, 600)


@pytest.fixture
def inter():
    state = AppState.for_surface(Surface.named("bowl"), aspect=SIZE[0] / SIZE[1])
    state.camera.preset("top", aspect=SIZE[0] / SIZE[1], snap=True)  # a map: no folds
    i = Interaction(state)
    i.set_view((0, 0, *SIZE), SIZE, 1.0)
    return i


def _screen(inter, xy, floor=False):
    s = inter.state.surface
    z = s.height_range().floor_z if floor else float(s.height(np.asarray(xy, dtype=float)))
    return inter.to_screen(np.array([xy[0], xy[1], z]))


def test_click_places_and_small_wobble_is_still_a_click(inter):
    x, y = _screen(inter, (0.5, -0.7))
    assert inter.press(x, y, 1)
    inter.drag(x + CLICK_SLOP / 2, y, CLICK_SLOP / 2, 0)
    inter.release(x + CLICK_SLOP / 2, y, 1)
    # The release position counts (half the slop is a few thousandths of the domain).
    np.testing.assert_allclose(inter.state.point, (0.5, -0.7), atol=0.02)
    assert inter.state.camera.get_state()["azimuth"] == pytest.approx(-90.0)


def test_drag_from_the_point_moves_it_and_reports(inter):
    moved = []
    inter.on_point = lambda: moved.append(inter.state.point)
    inter.state.point = (0.0, 0.0)
    a, b = _screen(inter, (0.0, 0.0)), _screen(inter, (1.0, 0.5))
    inter.press(*a, 1)
    for t in np.linspace(0.1, 1.0, 5):
        p = a + t * (b - a)
        inter.drag(*p, 0, 0)
    inter.release(*b, 1)
    np.testing.assert_allclose(inter.state.point, (1.0, 0.5), atol=1e-6)
    assert len(moved) >= 4
    assert not inter.active


def test_drag_elsewhere_orbits_not_places(inter):
    inter.press(20, 20, 1)
    inter.drag(120, 20, 100, 0)
    inter.release(120, 20, 1)
    assert inter.state.point is None
    assert inter.state.camera._goal.azimuth != pytest.approx(-90.0)


def test_floor_pick_outside_the_surface_and_outside_everything(inter):
    inter.state.camera.preset("three_quarter", aspect=SIZE[0] / SIZE[1], snap=True)
    inter.state.view.floor = True
    assert inter.pick(2, 2) is None  # the corner of the window: sky
    hit = inter.pick(*_screen(inter, (1.9, -1.9), floor=True))
    assert hit is not None


def test_zero_size_view_turns_picking_off(inter):
    inter.set_view((0, 0, 0, 0), (0, 0), 1.0)
    assert inter.pick(10, 10) is None
    assert inter.scroll(10, 10, 1.0)  # zooms toward the target instead


def test_shift_click_drops_a_ball_and_shift_drag_pans(inter):
    dropped = []
    inter.on_drop = dropped.append
    x, y = _screen(inter, (0.6, -0.4))
    inter.press(x, y, 1, shift=True)
    inter.release(x, y, 1)
    assert len(dropped) == 1
    np.testing.assert_allclose(dropped[0], (0.6, -0.4), atol=1e-6)
    assert inter.state.point is None  # a ball, not the point
    target = inter.state.camera.get_state()["target"]
    inter.press(x, y, 1, shift=True)
    inter.drag(x + 60, y, 60, 0)
    inter.release(x + 60, y, 1)
    assert len(dropped) == 1
    assert inter.state.camera.get_state()["target"] != target
