"""Numerical faults: holes, poles and overflow render, descend and pick cleanly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.optim.descent import Descent
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.picking import pick_height_surface, world_to_screen

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
    # Towers and ranges past float32 (the GPU's numbers) and below its smallest.
    "exp(exp(exp(x))) + y": ((-2.0, 0.0), (2.5, 0.0)),
    "exp(exp(x))*1000000000000000*1000000000000000": ((-2.0, 0.0), None),
    "x^64*1000000000000000 + y": ((0.5, 0.0), None),
    "1e-300*x*y": ((1.0, 1.0), None),
}

#: f over the domain is past float32 (or under its smallest normal number) here: the
#: picture clamps it and one line says so.
BEYOND_FLOAT32 = {
    "exp(exp(exp(x))) + y": "past the",
    "x^64*1000000000000000 + y": "past the",
    "1e-300*x*y": "drawn flat",
}


@pytest.fixture(scope="module")
def renderer(gl_ctx):
    r = HeadlessRenderer(gl_ctx, grid=64)
    yield r
    r.release()


def _state(surface: Surface, preset: str) -> AppState:
    view = ViewOptions(floor=False, axes=False, contours=0, grid=64)
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1], view=view)
    # Aim at the whole clip box (the home view fits the surface drawn, and may stand
    # inside the box over a pole): every corner of the box projects onto the screen.
    state.camera.frame(*state.scene_bounds(), SIZE[0] / SIZE[1], snap=True)
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


@pytest.mark.parametrize("expr", list(BEYOND_FLOAT32))
def test_heights_past_float32_stay_drawable(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and np.seterr(all="raise") from conftest
        surface = Surface.from_expr(expr, dim=2)
        hr = surface.height_range()
        state = AppState.for_surface(surface, aspect=16 / 9)
        big = float(np.finfo(np.float32).max)
        box = [hr.lo, hr.hi, hr.clip_lo, hr.clip_hi, hr.floor_z, surface.height_scale]
        assert all(np.isfinite(box)) and max(abs(v) for v in box) < big
        assert np.finfo(np.float32).tiny <= surface.height_scale  # a normal float32
        mvp = state.camera.view_projection(16 / 9)
        assert np.abs(mvp).max() < big
        from gradient_explorer.render.scene import axes_geometry, drawing_note

        lines, labels = axes_geometry(surface, hr)
        assert np.isfinite(lines).all() and labels
        note = drawing_note(surface)
        assert note is not None and BEYOND_FLOAT32[expr] in note and "\n" not in note


@pytest.mark.parametrize("expr", ["exp(x) + y", "x^2 + y^2"])
def test_drawable_surfaces_have_no_note(expr):
    from gradient_explorer.render.scene import drawing_note

    assert drawing_note(Surface.from_expr(expr, dim=2)) is None


@pytest.mark.gl
@pytest.mark.parametrize("expr", list(BEYOND_FLOAT32))
def test_render_and_record_clamp_and_say_so(expr, tmp_path, capsys):
    from gradient_explorer.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tmp_path / "a.png"
        assert main(["render", "--expr", expr, "--size", "96x64", "--out", str(out)]) == 0
        assert out.stat().st_size > 0
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and BEYOND_FLOAT32[expr] in err
        gif = tmp_path / "a.gif"
        args = ["record", "--expr", expr, "--size", "64x48", "--frames", "2", "--out", str(gif)]
        assert main(args) == 0
        assert gif.stat().st_size > 0
        assert BEYOND_FLOAT32[expr] in capsys.readouterr().err


@pytest.mark.gl
def test_the_window_takes_a_tower_and_says_so(tmp_path):
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    from gradient_explorer.app.ui import panels

    h = AppHarness((640, 480), "bowl", samples=0, screenshot_dir=tmp_path)
    try:
        h.enter_expression("exp(exp(exp(x))) + y")
        h.frames_until(lambda: h.state.surface.formula() == "exp(exp(exp(x))) + y", 60)
        h.frame(3)
        texts: list[str] = []
        original = panels.imgui.text_colored

        def spy(color, text, *args):
            texts.append(text)
            return original(color, text, *args)

        panels.imgui.text_colored = spy
        try:
            h.app.ui.message = ""
            h.frame()
        finally:
            panels.imgui.text_colored = original
        assert any("past the" in t for t in texts), texts
        assert h.pixels().std() > 5  # a picture, not a crash or a blank
    finally:
        h.close()
