"""Numerical faults: holes, poles and overflow render, descend and pick cleanly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradient_explorer.descent import Descent
from gradient_explorer.headless import HeadlessRenderer
from gradient_explorer.optimizers import OPTIMIZERS
from gradient_explorer.picking import pick_height_surface, world_to_screen
from gradient_explorer.state import AppState, ViewOptions
from gradient_explorer.surface import Surface

SIZE = (96, 96)
BACKGROUND = np.array(ViewOptions().background) * 255

#: Surfaces with holes (NaN), poles (inf) and overflow, and where each is defined or not.
FAULTS = {
    "log(x)": ((2.0, 0.5), (-2.0, 0.5)),
    "1/x": ((1.5, 1.0), None),
    "1/(x^2+y^2)": ((2.0, 2.0), None),
    "exp(exp(x))": ((-2.0, 0.0), None),
    "sqrt(1-x^2-y^2)": ((0.0, 0.0), (2.5, 2.5)),
    "tan(x)": ((0.3, 0.0), None),
}


@pytest.fixture(scope="module")
def renderer(gl_ctx):
    r = HeadlessRenderer(gl_ctx, grid=64)
    yield r
    r.release()


def _state(surface: Surface, preset: str) -> AppState:
    view = ViewOptions(floor=False, axes=False, contours=0, grid=64)
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1], view=view)
    state.camera.preset(preset, SIZE[0] / SIZE[1], snap=True)
    return state


def _screen(state: AppState, world) -> np.ndarray:
    return world_to_screen(state.camera, np.asarray(world, float), (0, 0, *SIZE), SIZE)


def _background(image: np.ndarray) -> np.ndarray:
    return np.all(np.abs(image.astype(float) - BACKGROUND) <= 3, axis=-1)


@pytest.mark.gl
@pytest.mark.parametrize("expr", list(FAULTS))
@pytest.mark.parametrize("preset", ["top", "three_quarter", "side"])
def test_faulty_surfaces_render_inside_their_clip_box(renderer, expr, preset):
    surface = Surface.from_expr(expr, dim=2)
    state = _state(surface, preset)
    image = renderer.render(state, SIZE, overlay=False)
    drawn = ~_background(image)
    assert drawn.any(), "nothing drawn"
    # Every drawn pixel lies inside the projected box the heights are clipped to: a
    # pole or an overflow never makes a spike or a sheet across the screen.
    (x0, x1), (y0, y1) = surface.domain
    hr = surface.height_range()
    assert np.isfinite([hr.lo, hr.hi, hr.clip_lo, hr.clip_hi, hr.floor_z]).all()
    corners = np.array(
        [[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (hr.clip_lo, hr.clip_hi)]
    )
    sx, sy = _screen(state, corners).T
    rows, cols = np.nonzero(drawn)
    margin = 2.0
    assert cols.min() >= sx.min() - margin and cols.max() <= sx.max() + margin
    assert rows.min() >= sy.min() - margin and rows.max() <= sy.max() + margin


@pytest.mark.gl
@pytest.mark.parametrize("expr", list(FAULTS))
def test_background_shows_where_the_surface_is_undefined(renderer, expr):
    surface = Surface.from_expr(expr, dim=2)
    state = _state(surface, "top")
    image = renderer.render(state, SIZE, overlay=False)
    defined, undefined = FAULTS[expr]
    h = float(surface.height(np.array(defined)))
    col, row = np.rint(_screen(state, [*defined, h])).astype(int)
    assert not _background(image[row - 1 : row + 2, col - 1 : col + 2]).any()
    if undefined is not None:
        assert np.isnan(surface.f(np.array(undefined)))
        col, row = np.rint(_screen(state, [*undefined, 0.0])).astype(int)
        assert _background(image[row - 1 : row + 2, col - 1 : col + 2]).all()


#: Adafactor (as in torch) caps its step at min(lr, 1/sqrt(t)) times the ball's size:
#: any lr above 1 is the same lr, so it cannot be made to diverge this way.
CAPPED_LR = {"adafactor"}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("lr", [1e3, 1e6])
@pytest.mark.parametrize("surface_name", ["bowl", "banana"])
def test_absurd_learning_rates_diverge_cleanly(name, lr, surface_name):
    surface = Surface.named(surface_name)
    starts = np.array([[0.5, 0.5], [-1.0, 1.5], [1.7, -0.3], [0.05, -1.9]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and np.seterr(all="raise") from conftest
        d = Descent(surface, name, starts, trail_length=64, lr=lr)
        for _ in range(200):
            if d.step() == 0:
                break
        status = list(d.status)
        positions, counts = d.trails()
        if name in CAPPED_LR:
            # the cap: this run is the run at lr 1, step for step
            capped = Descent(surface, name, starts, trail_length=64, lr=1.0)
            for _ in range(int(d.steps.max())):
                capped.step()
            assert np.array_equal(d.positions, capped.positions)
            assert list(capped.status) == status
        else:
            assert status == ["diverged"] * len(starts), status
            assert (d.stopped_at >= 1).all()  # it moved, then was stopped
        assert np.isfinite(d.positions).all()
        assert np.isfinite(positions).all() and counts.sum() > 0
        assert all(m for m in d.messages())  # each ball says what happened


@pytest.mark.parametrize("expr", list(FAULTS))
def test_picking_on_holes_gives_none_or_a_point_on_the_surface(expr, rng):
    surface = Surface.from_expr(expr, dim=2)
    hr = surface.height_range()
    domain = (*surface.domain, (hr.clip_lo, hr.clip_hi))
    hits = 0
    for _ in range(150):
        origin = np.array([*rng.uniform(-4, 4, 2), rng.uniform(3, 12)])
        target = np.array([*rng.uniform(-3, 3, 2), rng.uniform(hr.clip_lo, hr.clip_hi)])
        hit = pick_height_surface(origin, target - origin, surface.height, domain)
        if hit is None:
            continue
        hits += 1
        assert np.isfinite(hit).all()
        h = float(surface.height(hit[:2]))
        assert np.isfinite(h)
        assert abs(h - hit[2]) <= 1e-6 * max(1.0, abs(h), hr.clip_hi - hr.clip_lo)
    assert hits > 10
