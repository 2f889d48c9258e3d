"""Teaching defaults: every catalogue entry's start and learning rates make something move.

For every entry and optimizer the teaching defaults do not diverge in 300 steps (10 s at
the window's 30 steps/s), travel a visible part of the domain, and start away from every
critical point; the named characters hold (gd zig-zags across the banana's valley and
crawls along it, momentum overshoots and comes back, Adam keeps a near-constant step,
Newton drops to the bottom of the local quadratic). Then the places that use them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradient_explorer as ge
from gradient_explorer.app.descent_mode import DescentState
from gradient_explorer.app.state import AppState
from gradient_explorer.cli import main
from gradient_explorer.optim import teaching as tch
from gradient_explorer.optim.optimizers import OPTIMIZERS, make_optimizer
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface

# f is unbounded below on these: running off past the edge is the lesson, not a fault.
UNBOUNDED = {"saddle", "monkey_saddle", "softplus"}
# Bumpy bowls: the lesson is that local descent stops in the nearest dimple.
DIMPLED = {"rastrigin", "ackley"}


@pytest.fixture(scope="module")
def surfaces():
    return {name: Surface.named(name) for name in CATALOGUE}


@pytest.fixture(scope="module")
def runs(surfaces):
    return {(name, opt): tch.run(s, opt) for name, s in surfaces.items() for opt in OPTIMIZERS}


def test_window_speed_makes_ten_seconds_the_teaching_steps():
    assert DescentState().steps_per_second * 10 == tch.TEACHING_STEPS


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_entry_has_teaching_values_for_every_optimizer(name, surfaces):
    s = surfaces[name]
    teaching = CATALOGUE[name].teaching
    assert teaching is not None and len(teaching.start) == s.dim
    for opt in OPTIMIZERS:
        hyper = teaching.hyper(opt)
        assert hyper["lr"] > 0
        make_optimizer(opt, **hyper)  # valid by the optimizer's own checks


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_teaching_start_is_inside_and_not_a_critical_point(name, surfaces):
    s = surfaces[name]
    start = np.array(s.teaching.start)
    bounds = np.array(s.domain)
    assert np.all((start > bounds[:, 0]) & (start < bounds[:, 1]))
    grad = np.linalg.norm(s.gradient(start[None, :]))
    assert grad > 0.01  # 10^4 times the 1e-6 under which a point counts as critical
    for point, _ in s.critical_points:
        assert np.linalg.norm(point - start) > 0.05 * s.extent


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_no_optimizer_diverges_and_every_ball_moves_visibly(name, surfaces, runs):
    s = surfaces[name]
    w = s.extent
    for opt in OPTIMIZERS:
        m = tch.measure(s, runs[name, opt])
        assert m.ending != "diverged", (name, opt)
        assert m.steps == tch.TEACHING_STEPS or m.ending == "converged", (name, opt)
        if name in DIMPLED:  # rolls into the nearest dimple and stops there
            assert m.path_length > 0.04 * w and m.ending in ("settled", "moving"), (name, opt)
        elif m.ending == "converged" or (m.distance_to_minimum or w) < 0.02 * w:
            # arrived at a minimum: seen to roll the whole way there
            assert m.path_length >= 0.15 * w, (name, opt, m.path_length)
        else:
            assert m.path_length >= tch.VISIBLE_FRACTION * w, (name, opt, m.path_length)
        if m.ending == "left the domain":
            assert name in UNBOUNDED, (name, opt)
        f0 = np.asarray(s.f(np.array([s.teaching.start]))).ravel()[0]
        assert m.final_f < f0, (name, opt)


def _across_banana_valley(p):
    return p[:, 1] - p[:, 0] ** 2  # the valley floor is y = x^2 (a = 1)


def test_gd_zigzags_across_the_banana_valley_and_crawls_along_it(surfaces, runs):
    traj = runs["banana", "gd"]
    assert tch.zigzags(traj, _across_banana_valley) >= 20
    m = tch.measure(surfaces["banana"], traj)
    assert m.ending == "moving" and m.distance_to_minimum > 0.5  # still crawling at 10 s


@pytest.mark.parametrize("name", ["bowl", "elongated_bowl"])
def test_momentum_overshoots_the_minimum_and_comes_back(name, surfaces, runs):
    s = surfaces[name]
    (minimum,) = tch.minima(s)
    assert tch.overshoot(runs[name, "sgd"], minimum) > 0.02 * s.extent
    assert tch.overshoot(runs[name, "gd"], minimum) == 0.0  # plain descent does not
    assert tch.measure(s, runs[name, "sgd"]).ending == "converged"


@pytest.mark.parametrize("name", ["bowl", "elongated_bowl", "plateau", "beale"])
def test_adam_keeps_a_near_constant_step(name, runs):
    assert tch.step_variation(runs[name, "adam"], 50) < 0.3
    # plain descent's step follows the gradient's length instead
    assert tch.step_variation(runs[name, "gd"], 50) > tch.step_variation(runs[name, "adam"], 50)


@pytest.mark.parametrize("name", ["bowl", "elongated_bowl", "banana"])
def test_newton_drops_to_the_bottom_of_the_local_quadratic(name, surfaces, runs):
    s = surfaces[name]
    traj = runs[name, "newton"]
    bottom = tch.quadratic_bottom(s, traj.positions[0])
    assert bottom is not None
    lr = s.teaching.hyper("newton")["lr"]
    expected = traj.positions[0] + lr * (bottom - traj.positions[0])
    np.testing.assert_allclose(traj.positions[1], expected, rtol=1e-9, atol=1e-12)
    (minimum,) = tch.minima(s)
    near = np.linalg.norm(traj.positions - minimum, axis=1) < 1e-6
    assert near.any() and int(np.argmax(near)) <= 10  # at the bottom within a third of a second


def test_race_on_the_banana_ends_visibly_apart(surfaces):
    # the example: at step 390 the four balls must not be bunched together
    s = surfaces["banana"]
    ends = [tch.run(s, opt, 390).positions[-1] for opt in ("adam", "sgd", "rmsprop", "adafactor")]
    starts = np.array(s.teaching.start)
    for i, a in enumerate(ends):
        assert np.linalg.norm(a - starts) > 0.25 * s.extent
        for b in ends[i + 1 :]:
            assert np.linalg.norm(a - b) > 0.05 * s.extent


def test_teaching_helper_measures_against_an_independent_path():
    # the path length of gd on the bowl: x_k = x_0 (1 - 2 lr)^k, a geometric series
    s = Surface.named("bowl")
    lr = s.teaching.hyper("gd")["lr"]
    m = tch.measure(s, tch.run(s, "gd"))
    r = 1 - 2 * lr
    expected = np.linalg.norm(s.teaching.start) * (1 - r**300)
    assert m.path_length == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------- where they are used


def test_descend_without_lr_keeps_torch_defaults_and_teaching_takes_the_surface_values(capsys):
    args = ["descend", "--surface", "banana", "--optimizer", "adam", "--steps", "3"]
    assert main([*args, "--start=-1.2,1", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["hyperparameters"]["lr"] == OPTIMIZERS["adam"].defaults["lr"]
    assert main([*args, "--teaching", "--format", "json"]) == 0
    taught = json.loads(capsys.readouterr().out)
    s = Surface.named("banana")
    assert taught["hyperparameters"]["lr"] == s.teaching.hyper("adam")["lr"]
    first = taught["rows"][0]
    assert (first["x"], first["y"]) == tuple(s.teaching.start)
    # explicit flags still win over the teaching values
    assert main([*args, "--teaching", "--lr", "0.5", "--start=0,2", "--format", "json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["hyperparameters"]["lr"] == 0.5 and both["rows"][0]["x"] == 0.0
    sgd = ["descend", "--surface", "bowl", "--optimizer", "sgd", "--steps", "1", "--teaching"]
    assert main([*sgd, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["hyperparameters"]["momentum"] == 0.9


def test_descend_without_start_or_teaching_is_a_one_line_error(capsys):
    code = main(["descend", "--surface", "bowl", "--optimizer", "adam", "--steps", "3"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--start" in err and "--teaching" in err and len(err.splitlines()) == 1


def test_api_descend_teaching_and_torch_defaults():
    s = ge.Surface.named("saddle")
    plain = ge.descend(s, "sgd", start=(1.0, 0.5), steps=2)
    assert plain.hyperparameters["lr"] == 1e-3 and plain.hyperparameters["momentum"] == 0.0
    taught = ge.descend("saddle", "sgd", steps=2, teaching=True)
    assert taught.hyperparameters == {**plain.hyperparameters, **s.teaching.hyper("sgd")}
    assert tuple(taught.positions[0]) == s.teaching.start
    with pytest.raises(ge.UsageError):
        ge.descend(s, "adam", steps=2)


def test_surfaces_json_has_formula_domain_parameters_critical_points_teaching(capsys):
    assert main(["surfaces", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(CATALOGUE)
    for name, d in CATALOGUE.items():
        r = rows[name]
        s = Surface.named(name)
        assert r["formula"] == d.expression
        assert r["domain"] == [list(pair) for pair in s.domain]
        assert set(r["parameters"]) == {p.name for p in d.parameters}
        assert len(r["critical_points"]) == len(d.critical_points)
        t = r["teaching"]
        assert t["start"] == list(s.teaching.start) and len(t["start"]) == s.dim
        assert set(t["lr"]) == set(OPTIMIZERS)
        for opt, lr in t["lr"].items():
            assert lr == s.teaching.hyper(opt)["lr"]
        assert t["momentum"] == {"sgd": 0.9}
    banana = rows["banana"]
    assert banana["parameters"]["b"] == {"default": 100.0, "min": 1.0, "max": 200.0}
    assert banana["critical_points"] == [
        {"point": [1.0, 1.0], "kind": "minimum", "exact": ["a", "a^2"]}
    ]


def test_window_adopts_teaching_on_switching_surface_and_keeps_user_values():
    state = AppState.for_surface(Surface.named("saddle"))
    ds = state.descent
    saddle = state.surface
    assert ds.hyper["adam"]["lr"] == saddle.teaching.hyper("adam")["lr"]
    ds.start_run(state.surface)  # "Start" with no point: not the saddle point
    assert ds.start == saddle.teaching.start
    assert ds.descents[0].positions[0].tolist() == list(saddle.teaching.start)
    assert ds.set_hyper("adam", "lr", 0.3) is None
    state.set_surface(
        Surface.named(
            "saddle",
        ),
        1.0,
    )  # the same surface again: kept
    assert ds.hyper["adam"]["lr"] == 0.3
    banana = Surface.named("banana")
    state.set_surface(banana, 1.0)
    for opt in OPTIMIZERS:
        for key, value in banana.teaching.hyper(opt).items():
            assert ds.hyper[opt][key] == value
    assert ds.start is None
    ds.kind, ds.race = "race", ["gd", "adam"]
    ds.start_run(banana)
    assert [d.positions[0].tolist() for d in ds.descents] == [list(banana.teaching.start)] * 2


def test_typed_surface_gets_a_corner_start_and_torch_learning_rates():
    state = AppState.for_surface(Surface.named("banana"))
    typed = Surface.from_expr("x^2 - y^2")
    state.set_surface(typed, 1.0)
    ds = state.descent
    assert ds.hyper["adam"]["lr"] == OPTIMIZERS["adam"].defaults["lr"]
    assert ds.hyper["sgd"]["momentum"] == 0.0
    ds.start_run(typed)
    assert ds.start == (-3.0 + 0.15 * 6.0, 3.0 - 0.15 * 6.0)  # not the saddle point


def test_record_descent_and_swarm_use_teaching_defaults(tmp_path):
    from types import SimpleNamespace

    from gradient_explorer.cli.record import setup_descent

    s = Surface.named("banana")
    state = AppState.for_surface(s)
    args = SimpleNamespace(descent=["adam", "sgd"], swarm=None, start=None, lr=None, seed=0)
    setup_descent(state, args)
    ds = state.descent
    assert [d.positions[0].tolist() for d in ds.descents] == [list(s.teaching.start)] * 2
    assert [d.optimizer.hyper["lr"] for d in ds.descents] == [
        s.teaching.hyper("adam")["lr"],
        s.teaching.hyper("sgd")["lr"],
    ]
    assert ds.descents[1].optimizer.hyper["momentum"] == 0.9
    # --lr and --start override
    state = AppState.for_surface(s)
    args = SimpleNamespace(descent=["adam"], swarm=None, start="0,2", lr=0.25, seed=0)
    setup_descent(state, args)
    (d,) = state.descent.descents
    assert d.optimizer.hyper["lr"] == 0.25 and d.positions[0].tolist() == [0.0, 2.0]
    # a swarm: the teaching lr, spread over the domain
    state = AppState.for_surface(s)
    args = SimpleNamespace(descent=["rmsprop"], swarm=50, start=None, lr=None, seed=1)
    setup_descent(state, args)
    (d,) = state.descent.descents
    assert d.optimizer.hyper["lr"] == s.teaching.hyper("rmsprop")["lr"] and d.n == 50


def test_swarm_bounds_spread_inside_the_box():
    from gradient_explorer.optim.descent import Descent

    s = Surface.named("bowl")
    d = Descent.swarm(s, "gd", 200, 3, bounds=((0.5, 1.0), (-1.0, -0.5)))
    p = d.positions
    assert (p[:, 0] >= 0.5).all() and (p[:, 0] <= 1.0).all()
    assert (p[:, 1] >= -1.0).all() and (p[:, 1] <= -0.5).all()


def _built(panels, state, ui):
    """Try-this buttons build in the app's pipeline: wait for it and install the result."""
    assert ui.compiler.wait(30.0)
    assert panels.apply_compiled(state, ui)


def test_try_this_race_plays_the_banana_race_from_the_teaching_start():
    from gradient_explorer.app.ui import panels

    state = AppState.for_surface(Surface.named("bowl"))
    ui = panels.UiState()
    panels.try_race(state, ui)
    _built(panels, state, ui)
    ds = state.descent
    banana = state.surface
    assert banana.name == "banana" and ds.kind == "race" and ds.playing
    assert ds.names == list(panels.TRY_RACE)
    for d, opt in zip(ds.descents, ds.names, strict=True):
        assert d.positions[0].tolist() == list(banana.teaching.start)
        assert d.optimizer.hyper["lr"] == banana.teaching.hyper(opt)["lr"]
    for _ in range(30):
        ds.advance(1 / 3)  # 10 seconds at the default speed
    ends = np.array([d.positions[0] for d in ds.descents])
    assert np.linalg.norm(ends - banana.teaching.start, axis=1).min() > 0.5


def test_try_saddle_and_banana_place_the_point_at_the_teaching_start():
    from gradient_explorer.app.ui import panels

    state = AppState.for_surface(Surface.named("bowl"))
    ui = panels.UiState()
    panels.try_banana(state, ui)
    _built(panels, state, ui)
    assert state.surface.name == "banana"
    assert state.point == state.surface.teaching.start
    panels.try_saddle(state, ui)
    _built(panels, state, ui)
    assert state.surface.name == "saddle"
    assert ui.animation is not None and state.point == state.surface.teaching.start
