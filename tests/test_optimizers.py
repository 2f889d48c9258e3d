"""Optimizers: torch.optim agreement, validation, masking, state, phases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.optimizers import OPTIMIZERS, Optimizer, make_optimizer

# Test surfaces as (numpy gradient, torch loss of an (N, 2) tensor); kept here so the
# optimizer tests do not depend on the Surface module.


def _bowl_grad(p):
    return np.stack([2 * p[:, 0], 6 * p[:, 1]], axis=1)


def _bowl_t(x, y):
    return x**2 + 3 * y**2


def _banana_grad(p):
    x, y = p[:, 0], p[:, 1]
    r = y - x * x
    return np.stack([-2 * (1 - x) - 400 * x * r, 200 * r], axis=1)


def _banana_t(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _himmelblau_grad(p):
    x, y = p[:, 0], p[:, 1]
    a = x * x + y - 11
    b = x + y * y - 7
    return np.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], axis=1)


def _himmelblau_t(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _wavy_grad(p):
    x, y = p[:, 0], p[:, 1]
    return np.stack([np.cos(x) * np.cos(y) + 0.2 * x, -np.sin(x) * np.sin(y) + 0.2 * y], axis=1)


def _wavy_t(x, y):
    import torch

    return torch.sin(x) * torch.cos(y) + 0.1 * (x * x + y * y)


SURFACES = {
    "bowl": (_bowl_grad, _bowl_t),
    "banana": (_banana_grad, _banana_t),
    "himmelblau": (_himmelblau_grad, _himmelblau_t),
    "wavy": (_wavy_grad, _wavy_t),
}

STARTS = np.array([[-1.5, 2.0], [0.5, -0.7], [2.2, 1.1], [-0.3, -1.9], [1.0, 1.0]])

# (our name, torch class name, hyperparameters, surfaces) -- non-default settings.
CASES = [
    ("sgd", "SGD", {"lr": 1e-3}, ["bowl", "banana", "himmelblau", "wavy"]),
    (
        "sgd",
        "SGD",
        {"lr": 1e-4, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        ["bowl", "banana", "himmelblau"],
    ),
    (
        "sgd",
        "SGD",
        {"lr": 1e-3, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05},
        ["bowl", "himmelblau", "wavy"],
    ),
    ("sgd", "SGD", {"lr": 1e-3, "momentum": 0.5, "maximize": True}, ["wavy"]),
    ("adagrad", "Adagrad", {"lr": 0.1}, ["bowl", "banana", "himmelblau"]),
    (
        "adagrad",
        "Adagrad",
        {"lr": 0.2, "lr_decay": 0.01, "weight_decay": 0.02, "initial_accumulator_value": 0.1},
        ["banana", "wavy"],
    ),
    ("rmsprop", "RMSprop", {"lr": 1e-2}, ["bowl", "himmelblau", "wavy"]),
    ("rmsprop", "RMSprop", {"lr": 1e-3, "eps": 1e-6}, ["banana"]),
    (
        "rmsprop",
        "RMSprop",
        {"lr": 3e-3, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
        ["bowl", "himmelblau", "wavy"],
    ),
    ("adam", "Adam", {"lr": 1e-2}, ["bowl", "banana", "himmelblau", "wavy"]),
    (
        "adam",
        "Adam",
        {"lr": 2e-2, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.01, "eps": 1e-6},
        ["bowl", "banana", "himmelblau"],
    ),
    ("adamw", "AdamW", {"lr": 1e-2, "weight_decay": 0.1}, ["bowl", "banana", "himmelblau"]),
    ("adamw", "AdamW", {"lr": 1e-2, "amsgrad": True, "maximize": True}, ["wavy"]),
    ("nadam", "NAdam", {"lr": 1e-2}, ["bowl", "banana", "himmelblau"]),
    (
        "nadam",
        "NAdam",
        {"lr": 1e-2, "weight_decay": 0.05, "decoupled_weight_decay": True, "momentum_decay": 0.01},
        ["bowl", "himmelblau", "wavy"],
    ),
    ("nadam", "NAdam", {"lr": 5e-3, "weight_decay": 0.01, "betas": (0.85, 0.95)}, ["banana"]),
    ("adafactor", "Adafactor", {"lr": 1e-2}, ["bowl", "himmelblau", "wavy"]),
    ("adafactor", "Adafactor", {"lr": 2e-3, "maximize": False}, ["banana"]),
    (
        "adafactor",
        "Adafactor",
        {"lr": 0.05, "beta2_decay": -0.6, "eps": (1e-20, 1e-2), "d": 2.0, "weight_decay": 0.01},
        ["bowl", "himmelblau", "wavy"],
    ),
]

STEPS = 300


def _torch_trajectory(torch_name, hyper, surface, starts, steps):
    torch = pytest.importorskip("torch")
    fn = SURFACES[surface][1]
    cls = getattr(torch.optim, torch_name)
    kwargs = dict(hyper)
    if torch_name != "Adafactor":
        kwargs["foreach"] = False  # the single-tensor reference path
    if torch_name == "Adafactor":
        # one vector parameter per ball (Adafactor factors a matrix parameter)
        params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
        opt = cls(params, **kwargs)
        out = np.empty((steps + 1, len(starts), 2))
        out[0] = starts
        for k in range(steps):
            opt.zero_grad()
            loss = sum(fn(q[0], q[1]) for q in params)
            loss.backward()
            opt.step()
            out[k + 1] = np.stack([q.detach().numpy() for q in params])
        return out
    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    out = np.empty((steps + 1, len(starts), 2))
    out[0] = starts
    for k in range(steps):
        opt.zero_grad()
        fn(p[:, 0], p[:, 1]).sum().backward()
        opt.step()
        out[k + 1] = p.detach().numpy()
    return out


def _our_trajectory(name, hyper, surface, starts, steps):
    grad_fn = SURFACES[surface][0]
    opt = make_optimizer(name, **hyper)
    p = np.array(starts, dtype=np.float64)
    out = np.empty((steps + 1, len(starts), 2))
    out[0] = p
    for k in range(steps):
        p = opt.step(p, grad_fn(p))
        out[k + 1] = p
    return out


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "torch_name", "hyper", "surface"),
    [
        pytest.param(n, tn, h, s, id=f"{n}-{i}-{s}")
        for i, (n, tn, h, surfaces) in enumerate(CASES)
        for s in surfaces
    ],
)
def test_matches_torch(name, torch_name, hyper, surface):
    """300 steps from five starts agree with torch to 1e-10 of the position's scale.

    Bitwise equality is out of reach (torch's CPU kernels fuse multiply-adds in their
    vector lanes), so some trajectories -- a ball skimming a ridge, RMSprop's near-sign
    steps around a minimum -- amplify the last-bit differences. Such a ball is one where
    torch disagrees with *itself* started one ulp away; it is left out, and most balls
    in each case must be well-conditioned so the comparison keeps its teeth.
    """
    ours = _our_trajectory(name, hyper, surface, STARTS, STEPS)
    ref = _torch_trajectory(torch_name, hyper, surface, STARTS, STEPS)
    assert np.isfinite(ref).all()
    nudged = _torch_trajectory(torch_name, hyper, surface, STARTS * (1 + 2**-52), STEPS)
    scale = np.maximum(np.abs(ref), 1.0)
    conditioned = (np.abs(nudged - ref) / scale).max(axis=(0, 2)) < 1e-11
    assert conditioned.sum() >= 4, conditioned
    err = (np.abs(ours - ref) / scale).max(axis=(0, 2))
    assert (err[conditioned] < 1e-10).all(), err


@pytest.mark.torch
@pytest.mark.parametrize("name", ["adam", "nadam", "adafactor", "sgd"])
def test_single_ball_matches_torch(name):
    """One ball (the small-N path) follows torch too."""
    torch_name = {"adam": "Adam", "nadam": "NAdam", "adafactor": "Adafactor", "sgd": "SGD"}
    hyper = {"lr": 1e-2} if name != "sgd" else {"lr": 1e-3, "momentum": 0.9}
    start = STARTS[:1]
    ours = _our_trajectory(name, hyper, "himmelblau", start, STEPS)
    ref = _torch_trajectory(torch_name[name], hyper, "himmelblau", start, STEPS)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_masking_matches_torch_grad_none():
    """An inactive ball is skipped like a torch parameter without a gradient."""
    torch = pytest.importorskip("torch")
    starts = STARTS[:3]
    params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
    ref = torch.optim.Adam(params, lr=0.05, foreach=False)
    opt = make_optimizer("adam", lr=0.05)
    p = starts.copy()
    for k in range(60):
        active = np.array([True, k % 3 != 0, k < 30])
        ref.zero_grad()
        for i, q in enumerate(params):
            if active[i]:
                _himmelblau_t(q[0], q[1]).backward()
        ref.step()
        p = opt.step(p, _himmelblau_grad(p), active=active)
    np.testing.assert_allclose(p, np.stack([q.detach().numpy() for q in params]), rtol=1e-10)
    assert opt.steps.tolist() == [60, 40, 30]


@pytest.mark.torch
def test_extend_adds_fresh_balls_like_new_torch_params():
    torch = pytest.importorskip("torch")
    opt = make_optimizer("nadam", lr=0.02)
    p = STARTS[:2].copy()
    for _ in range(25):
        p = opt.step(p, _banana_grad(p))
    opt.extend(1)
    p = np.vstack([p, STARTS[2:3]])
    for _ in range(40):
        p = opt.step(p, _banana_grad(p))
    # the added ball behaves like a fresh torch parameter
    q = torch.tensor(STARTS[2], dtype=torch.float64, requires_grad=True)
    ref = torch.optim.NAdam([q], lr=0.02, foreach=False)
    for _ in range(40):
        ref.zero_grad()
        _banana_t(q[0], q[1]).backward()
        ref.step()
    np.testing.assert_allclose(p[2], q.detach().numpy(), rtol=1e-10)


def test_curves_take_1d_params():
    opt = make_optimizer("adam", lr=0.1)
    x = np.array([1.0, -2.0, 3.0])
    for _ in range(500):
        x = opt.step(x, 2 * x)
    assert x.shape == (3,)
    assert np.abs(x).max() < 0.05
    opt2 = make_optimizer("adafactor", lr=0.1)
    y = opt2.step(np.array([1.0, -2.0]), np.array([2.0, -4.0]))
    assert y.shape == (2,)


def test_gd_is_plain_descent():
    opt = make_optimizer("gd", lr=0.1)
    p = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(opt.step(p, np.array([[2.0, 4.0]])), [[0.8, 1.6]])


def test_newton_solves_a_quadratic_in_one_step():
    opt = make_optimizer("newton")
    p = np.array([[1.0, 2.0], [-3.0, 0.5]])
    h = np.broadcast_to(np.array([[2.0, 0.5], [0.5, 6.0]]), (2, 2, 2))
    g = np.einsum("nij,nj->ni", h, p)
    np.testing.assert_allclose(opt.step(p, g, h), 0.0, atol=1e-12)


def test_newton_moves_away_from_a_saddle_and_survives_singular():
    opt = make_optimizer("newton", damping=0.1)
    # saddle x^2 - y^2 at (0.5, 0.1): gradient (1, -0.2), Hessian diag(2, -2)
    p = np.array([[0.5, 0.1], [0.5, 0.1]])
    g = np.array([[1.0, -0.2], [0.0, 1.0]])
    h = np.array([[[2.0, 0.0], [0.0, -2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    new = opt.step(p, g, h)
    assert new[0, 0] == pytest.approx(0.0)  # the convex axis: the Newton step
    assert new[0, 1] > 0.1  # the concave axis: downhill, away from the saddle
    np.testing.assert_allclose(new[1], [0.5, 0.1 - 1.0 / 0.1])  # singular: damping
    curve = make_optimizer("newton").step(np.array([2.0]), np.array([4.0]), np.array([2.0]))
    np.testing.assert_allclose(curve, [0.0])


def test_newton_needs_hessian():
    with pytest.raises(UsageError):
        make_optimizer("newton").step(np.zeros((1, 2)), np.zeros((1, 2)))


def test_non_finite_gradients_do_not_raise():
    opt = make_optimizer("adam")
    p = opt.step(np.zeros((2, 2)), np.array([[np.inf, 1.0], [np.nan, 1e308]]))
    assert not np.isfinite(p[0]).all()


@pytest.mark.parametrize(
    ("name", "hyper"),
    [
        ("sgd", {"lr": -1.0}),
        ("sgd", {"momentum": -0.1}),
        ("sgd", {"nesterov": True}),
        ("sgd", {"lr": "fast"}),
        ("adam", {"betas": (1.0, 0.999)}),
        ("adam", {"betas": (0.9, -0.1)}),
        ("adam", {"betas": (0.9,)}),
        ("adam", {"eps": -1e-8}),
        ("adam", {"lr": float("nan")}),
        ("adamw", {"weight_decay": -1.0}),
        ("adagrad", {"lr_decay": -1.0}),
        ("adagrad", {"initial_accumulator_value": -1.0}),
        ("rmsprop", {"alpha": -0.5}),
        ("nadam", {"momentum_decay": -1.0}),
        ("adafactor", {"d": 0.5}),
        ("adafactor", {"beta2_decay": 0.5}),
        ("adafactor", {"eps": (None, -1.0)}),
        ("newton", {"damping": 0.0}),
        ("adam", {"momentum": 0.9}),
        ("adam", {"amsgrad": 1}),
    ],
)
def test_bad_hyperparameters_raise_one_line(name, hyper):
    with pytest.raises(UsageError) as info:
        make_optimizer(name, **hyper)
    assert "\n" not in str(info.value)
    assert str(info.value)


def test_unknown_optimizer():
    with pytest.raises(UsageError, match="unknown optimizer"):
        make_optimizer("lbfgs")


def test_registry_defaults_match_torch():
    torch = pytest.importorskip("torch")
    import inspect

    names = {
        "sgd": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "nadam": torch.optim.NAdam,
        "adafactor": torch.optim.Adafactor,
    }
    for name, cls in names.items():
        sig = inspect.signature(cls.__init__).parameters
        for key, value in OPTIMIZERS[name].defaults.items():
            assert key in sig, (name, key)
            assert sig[key].default == value, (name, key)


def test_registry_entries():
    assert set(OPTIMIZERS) == {
        "gd",
        "sgd",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "nadam",
        "adafactor",
        "newton",
    }
    for name, spec in OPTIMIZERS.items():
        assert spec.name == name
        assert issubclass(spec.cls, Optimizer)
        assert spec.description.endswith(".") and "\n" not in spec.description
        opt = spec.create()
        assert opt.hyper == spec.defaults
        for key, (lo, hi, _log) in spec.ranges.items():
            assert lo is not None and hi is not None and lo < hi, (name, key)


# (velocity buffer, second-moment buffer) that the glyphs show, at default settings
GLYPH_BUFFERS = {
    "gd": (None, None),
    "sgd": (None, None),
    "adagrad": (None, "sum"),
    "rmsprop": (None, "square_avg"),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "nadam": ("exp_avg", "exp_avg_sq"),
    "adafactor": (None, "variance"),
    "newton": (None, None),
}


def test_glyph_table_covers_every_optimizer():
    assert set(GLYPH_BUFFERS) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_phases_and_state(name):
    opt = make_optimizer(name)
    phases = opt.explain_phases()
    assert phases and all(p.sentence and p.vector is None for p in phases)
    p = np.array([[1.0, 2.0], [0.5, -1.0]])
    g = 2 * p
    h = np.broadcast_to(2 * np.eye(2), (2, 2, 2))
    twin = make_optimizer(name)
    new, steps = opt.step_explained(p, g, h)
    np.testing.assert_allclose(new, twin.step(p, g, h), rtol=1e-14)
    names = [s.name for s in steps]
    assert names[0] == "gradient" and names[-1] == "step"
    np.testing.assert_allclose(steps[-1].vector, new - p, rtol=1e-12, atol=1e-15)
    for s in steps:
        assert s.vector.shape == (2, 2) and s.sentence
    # what the glyphs draw: the velocity and second-moment buffers each optimizer keeps
    # at its defaults (torch's SGD and RMSprop keep no velocity at momentum 0)
    expected = GLYPH_BUFFERS[name]
    glyphs = opt.glyphs()
    for key, buffer in zip(("velocity", "second_moment"), expected, strict=True):
        if buffer is None:
            assert glyphs[key] is None, (name, key)
        else:
            assert glyphs[key] is opt.state[buffer] and glyphs[key].shape == (2, 2)
            assert np.abs(glyphs[key]).max() > 0, (name, key)  # a step has filled it
    opt.reset()
    assert opt.state == {} and opt.step_count == 0


def test_reset_restarts_the_trajectory():
    opt = make_optimizer("adam", lr=0.05)
    p0 = STARTS.copy()
    p = p0
    for _ in range(10):
        p = opt.step(p, _banana_grad(p))
    opt.reset()
    q = p0
    twin = make_optimizer("adam", lr=0.05)
    r = p0
    for _ in range(10):
        q = opt.step(q, _banana_grad(q))
        r = twin.step(r, _banana_grad(r))
    np.testing.assert_array_equal(q, r)


def test_state_shape_mismatch_is_a_usage_error():
    opt = make_optimizer("adam")
    opt.step(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(UsageError, match="reset"):
        opt.step(np.zeros((4, 2)), np.ones((4, 2)))


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "adafactor"]),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_balls_are_independent(name, n, seed):
    """A batch of balls moves exactly like each ball on its own."""
    rng = np.random.default_rng(seed)
    starts = rng.uniform(-2, 2, size=(n, 2))
    batch = make_optimizer(name, lr=0.01)
    singles = [make_optimizer(name, lr=0.01) for _ in range(n)]
    p = starts.copy()
    q = [starts[i : i + 1].copy() for i in range(n)]
    for _ in range(20):
        p = batch.step(p, _himmelblau_grad(p))
        q = [o.step(x, _himmelblau_grad(x)) for o, x in zip(singles, q, strict=True)]
    np.testing.assert_allclose(p, np.vstack(q), rtol=1e-13, atol=1e-15)


# (our name, torch class, phases): each phase is (steps, hyperparameters set before it);
# the first phase's settings build the optimizer, later ones change its param_group.
CHANGES = [
    ("sgd", "SGD", [(30, {"lr": 1e-3, "momentum": 0.9}), (30, {"lr": 3e-3, "momentum": 0.5})]),
    # momentum turned on mid-run: torch's buffer is None and starts as the next gradient
    ("sgd", "SGD", [(20, {"lr": 1e-3}), (30, {"momentum": 0.8, "dampening": 0.3})]),
    # turned off, then on again: the kept buffer is used again
    (
        "sgd",
        "SGD",
        [(15, {"lr": 1e-3, "momentum": 0.9}), (15, {"momentum": 0.0}), (15, {"momentum": 0.7})],
    ),
    ("adagrad", "Adagrad", [(25, {"lr": 0.1}), (25, {"lr": 0.3, "lr_decay": 0.01})]),
    (
        "rmsprop",
        "RMSprop",
        [(25, {"lr": 1e-2, "momentum": 0.5, "centered": True}), (25, {"lr": 3e-3, "alpha": 0.9})],
    ),
    (
        "adam",
        "Adam",
        [
            (25, {"lr": 1e-2}),
            (25, {"lr": 3e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
        ],
    ),
    (
        "adam",
        "Adam",
        [
            (15, {"lr": 5e-2, "amsgrad": True, "betas": (0.9, 0.5)}),
            (15, {"amsgrad": False}),
            (15, {"amsgrad": True}),
        ],
    ),
    ("adamw", "AdamW", [(25, {"lr": 1e-2}), (25, {"lr": 5e-3, "weight_decay": 0.2})]),
    (
        "nadam",
        "NAdam",
        [(25, {"lr": 1e-2}), (25, {"lr": 2e-2, "momentum_decay": 0.01, "betas": (0.8, 0.99)})],
    ),
    ("adafactor", "Adafactor", [(25, {"lr": 1e-2}), (25, {"lr": 3e-2, "d": 2.0})]),
]


def _torch_with_changes(torch_name, phases, surface, starts):
    torch = pytest.importorskip("torch")
    fn = SURFACES[surface][1]
    cls = getattr(torch.optim, torch_name)
    first = dict(phases[0][1])
    if torch_name == "Adafactor":
        params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
    else:
        params = [torch.tensor(starts, dtype=torch.float64, requires_grad=True)]
        first["foreach"] = False
    opt = cls(params, **first)
    out = [np.array(starts, dtype=np.float64)]
    for i, (steps, changes) in enumerate(phases):
        if i:
            opt.param_groups[0].update(changes)  # what a scheduler does
        for _ in range(steps):
            opt.zero_grad()
            if torch_name == "Adafactor":
                sum(fn(q[0], q[1]) for q in params).backward()
            else:
                fn(params[0][:, 0], params[0][:, 1]).sum().backward()
            opt.step()
            out.append(np.stack([q.detach().numpy() for q in params]).reshape(len(starts), 2))
    return np.array(out)


def _ours_with_changes(name, phases, surface, starts):
    grad_fn = SURFACES[surface][0]
    opt = make_optimizer(name, **phases[0][1])
    p = np.array(starts, dtype=np.float64)
    out = [p]
    for i, (steps, changes) in enumerate(phases):
        if i:
            opt.set_hyper(**changes)
        for _ in range(steps):
            p = opt.step(p, grad_fn(p))
            out.append(p)
    return np.array(out)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "torch_name", "phases"),
    [pytest.param(n, t, ph, id=f"{n}-{i}") for i, (n, t, ph) in enumerate(CHANGES)],
)
@pytest.mark.parametrize("starts", ["one ball", "five balls"])
def test_hyperparameters_changed_mid_run_follow_torch_param_groups(
    name, torch_name, phases, starts
):
    """k steps, then the param_group's values changed, then more: the same trajectory."""
    points = STARTS[:1] if starts == "one ball" else STARTS
    ours = _ours_with_changes(name, phases, "bowl", points)
    ref = _torch_with_changes(torch_name, phases, "bowl", points)
    assert ours.shape == ref.shape == (1 + sum(k for k, _ in phases), len(points), 2)
    err = np.abs(ours - ref) / np.maximum(np.abs(ref), 1.0)
    assert err.max() < 1e-12, err.max(axis=(1, 2))
    # and the change mattered: a run without it goes elsewhere
    same = _ours_with_changes(name, [(len(ours) - 1, phases[0][1])], "bowl", points)
    k = phases[0][0]
    assert np.array_equal(same[: k + 1], ours[: k + 1])
    assert not np.allclose(same[-1], ours[-1], rtol=0, atol=1e-9)


def test_set_hyper_keeps_positions_steps_and_state_and_refuses_bad_values():
    opt = make_optimizer("rmsprop", lr=1e-2)
    p = opt.step(STARTS, _bowl_grad(STARTS))
    square_avg = opt.state["square_avg"].copy()
    with pytest.raises(UsageError, match="momentum"):
        opt.set_hyper(momentum=-1.0)
    assert opt.hyper["momentum"] == 0.0 and set(opt.state) == {"square_avg"}
    # a buffer torch would not have (it raises KeyError) starts at zero, as on step 1
    opt.set_hyper(momentum=0.5, centered=True)
    assert np.array_equal(opt.state["square_avg"], square_avg)
    assert opt.steps.tolist() == [1] * 5
    assert not opt.state["momentum_buffer"].any() and not opt.state["grad_avg"].any()
    opt.step(p, _bowl_grad(p))
    assert opt.state["momentum_buffer"].any() and opt.steps.tolist() == [2] * 5


def test_extend_after_a_setting_change_keeps_every_buffer_the_same_length():
    opt = make_optimizer("sgd", lr=1e-3, momentum=0.9)
    p = opt.step(STARTS, _bowl_grad(STARTS))
    opt.set_hyper(momentum=0.0)  # the buffer is kept, unused
    assert opt.glyphs()["velocity"] is None
    opt.extend(2)
    assert opt.state["momentum_buffer"].shape == (7, 2)
    q = np.vstack([p, [[0.1, 0.2], [0.3, 0.4]]])
    opt.set_hyper(momentum=0.5)
    assert opt.step(q, _bowl_grad(q)).shape == (7, 2)
    assert opt.glyphs()["velocity"].shape == (7, 2)


def test_state_keys_name_every_buffer_any_setting_makes():
    for name, spec in OPTIMIZERS.items():
        bools = [h.name for h in spec.hyperparameters if h.kind == "bool"]
        for on in (False, True):
            hyper = {b: on for b in bools if b != "nesterov"}
            if "momentum" in spec.defaults:
                hyper["momentum"] = 0.5 if on else 0.0
            opt = make_optimizer(name, **hyper)
            assert set(opt._init_state(1, 2)) <= set(opt.state_keys), (name, hyper)


@pytest.mark.parametrize(
    "hyper",
    [
        {"lr": 0.05},
        {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1},
        {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1, "maximize": True},
        {"lr": 0.3, "betas": (0.2, 0.5), "eps": 1e-3},  # lerp's other branch (1 - beta1 > 0.5)
    ],
)
def test_adam_on_python_floats_equals_adam_on_arrays(hyper, rng):
    # One ball takes Adam's Python-float path; the same ball among many takes numpy's.
    # The rule is written once for both, so the two agree bit for bit.
    few = make_optimizer("adam", **hyper)
    many = make_optimizer("adam", **hyper)
    p_few = rng.normal(size=(1, 2))
    p_many = np.vstack([p_few, rng.normal(size=(9, 2))])
    for _ in range(25):
        g = rng.normal(size=(10, 2))
        p_few = few.step(p_few, g[:1])
        p_many = many.step(p_many, g)
    assert np.array_equal(p_few, p_many[:1])
    for key, value in few.state.items():
        assert np.array_equal(value, many.state[key][:1]), key
