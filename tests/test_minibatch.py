"""Mini-batches: epochs, the batch gradient's mean and variance, the descent hook."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import Descent, descend
from gradient_explorer.optim.minibatch import MiniBatches
from gradient_explorer.surfaces.datasets import Dataset
from gradient_explorer.surfaces.model_surface import from_model
from gradient_explorer.surfaces.models import LineLoss, make_model


def _small_line(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2 * x + 1 + rng.normal(size=n)
    return LineLoss(Dataset("small", x[:, None], y, ("x", "y")))


def test_each_epoch_uses_every_example_once():
    mb = MiniBatches(10, 4, seed=3)
    assert mb.per_epoch == 3
    for _epoch in range(3):
        seen = []
        sizes = []
        for _ in range(mb.per_epoch):
            rows = mb.rows([0, 1, 2])
            sizes.append(rows.shape[1])
            seen.append(rows)
            mb.advance()
        assert sizes == [4, 4, 2]  # the last batch is the rest, as DataLoader's
        for ball in range(3):
            assert sorted(np.concatenate([s[ball] for s in seen]).tolist()) == list(range(10))
    # fresh shuffles: ball 0's two epochs differ, and balls differ from each other
    assert not np.array_equal(mb.permutation(0, 0), mb.permutation(0, 1))
    assert not np.array_equal(mb.permutation(0, 0), mb.permutation(1, 0))


def test_a_balls_batches_do_not_depend_on_the_others():
    a, b = MiniBatches(50, 7, seed=9), MiniBatches(50, 7, seed=9)
    for _ in range(20):
        np.testing.assert_array_equal(a.rows([4])[0], b.rows([0, 1, 2, 3, 4, 5])[4])
        a.advance()
        b.advance()
    assert not np.array_equal(MiniBatches(50, 7, 1).rows([0]), MiniBatches(50, 7, 2).rows([0]))


def test_epoch_average_of_batch_gradients_is_the_full_gradient():
    model = _small_line(12)
    p = np.array([[0.3, -0.7], [1.5, 2.0]])
    mb = MiniBatches(12, 4, seed=5)
    total = np.zeros((2, 2))
    for _ in range(mb.per_epoch):
        total += model.gradient(p, mb.rows([0, 1]))
        mb.advance()
    np.testing.assert_allclose(total / mb.per_epoch, model.gradient(p), rtol=1e-12, atol=1e-14)


def _variance_factor(n, b):
    return (n - b) / ((n - 1) * b)


def test_batch_gradient_variance_by_enumeration():
    """Over every batch of B of the N examples (each equally likely without replacement),
    the batch gradient's variance is (N-B)/((N-1)B) times the per-example variance."""
    model = _small_line(7, seed=2)
    p = np.array([0.4, 0.1])
    per = model.per_example_gradients(p)
    pop_var = per.var(axis=0)  # population variance (divide by N)
    for b in (1, 2, 3, 5, 7):
        subsets = np.array(list(itertools.combinations(range(7), b)))
        grads = model.gradient(np.repeat(p[None], len(subsets), 0), subsets)
        np.testing.assert_allclose(grads.mean(0), model.gradient(p), rtol=1e-12)
        np.testing.assert_allclose(
            grads.var(axis=0), _variance_factor(7, b) * pop_var, rtol=1e-10, atol=1e-15
        )


def test_batch_gradient_variance_of_the_shuffles():
    """The batches MiniBatches actually draws have that variance too (many draws)."""
    model = make_model("logistic")
    p = np.array([0.5, -8.0])
    per = model.per_example_gradients(p)
    n, b = model.n, 16
    mb = MiniBatches(n, b, seed=11)
    balls = np.arange(4000)
    grads = model.gradient(np.repeat(p[None], len(balls), 0), mb.rows(balls))
    expect = _variance_factor(n, b) * per.var(axis=0)
    # the sample variance of 4000 draws is within a few percent of its expectation
    np.testing.assert_allclose(grads.var(axis=0, ddof=1), expect, rtol=0.1)
    # on few examples the finite-population factor is far from 1: drawn with replacement
    # the variance would be per.var / B, here almost twice the right one
    small = _small_line(12, seed=6)
    per = small.per_example_gradients(p)
    grads = small.gradient(np.repeat(p[None], 4000, 0), MiniBatches(12, 6, 1).rows(balls))
    measured = grads.var(axis=0, ddof=1)
    np.testing.assert_allclose(measured, _variance_factor(12, 6) * per.var(axis=0), rtol=0.1)
    assert np.all(measured < 0.75 * per.var(axis=0) / 6)


def test_descent_steps_on_batches_and_shows_the_full_loss():
    surf = from_model("line", "diabetes", batch_size=8, seed=4, inputs="standardized")
    d = Descent(surf, "sgd", [(0.0, 0.0), (10.0, 100.0)], lr=0.05)
    full = d.full_gradient()
    assert not np.allclose(d.gradient, full)
    np.testing.assert_allclose(full, surf.model.gradient(d.positions))
    np.testing.assert_allclose(d.f, surf.model.f(d.positions))
    d.step(3)
    np.testing.assert_allclose(d.f, surf.model.f(d.positions))
    rows = MiniBatches(surf.n_examples, 8, 4)
    for _ in range(3):
        rows.advance()
    np.testing.assert_allclose(d.gradient, surf.model.gradient(d.positions, rows.rows([0, 1])))


def test_zero_lr_epoch_average_in_descent():
    """Balls that do not move see, over one epoch, batch gradients averaging to the full."""
    model = _small_line(12)
    surf = from_model(model, batch_size=3, seed=1)
    d = Descent(surf, "gd", [(0.2, 0.3)], lr=0.0, tol=0.0)
    acc = d.gradient.copy()
    for _ in range(3):
        d.step()
        acc += d.gradient
    np.testing.assert_allclose(acc / 4, model.gradient(np.array([[0.2, 0.3]])), rtol=1e-12)


def test_seeded_runs_repeat_and_differ():
    surf = from_model("logistic", batch_size=8, seed=2)
    a = descend(surf, "sgd", (0.0, 0.0), 40, lr=0.01)
    b = descend(surf, "sgd", (0.0, 0.0), 40, lr=0.01)
    np.testing.assert_array_equal(a.positions, b.positions)
    other = from_model("logistic", batch_size=8, seed=3)
    c = descend(other, "sgd", (0.0, 0.0), 40, lr=0.01)
    assert not np.allclose(a.positions, c.positions)
    full = descend(from_model("logistic"), "sgd", (0.0, 0.0), 40, lr=0.01)
    assert not np.allclose(a.positions, full.positions)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True, np.bool_(True), np.float64(4.0)])
def test_bad_batch_sizes_one_check_one_message(bad):
    # the surface and the mini-batches refuse a batch size with the same one line
    with pytest.raises(UsageError) as surface_error:
        from_model("line", batch_size=bad)
    with pytest.raises(UsageError) as batches_error:
        MiniBatches(12, bad)
    assert str(surface_error.value) == str(batches_error.value)
    assert str(surface_error.value) == f"batch size must be a whole number >= 1, got {bad!r}"


@pytest.mark.parametrize("bad", [-1, 2**63, 10**30, 1.5, "3", True, np.bool_(False)])
def test_bad_seeds_one_check_one_message(bad):
    # 2**63 and more: a session could not store it (its reader takes 0 .. 2**63 - 1)
    with pytest.raises(UsageError) as surface_error:
        from_model("line", batch_size=4, seed=bad)
    with pytest.raises(UsageError) as batches_error:
        MiniBatches(12, 4, bad)
    assert str(surface_error.value) == str(batches_error.value)
    assert "seed must be a whole number from 0 to 2**63 - 1" in str(surface_error.value)
    assert "\n" not in str(surface_error.value)


def test_bad_batch_size_is_refused_before_the_model_is_made(monkeypatch):
    from gradient_explorer.surfaces import model_surface

    def train(*args, **kwargs):
        raise AssertionError("the model was made before the batch size was checked")

    monkeypatch.setattr(model_surface, "make_model", train)
    for options in ({"batch_size": 0}, {"seed": -1}):
        with pytest.raises(UsageError):
            from_model("mlp", **options)


def test_largest_seed_and_huge_batch_size_are_taken():
    assert MiniBatches(12, 4, 2**63 - 1).seed == 2**63 - 1
    assert MiniBatches(12, 10**30).batch_size == 12  # larger than the data: one batch
    assert from_model("line", batch_size=10**30, seed=np.int64(2**63 - 1)).batch_size is None


def test_batch_size_of_the_whole_set_is_full_batch():
    surf = from_model("line", batch_size=10_000)
    assert surf.batch_size is None
    assert Descent(surf, "gd", [(0.0, 0.0)]).batches is None
