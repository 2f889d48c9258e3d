"""Batched descend: N balls at once follow, to the bit, the N paths of single runs."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import Trajectories, Trajectory, descend
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.surfaces.surface import Surface

# hyperparameters that make some balls converge, some diverge and some run out of steps
HYPER = {"gd": {"lr": 0.02}, "sgd": {"lr": 0.02, "momentum": 0.9}, "newton": {}}


def _assert_same(single: Trajectory, one: Trajectory) -> None:
    assert one.status == single.status and one.end_step == single.end_step
    for key in ("positions", "f", "gradient"):
        assert np.array_equal(getattr(one, key), getattr(single, key)), key


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize(
    ("surface", "n"), [("banana", 12), ("ackley", 11), ("beale", 3), ("double_well", 10)]
)
def test_batched_equals_single_runs(name, surface, n, rng):
    s = Surface.named(surface)
    lo, hi = np.array(s.domain).T
    starts = rng.uniform(lo, hi, size=(n, s.dim))
    hyper = HYPER.get(name, {"lr": 0.05})
    batch = descend(s, name, starts, 60, **hyper)
    assert isinstance(batch, Trajectories)
    assert batch.positions.shape == (61, n, s.dim) and batch.f.shape == (61, n)
    assert batch.status.shape == (n,)
    for i in range(n):
        start = starts[i] if s.dim == 2 else starts[i, 0]
        single = descend(s, name, start, 60, **hyper)
        _assert_same(single, batch.trajectory(i))
        # a stopped ball stays where it stopped
        rows = int(batch.steps[i]) + 1
        assert np.array_equal(
            batch.positions[rows:, i],
            np.broadcast_to(single.positions[-1], batch.positions[rows:, i].shape),
        )


def test_batch_shows_every_ending():
    banana = Surface.named("banana")
    starts = np.array([[-1.5, 2.0], [1.0, 1.0], [0.0, 0.0]])
    batch = descend(banana, "sgd", starts, 300, lr=0.05)
    assert list(batch.status) == ["diverged", "converged", "diverged"]
    # a diverged ball ends at its last finite point, one step before the one that left
    assert (batch.steps[[0, 2]] == batch.end_step[[0, 2]] - 1).all()
    assert np.isfinite(batch.positions).all()
    slow = descend(banana, "adam", starts, 300, lr=1e-3)
    assert list(slow.status) == ["max_steps", "converged", "max_steps"]
    assert slow.end_step.tolist() == [300, 0, 300]


def test_one_row_batch_and_curve_starts():
    bowl = Surface.named("bowl")
    batch = descend(bowl, "adam", np.array([[1.0, -1.0]]), 5, lr=0.1)
    assert batch.positions.shape == (6, 1, 2)
    single = descend(bowl, "adam", (1.0, -1.0), 5, lr=0.1)
    assert isinstance(single, Trajectory) and single.positions.shape == (6, 2)
    _assert_same(single, batch.trajectory(0))
    curve = Surface.named("double_well")
    paths = descend(curve, "gd", [0.5, -0.7, 1.2], 4, lr=0.01)
    assert paths.positions.shape == (5, 3, 1)


def test_a_start_in_a_hole_diverges_at_step_zero_in_a_batch():
    s = Surface.from_expr("log(x) + y^2", domain=((-1, 2), (-1, 1)), timeout=None)
    batch = descend(s, "adam", [[-0.5, 0.5], [1.0, 0.5]], 3, lr=0.01)
    assert list(batch.status) == ["diverged", "max_steps"]
    assert batch.end_step.tolist() == [0, 3]
    with pytest.raises(UsageError):
        descend(s, "adam", (-0.5, 0.5), 3)


def test_bad_batched_starts():
    with pytest.raises(UsageError):
        descend(Surface.named("banana"), "adam", np.zeros((4, 3)), 3)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_many_balls_in_blocks_follow_the_single_paths(name, rng, monkeypatch):
    # many balls step block by block (cache-sized); a tiny block makes 12 balls do it
    from gradient_explorer.optim import descent

    monkeypatch.setattr(descent, "BLOCK", 5)
    s = Surface.named("six_hump_camel")
    lo, hi = np.array(s.domain).T
    starts = rng.uniform(lo, hi, size=(12, 2))
    hyper = HYPER.get(name, {"lr": 0.05})
    batch = descend(s, name, starts, 40, **hyper)
    for i in range(12):
        _assert_same(descend(s, name, starts[i], 40, **hyper), batch.trajectory(i))
