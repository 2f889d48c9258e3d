"""Descent runner: divergence, convergence, swarms, races, trajectories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradient_explorer.app.descent_mode import DescentState
from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import Descent, descend
from gradient_explorer.optim.optimizers import make_optimizer
from gradient_explorer.surfaces.surface import Surface


@pytest.fixture(scope="module")
def banana():
    return Surface.named("banana")


@pytest.fixture(scope="module")
def bowl():
    return Surface.named("bowl")


def test_sgd_with_large_lr_diverges_quietly(banana):
    d = Descent(banana, "sgd", [[-1.5, 2.0], [1.0, 1.0]], lr=0.05)
    d.step(200)
    assert list(d.status) == ["diverged", "converged"]
    assert d.stopped_at[0] >= 1 and d.steps[0] == d.stopped_at[0] - 1
    assert np.isfinite(d.finite_positions()).all()
    assert np.isfinite(d.trail(0)).all() and len(d.trail(0)) == d.steps[0] + 1
    assert "ball 0 diverged at step" in d.messages()[0]
    t = descend(banana, "sgd", (-1.5, 2.0), 200, lr=0.05)
    assert t.status == "diverged"
    assert np.isfinite(t.positions).all() and np.isfinite(t.f).all()
    assert len(t.positions) == t.end_step  # steps 0 .. end_step-1 were finite


def test_far_away_counts_as_diverged(bowl):
    d = Descent(bowl, "gd", [[1.0, 1.0]], lr=-0.0 + 1.5)  # |1 - 2 lr| = 2: doubling
    d.step(100)
    assert d.status[0] == "diverged"
    extent = max(hi - lo for lo, hi in bowl.domain)
    assert np.abs(d.positions).max() <= 10 * extent + 1


def test_adam_converges_on_the_bowl(bowl):
    t = descend(bowl, "adam", (1.5, -1.0), 5000, tol=1e-6, lr=0.05)
    assert t.status == "converged"
    assert np.linalg.norm(t.gradient[-1]) < 1e-6
    assert t.end_step == len(t.positions) - 1
    np.testing.assert_allclose(t.positions[-1], 0.0, atol=1e-5)


def test_max_steps(banana):
    t = descend(banana, "adam", (-1.5, 2.0), 10)
    assert t.status == "max_steps" and t.end_step == 10 and t.positions.shape == (11, 2)


def test_swarm_on_himmelblau_fills_the_four_basins():
    s = Surface.named("himmelblau")
    minima = np.array([p for p, kind in s.critical_points if kind == "minimum"])
    assert len(minima) == 4
    d = Descent.swarm(s, "adam", 10_000, rng=7, lr=0.05)
    d.step(4000)
    assert (d.status == "converged").all(), d.summary()
    dist = np.linalg.norm(d.positions[:, None, :] - minima[None], axis=2)
    assert (dist.min(axis=1) < 1e-5).all()
    counts = np.bincount(dist.argmin(axis=1), minlength=4)
    assert (counts > 500).all(), counts


def test_grid_swarm_and_curves():
    s = Surface.named("double_well")
    d = Descent.swarm(s, "adam", 9, grid=True, lr=0.05)
    assert d.positions.shape == (9, 1)
    d.step(3000)
    assert set(d.status) <= {"converged", "running"}
    grid = Descent.swarm(Surface.named("bowl"), "gd", 10, grid=True)
    assert grid.positions.shape == (10, 2)


def test_stopped_balls_do_not_move_and_trails_are_bounded(banana):
    d = Descent(banana, "adam", [[-1.5, 2.0], [1.0, 1.0]], trail_length=16, lr=0.01)
    assert d.status[1] == "converged" and d.stopped_at[1] == 0
    d.step(50)
    np.testing.assert_array_equal(d.positions[1], [1.0, 1.0])
    assert len(d.trail(0)) == 16 and len(d.trail(1)) == 1
    np.testing.assert_array_equal(d.trail(0)[-1], d.positions[0])
    points, lengths = d.trails()
    assert points.shape == (2, 16, 2) and lengths.tolist() == [16, 1]
    np.testing.assert_array_equal(points[0], d.trail(0))


def test_descent_matches_the_bare_optimizer(banana):
    starts = np.array([[-1.5, 2.0], [0.5, 0.2]])
    d = Descent(banana, "nadam", starts, lr=0.01)
    d.step(100)
    opt = make_optimizer("nadam", lr=0.01)
    p = starts.copy()
    for _ in range(100):
        p = opt.step(p, banana.gradient(p))
    np.testing.assert_array_equal(d.positions, p)


def test_add_ball_and_reset(banana):
    d = Descent(banana, "adam", [[-1.5, 2.0]], lr=0.02)
    d.step(20)
    i = d.add_ball((0.5, 0.5))
    assert i == 1 and d.n == 2
    d.step(20)
    assert d.steps.tolist() == [40, 20]
    twin = Descent(banana, "adam", [[0.5, 0.5]], lr=0.02)
    twin.step(20)
    np.testing.assert_allclose(d.positions[1], twin.positions[0], rtol=1e-14)
    d.reset()
    assert d.steps.tolist() == [0, 0]
    np.testing.assert_array_equal(d.positions, [[-1.5, 2.0], [0.5, 0.5]])


def test_newton_descent(banana):
    t = descend(banana, "newton", (-1.2, 1.0), 100)
    assert t.status == "converged"
    np.testing.assert_allclose(t.positions[-1], [1.0, 1.0], atol=1e-6)


def test_race(banana):
    # The one race loop: the app's DescentState, torch's defaults but sgd's lr and momentum.
    r = DescentState(kind="race", race=["gd", "adam", "sgd", "adam"])
    r.hyper["sgd"].update(lr=1e-3, momentum=0.9)
    r.start_run(banana, (-1.5, 2.0))
    r.step(100)
    h = r.history
    assert h.shape == (101, 4)
    assert r.names == ["gd", "adam", "sgd", "adam #2"]
    assert np.isfinite(np.vstack([d.finite_positions() for d in r.descents])).all()
    assert r.descents[0].status[0] == "diverged"
    assert np.isfinite(h[:, 1:]).all()
    # The diverged racer's f ends at the step it left (its last finite value), then NaN:
    # a plot must not draw it as a flat line, as if it had settled there.
    end = int(r.descents[0].stopped_at[0])
    assert 0 < end < 100
    assert np.isfinite(h[: end + 1, 0]).all() and np.isnan(h[end + 1 :, 0]).all()
    assert h[end, 0] == r.descents[0].f[0]
    r.reset()
    assert r.history.shape == (1, 4)


def test_trajectory_formats(banana):
    t = descend(banana, "adam", (-1.5, 2.0), 5, lr=0.1, betas=(0.8, 0.9))
    rows = t.to_rows()
    assert len(rows) == 6 and list(rows[0]) == ["step", "x", "y", "f", "grad_x", "grad_y"]
    lines = t.to_csv().splitlines()
    assert lines[0] == "step,x,y,f,grad_x,grad_y" and len(lines) == 7
    assert float(lines[1].split(",")[1]) == -1.5
    doc = json.loads(t.to_json())
    assert doc["status"] == "max_steps" and doc["end_step"] == 5 and doc["optimizer"] == "adam"
    assert doc["hyperparameters"]["betas"] == [0.8, 0.9]
    assert doc["rows"][0]["x"] == -1.5
    curve = descend(Surface.named("double_well"), "gd", 0.3, 3)
    assert curve.to_csv().splitlines()[0] == "step,x,f,grad"
    assert curve.positions.shape == (4, 1)


def test_bad_input(banana):
    with pytest.raises(UsageError):
        descend(banana, "adam", (1.0,), 10)
    with pytest.raises(UsageError):
        descend(banana, "adam", (1.0, 2.0), -1)
    with pytest.raises(UsageError):
        descend(banana, "adam", (1.0, 2.0), 10, lr=-1)
    with pytest.raises(UsageError):
        Descent(banana, "adam", [[0.0, np.nan]])
    with pytest.raises(UsageError):
        Descent(banana, "adam", [[0.0, 0.0]], trail_length=0)


def test_start_in_a_hole():
    s = Surface.from_expr("log(x) + y^2")
    d = Descent(s, "adam", [[-1.0, 0.0], [1.0, 1.0]])
    assert d.status[0] == "diverged" and d.stopped_at[0] == 0
    d.step(5)
    assert np.isfinite(d.finite_positions()).all()
    with pytest.raises(UsageError, match="not defined"):
        descend(s, "adam", (-1.0, 0.0), 10)


def test_trail_lengths_saturate_and_go_on_after_a_restore_or_a_new_ball():
    # the counts pass is skipped once every trail is full: check it stays right
    surface = Surface.named("banana")
    starts = np.array([[-1.0, 1.0], [0.5, 0.5], [1.0, -0.2]])
    d = Descent(surface, "adam", starts, lr=1e-3, tol=0.0, trail_length=3)
    lengths = []
    for _ in range(5):
        lengths.append(d.trails()[1].tolist())
        d.step()
    assert lengths == [[1] * 3, [2] * 3, [3] * 3, [3] * 3, [3] * 3]
    saved = d.state_dict()
    d.add_ball((0.2, 0.3))
    d.step(2)
    assert d.trails()[1].tolist() == [3, 3, 3, 3]
    assert len(d.trail(3)) == 3
    short = Descent(surface, "adam", starts, lr=1e-3, tol=0.0, trail_length=3)
    short.step()  # trails of 2
    back = Descent(surface, "adam", starts, lr=1e-3, tol=0.0, trail_length=3)
    back.load_state_dict(short.state_dict())
    back.step()
    assert back.trails()[1].tolist() == [3, 3, 3]
    back.load_state_dict(saved)
    back.step()
    assert back.trails()[1].tolist() == [3, 3, 3]
    one = Descent(surface, "adam", starts, lr=1e-3, tol=0.0, trail_length=1)
    one.step(3)
    assert one.trails()[1].tolist() == [1, 1, 1]
    assert np.array_equal(one.trails()[0][:, 0], one.positions)
