"""Learning-rate schedules: torch.optim.lr_scheduler agreement, parsing, the descent hook."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import Descent, descend
from gradient_explorer.optim.schedules import (
    Cosine,
    Exponential,
    StepDecay,
    WarmupCosine,
    parse_schedule,
)
from gradient_explorer.surfaces.surface import Surface

STEPS = 300
SPECS = ("step:40", "step:25:0.5", "exponential:0.99", "cosine:300", "cosine:120:0.001")


def _torch_scheduler(torch, opt, spec: str):
    sched = torch.optim.lr_scheduler
    kind, *args = spec.split(":")
    if kind == "step":
        gamma = float(args[1]) if len(args) > 1 else 0.1
        return sched.StepLR(opt, int(args[0]), gamma)
    if kind == "exponential":
        return sched.ExponentialLR(opt, float(args[0]))
    if kind == "cosine":
        eta = float(args[1]) if len(args) > 1 else 0.0
        return sched.CosineAnnealingLR(opt, int(args[0]), eta)
    warm, t_max = int(args[0]), int(args[1])

    def factor(t):  # the documented formula, written out independently
        if t < warm:
            return t / warm
        if t >= t_max:
            return 0.0
        return 0.5 * (1 + math.cos(math.pi * (t - warm) / (t_max - warm)))

    return sched.LambdaLR(opt, factor)


def _banana_t(q):
    return (1 - q[0]) ** 2 + 10 * (q[1] - q[0] ** 2) ** 2


def _torch_path(spec, torch_name, hyper, start, steps):
    torch = pytest.importorskip("torch")
    q = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, torch_name)([q], foreach=False, **hyper)
    sch = _torch_scheduler(torch, opt, spec)
    path, rates = [q.detach().numpy().copy()], []
    for _ in range(steps):
        opt.zero_grad()
        _banana_t(q).backward()
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
        path.append(q.detach().numpy().copy())
    return np.array(path), np.array(rates)


@pytest.mark.torch
@pytest.mark.parametrize("spec", [*SPECS, "warmup_cosine:30:300", "warmup_cosine:0:50"])
def test_rates_match_torch(spec):
    """The rate before each of 300 steps equals torch's scheduler's (recursive forms kept)."""
    torch = pytest.importorskip("torch")
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([q], lr=0.3)
    sch = _torch_scheduler(torch, opt, spec)
    ref = []
    for _ in range(STEPS):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    ours = parse_schedule(spec, 0.3).rates(STEPS)
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=1e-300)


@pytest.mark.torch
def test_warmup_cosine_matches_linear_then_cosine():
    """The same rates as SequentialLR(LinearLR from ~0, CosineAnnealingLR) up to T_MAX."""
    torch = pytest.importorskip("torch")
    sched = torch.optim.lr_scheduler
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([q], lr=0.5)
    warm, t_max = 20, 200
    tiny = 1e-12
    a = sched.LinearLR(opt, start_factor=tiny, end_factor=1.0, total_iters=warm)
    b = sched.CosineAnnealingLR(opt, T_max=t_max - warm)
    seq = sched.SequentialLR(opt, [a, b], milestones=[warm])
    ref = []
    for _ in range(t_max + 1):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        seq.step()
    ours = WarmupCosine(warm, t_max, base_lr=0.5).rates(t_max + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "torch_name", "hyper"),
    [
        ("sgd", "SGD", {"lr": 1e-3}),
        ("sgd", "SGD", {"lr": 1e-3, "momentum": 0.9}),
        ("adam", "Adam", {"lr": 0.05}),
        ("rmsprop", "RMSprop", {"lr": 0.01}),
        ("adagrad", "Adagrad", {"lr": 0.3}),
        ("adamw", "AdamW", {"lr": 0.05}),
        ("nadam", "NAdam", {"lr": 0.05}),
    ],
)
@pytest.mark.parametrize("spec", [*SPECS, "warmup_cosine:30:300"])
def test_trajectory_matches_torch(name, torch_name, hyper, spec):
    """300 steps on the banana with a schedule follow torch's optimizer + scheduler."""
    start = np.array([-1.2, 1.0])
    ref, rates = _torch_path(spec, torch_name, hyper, start, STEPS)
    banana = Surface.from_expr("(1 - x)^2 + 10*(y - x^2)^2")
    traj = descend(banana, name, start, STEPS, tol=0.0, far=1e9, schedule=spec, **hyper)
    assert traj.status == "max_steps"
    np.testing.assert_allclose(traj.lr, rates, rtol=1e-14)
    np.testing.assert_allclose(traj.positions, ref, rtol=1e-10, atol=1e-10)


def test_schedule_changes_the_path():
    """A schedule that decays the rate really slows the ball (not ignored)."""
    bowl = Surface.from_expr("x^2 + y^2")
    plain = descend(bowl, "gd", (2.0, 1.0), 20, tol=0.0, lr=0.1)
    decayed = descend(bowl, "gd", (2.0, 1.0), 20, tol=0.0, lr=0.1, schedule="exponential:0.5")
    assert np.linalg.norm(decayed.positions[-1]) > np.linalg.norm(plain.positions[-1]) * 10
    # gd on x^2: x_{k+1} = x_k (1 - 2 lr_k), with lr_k = 0.1 * 0.5^k
    expect = 2.0 * np.prod([1 - 2 * 0.1 * 0.5**k for k in range(20)])
    assert decayed.positions[-1, 0] == pytest.approx(expect, rel=1e-12)
    assert decayed.hyperparameters["lr"] == 0.1


def test_descent_reset_restarts_the_schedule():
    bowl = Surface.from_expr("x^2 + y^2")
    d = Descent(bowl, "sgd", [(1.0, 1.0)], lr=0.1, schedule="step:2:0.5", tol=0.0)
    d.step(5)
    assert d.lr == pytest.approx(0.1 * 0.25)
    first = d.positions.copy()
    d.reset()
    assert d.lr == 0.1
    d.step(5)
    np.testing.assert_array_equal(d.positions, first)
    d.set_schedule(None)
    assert d.lr == 0.1 and d.optimizer.hyper["lr"] == 0.1


def test_cosine_restarts_like_torch_after_t_max():
    rates = Cosine(10, base_lr=1.0).rates(31)
    assert rates[10] == pytest.approx(0.0, abs=1e-15)
    assert rates[20] == pytest.approx(1.0)
    assert rates[30] == pytest.approx(0.0, abs=1e-12)


def test_closed_forms():
    np.testing.assert_allclose(Exponential(0.9, base_lr=2).rates(5), 2 * 0.9 ** np.arange(5))
    np.testing.assert_allclose(
        StepDecay(3, 0.5, base_lr=1).rates(7), [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    )
    w = WarmupCosine(4, 8, base_lr=1).rates(10)
    np.testing.assert_allclose(w[:5], [0, 0.25, 0.5, 0.75, 1.0])
    assert w[8] == 0.0 and w[9] == 0.0


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("", "unknown schedule"),
        ("linear:3", "unknown schedule"),
        ("step", "has 0 values"),
        ("step:10:0.5:3", "has 3 values"),
        ("step:ten", "whole number"),
        ("step:0", ">= 1"),
        ("step:2.5", "whole number"),
        ("exponential:abc", "must be a number"),
        ("exponential:nan", "finite"),
        ("exponential:-1", ">= 0"),
        ("cosine:100:-0.1", ">= 0"),
        ("warmup_cosine:10", "has 1 values"),
        ("warmup_cosine:50:50", "larger than WARMUP"),
        ("warmup_cosine:-1:50", ">= 0"),
    ],
)
def test_bad_specs_get_one_line_errors(spec, needle):
    with pytest.raises(UsageError) as err:
        parse_schedule(spec, 0.1)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_spec_round_trips():
    for spec in ("step:40:0.1", "exponential:0.99", "cosine:300:0", "warmup_cosine:30:300"):
        assert parse_schedule(parse_schedule(spec).spec).spec == parse_schedule(spec).spec
    assert parse_schedule(" Cosine : 10 ").t_max == 10


def test_cli_descend_schedule(capsys):
    import json

    from gradient_explorer.cli import main

    code = main(
        "descend --expr x^2+y^2 --optimizer gd --lr 0.1 --start 1,1 --steps 5 --tol 0 "
        "--schedule step:2:0.5 --format json".split()
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schedule"] == "step:2:0.5"
    assert doc["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]
    bad = "descend --expr x^2 --optimizer gd --start 1 --steps 5 --schedule cos:3"
    assert main(bad.split()) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown schedule" in err and "\n" not in err


def test_app_descent_state_schedule():
    from gradient_explorer.app.descent_mode import DescentState

    bowl = Surface.from_expr("x^2 + y^2")
    ds = DescentState(kind="race", race=["gd", "adam"])
    ds.hyper["gd"]["lr"] = 0.1
    assert ds.set_schedule("step:2:0.5") is None
    ds.start_run(bowl, (1.0, 1.0))
    ds.step(4)
    rates = ds.lr_history
    assert rates.shape == (4, 2)
    np.testing.assert_allclose(rates[:, 0], [0.1, 0.1, 0.05, 0.05])
    # the lr slider during a scheduled run: the schedule takes the new base, keeps its step
    assert ds.set_hyper("gd", "lr", 0.4) is None
    assert ds.descents[0].lr == pytest.approx(0.4 * 0.25)
    assert "unknown schedule" in ds.set_schedule("linear:3")
    assert ds.schedule == "step:2:0.5"
    assert ds.set_schedule("constant") is None
    assert ds.descents[0].lr == pytest.approx(0.4)
    ds.step(1)
    assert ds.lr_history[-1, 0] == pytest.approx(0.4)


def test_step_by_step_shows_the_scheduled_rate():
    from gradient_explorer.app.descent_mode import DescentState

    bowl = Surface.from_expr("x^2 + y^2")
    ds = DescentState(optimizer="gd", schedule="exponential:0.5")
    ds.hyper["gd"]["lr"] = 0.1
    ds.start_run(bowl, (1.0, 0.0))
    ds.step(2)  # the next step's rate is 0.025
    before = ds.descents[0].positions.copy()
    ds.step_by_step = True
    phase = ds.next_phase()
    while phase is not None and phase.name != "step":
        phase = ds.next_phase()
    np.testing.assert_allclose(phase.vectors[0][0], -0.025 * 2 * before[0], rtol=1e-12)
