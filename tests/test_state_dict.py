"""state_dict() / load_state_dict() in the manner of torch.optim: saving a stateful part
and loading it into a fresh one continues exactly as if nothing had happened, and a bad
dict is refused with one line naming the key, changing nothing."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import numpy as np
import pytest

import gradient_explorer
from gradient_explorer.app.curve_mode import CurveState
from gradient_explorer.app.descent_mode import DescentState
from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import Descent
from gradient_explorer.optim.optimizers import OPTIMIZERS, make_optimizer
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.camera import OrbitCamera

#: Settings that use every buffer an optimizer has (momentum, centred, amsgrad ...).
BUSY = {
    "gd": {"lr": 0.01},
    "sgd": {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "adam": {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.05, "amsgrad": True},
    "nadam": {"lr": 0.05, "weight_decay": 0.01},
    "adafactor": {"lr": 0.05},
    "newton": {"lr": 0.5},
}


@pytest.fixture(scope="module")
def surface():
    return Surface.from_expr("(x^2 + 5*y^2)/2 + sin(x)/4", domain=((-2, 2), (-2, 2)))


@pytest.fixture(scope="module")
def curve():
    return Surface.from_expr("x^4/4 - x^2 + x/3", domain=((-2.5, 2.5),))


def _same(a, b) -> bool:
    """Equal arrays, NaN where NaN (bit for bit on float64)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _same_optimizer(o1, o2) -> None:
    assert o1.hyper == o2.hyper
    assert _same(o1.steps, o2.steps)
    assert set(o1.state) == set(o2.state)
    for key in o1.state:
        assert _same(o1.state[key], o2.state[key]), key


def test_every_optimizer_is_covered():
    assert set(BUSY) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_round_trip_continues_exactly(name, rng):
    # Steps on a quadratic bowl's gradient (and Hessian), 5 balls in 2D; some balls masked.
    hess = np.tile(np.diag([1.0, 4.0]), (5, 1, 1))

    def run(opt, p, steps, start):
        for t in range(start, start + steps):
            active = None if t % 3 else np.array([True, False, True, True, False])
            p = opt.step(p, p * np.array([1.0, 4.0]), hess, active)
        return p

    p0 = rng.normal(size=(5, 2))
    whole = make_optimizer(name, **BUSY[name])
    expected = run(whole, p0, 12, 0)
    first = make_optimizer(name, **BUSY[name])
    middle = run(first, p0, 7, 0)
    saved = first.state_dict()
    fresh = make_optimizer(name)  # default hyperparameters: the dict brings the saved ones
    fresh.load_state_dict(saved)
    got = run(fresh, middle, 5, 7)
    assert _same(got, expected)
    _same_optimizer(fresh, whole)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_dict_is_a_copy(name, rng):
    opt = make_optimizer(name, **BUSY[name])
    p = opt.step(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), np.tile(np.eye(2), (3, 1, 1)))
    saved = opt.state_dict()
    kept = copy.deepcopy(saved)
    opt.step(p, rng.normal(size=(3, 2)), np.tile(np.eye(2), (3, 1, 1)))
    assert _same(saved["steps"], kept["steps"])
    for key in kept["state"]:
        assert _same(saved["state"][key], kept["state"][key])


def test_optimizer_before_its_first_step_round_trips():
    opt = make_optimizer("adam", lr=0.2)
    saved = opt.state_dict()
    assert saved["shape"] is None and saved["state"] == {} and saved["steps"].size == 0
    fresh = make_optimizer("adam")
    fresh.load_state_dict(saved)
    assert fresh.hyper["lr"] == 0.2 and fresh.state_dict()["shape"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(colour=1), "unknown key 'colour'"),
        (lambda s: s.pop("steps"), "missing key 'steps'"),
        (lambda s: s["state"].pop("exp_avg"), "check 'exp_avg'"),
        (lambda s: s["state"].update(momentum_buffer=np.zeros((4, 2))), "'momentum_buffer'"),
        (lambda s: s["state"].update(exp_avg=np.zeros((3, 2))), "buffer 'exp_avg' must be"),
        (lambda s: s["state"].update(exp_avg=np.zeros((4, 2), np.float32)), "float64"),
        (lambda s: s.update(steps=np.zeros(3, np.int64)), "'steps' must be 4"),
        (lambda s: s.update(shape=(4,)), "'shape' must be"),
        (lambda s: s.update(hyper={"lr": -1.0}), "Invalid learning rate"),
    ],
)
def test_optimizer_refuses_a_bad_dict_and_changes_nothing(change, message):
    opt = make_optimizer("adam", lr=0.1)
    opt.step(np.ones((4, 2)), np.ones((4, 2)))
    saved = opt.state_dict()
    change(saved)
    target = make_optimizer("adam", lr=0.3)
    target.step(np.ones((2, 2)), np.ones((2, 2)))
    before = target.state_dict()
    with pytest.raises(UsageError, match=message) as info:
        target.load_state_dict(saved)
    assert "\n" not in str(info.value)
    after = target.state_dict()
    assert after["hyper"] == before["hyper"] and after["shape"] == before["shape"]
    assert _same(after["steps"], before["steps"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_descent_round_trip_continues_exactly(name, surface):
    starts = [(-1.5, 1.2), (1.0, -1.4), (0.3, 0.9)]
    whole = Descent(surface, make_optimizer(name, **BUSY[name]), starts, trail_length=16)
    whole.step(40)
    first = Descent(surface, make_optimizer(name, **BUSY[name]), starts, trail_length=16)
    first.step(25)
    saved = first.state_dict()
    fresh = Descent(surface, make_optimizer(name), [(0.0, 0.0)], trail_length=16)
    fresh.load_state_dict(saved)
    fresh.step(15)
    for key in ("positions", "status_codes", "steps", "stopped_at", "f", "gradient"):
        assert _same(getattr(fresh, key), getattr(whole, key)), key
    assert _same(fresh.starts, whole.starts)
    for i in range(whole.n):
        assert _same(fresh.trail(i), whole.trail(i))
    assert _same(fresh.trails()[1], whole.trails()[1])
    _same_optimizer(fresh.optimizer, whole.optimizer)


def test_descent_round_trip_on_a_curve_with_an_added_ball(curve):
    whole = Descent(curve, make_optimizer("sgd", lr=0.05, momentum=0.8), [-2.0, 2.0])
    whole.step(5)
    whole.add_ball([0.5])
    whole.step(10)
    first = Descent(curve, make_optimizer("sgd", lr=0.05, momentum=0.8), [-2.0, 2.0])
    first.step(5)
    first.add_ball([0.5])
    first.step(4)
    fresh = Descent(curve, make_optimizer("sgd", lr=0.05, momentum=0.8), [1.0])
    fresh.load_state_dict(first.state_dict())
    fresh.step(6)
    assert _same(fresh.positions, whole.positions) and _same(fresh.steps, whole.steps)
    assert _same(fresh.trails()[0], whole.trails()[0])
    _same_optimizer(fresh.optimizer, whole.optimizer)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(extra=1), "unknown key 'extra'"),
        (lambda s: s.pop("trails"), "missing key 'trails'"),
        (lambda s: s.update(positions=np.zeros((2, 2))), "'positions' must have shape"),
        (lambda s: s["positions"].__setitem__((0, 0), np.nan), "'positions' must be finite"),
        (lambda s: s.update(status=["running", "lost", "running"]), "'status' must be"),
        (lambda s: s["stopped_at"].__setitem__(0, 4), "'stopped_at' must be -1"),
        (lambda s: s["trails"].__setitem__(0, np.zeros((600, 2))), r"'trails'\[0\]"),
        (lambda s: s["optimizer"]["state"].pop("exp_avg_sq"), "check 'exp_avg_sq'"),
    ],
)
def test_descent_refuses_a_bad_dict_and_changes_nothing(change, message, surface):
    d = Descent(surface, "adam", [(-1.0, 1.0), (1.0, 1.0), (0.5, -1.0)], trail_length=32, lr=0.1)
    d.step(3)
    saved = d.state_dict()
    change(saved)
    target = Descent(surface, "adam", [(0.2, 0.2)], lr=0.1)
    target.step(2)
    before = target.state_dict()
    with pytest.raises(UsageError, match=message) as info:
        target.load_state_dict(saved)
    assert "\n" not in str(info.value)
    after = target.state_dict()
    for key in ("starts", "positions", "steps", "stopped_at"):
        assert _same(after[key], before[key])
    assert _same(after["optimizer"]["steps"], before["optimizer"]["steps"])


@pytest.mark.parametrize("kind", ["single", "race", "swarm"])
def test_descent_mode_round_trip_continues_exactly(kind, surface):
    def build() -> DescentState:
        ds = DescentState()
        ds.adopt_teaching(surface)
        ds.kind, ds.race, ds.swarm_size, ds.seed = kind, sorted(OPTIMIZERS), 30, 7
        for name, hyper in BUSY.items():
            for key, value in hyper.items():
                assert ds.set_hyper(name, key, value) is None
        ds.start_run(surface, (-1.5, 1.5))
        return ds

    whole = build()
    whole.step(30)
    first = build()
    first.step(12)
    saved = first.state_dict()
    fresh = DescentState()
    fresh.load_state_dict(saved, surface)
    fresh.step(18)
    assert fresh.surface is surface and fresh.kind == kind
    assert fresh.names == whole.names and fresh.colors == whole.colors
    assert _same(fresh.history, whole.history)
    assert fresh.messages == whole.messages
    for i, (d1, d2) in enumerate(zip(fresh.descents, whole.descents, strict=True)):
        assert _same(d1.positions, d2.positions) and _same(d1.steps, d2.steps)
        assert _same(fresh.last_steps(i), whole.last_steps(i))
        assert _same(fresh.start_positions(i), whole.start_positions(i))
        _same_optimizer(d1.optimizer, d2.optimizer)
    assert fresh.summary() == whole.summary()


def test_descent_mode_without_history_rebuilds_one(surface):
    ds = DescentState()
    ds.start_run(surface, (1.0, 1.0))
    ds.step(9)
    saved = ds.state_dict()
    saved["run"]["history"] = np.zeros((0, 1))
    fresh = DescentState()
    fresh.load_state_dict(saved, surface)
    assert fresh.history.shape == (10, 1)
    assert np.isnan(fresh.history[:-1]).all() and _same(fresh.history[-1], ds.history[-1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(colour=1), "unknown key 'colour'"),
        (lambda s: s.update(kind="crowd"), "'kind' must be one of"),
        (lambda s: s.update(race=["adam", "magic"]), "'race' must be"),
        (lambda s: s.update(hyper={"adam": {"lr": -1.0}}), "Invalid learning rate"),
        (lambda s: s.update(swarm_size=0), "'swarm_size' must be"),
        (lambda s: s.update(glyphs={"sparkles": True}), "'glyphs' must be"),
        (lambda s: s["run"].update(accum=2.0), "'accum' must be"),
        (lambda s: s["run"]["runs"][0].pop("previous"), "missing key 'previous'"),
        (lambda s: s["run"]["runs"][0]["descent"].update(steps=[1, 2]), "'steps' must have"),
    ],
)
def test_descent_mode_refuses_a_bad_dict_and_changes_nothing(change, message, surface):
    ds = DescentState()
    ds.start_run(surface, (1.0, 1.0))
    ds.step(3)
    saved = ds.state_dict()
    change(saved)
    target = DescentState(kind="race", race=["gd", "adam"])
    target.start_run(surface, (0.5, 0.5))
    target.step(2)
    before = copy.deepcopy(target.state_dict())
    with pytest.raises(UsageError, match=message) as info:
        target.load_state_dict(saved, surface)
    assert "\n" not in str(info.value)
    after = target.state_dict()
    assert after["kind"] == before["kind"] and after["race"] == before["race"]
    assert after["hyper"] == before["hyper"] and _same(
        after["run"]["history"], before["run"]["history"]
    )


def test_curve_state_round_trip_and_refusals():
    cs = CurveState(source="expression", expression="x^3 - x", x=-0.4, speed=0.3, wrap=True)
    cs.sweep_direction = -1
    fresh = CurveState()
    fresh.load_state_dict(cs.state_dict())
    assert fresh.state_dict() == cs.state_dict()
    for change, message in [
        ({"colour": 1}, "unknown key 'colour'"),
        ({"source": "image"}, "'source' must be one of"),
        ({"x": float("nan")}, "'x' must be finite"),
        ({"speed": -1.0}, "'speed' must be finite"),
        ({"sweep_direction": 0}, "'sweep_direction' must be -1 or 1"),
        ({"wrap": 1}, "'wrap' must be true or false"),
        ({"expression": "__import__('os')"}, "unexpected character"),
    ]:
        before = fresh.state_dict()
        with pytest.raises(gradient_explorer.GradientExplorerError, match=message):
            fresh.load_state_dict(change)
        assert fresh.state_dict() == before


def test_camera_round_trip_and_refusals():
    cam = OrbitCamera()
    cam.frame((-2, -1, -0.5), (2, 3, 1.5), aspect=1.5, snap=True)
    cam.set_state(
        {"azimuth": 12.0, "elevation": 41.0, "distance": 9.0, "projection": "orthographic"}
    )
    saved = cam.state_dict()
    fresh = OrbitCamera()
    fresh.load_state_dict(saved, aspect=1.5)
    assert fresh.state_dict() == saved
    assert _same(fresh.view_matrix(), cam.view_matrix())
    assert _same(fresh.projection_matrix(1.5), cam.projection_matrix(1.5))
    for change, message in [
        ({"colour": 1}, "unknown key 'colour'"),
        ({"elevation": 95.0}, "elevation"),
        ({"scene": [[0, 0, 0], [-1, 0, 0]]}, "inverted"),
        ({"scene": [[0, 0, 0]]}, "'scene' must be"),
        ({"projection": "fisheye"}, "projection"),
    ]:
        with pytest.raises(UsageError, match=message):
            fresh.load_state_dict({**saved, **change})
        assert fresh.state_dict() == saved


def test_session_touches_no_private_field():
    """app/session.py reads and writes other objects through their public API and
    state dicts only (issue 9's crash came from reaching into a renamed private field)."""
    path = Path(gradient_explorer.__file__).parent / "app" / "session.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = sorted(
        {
            f"{ast.unparse(node.value)}.{node.attr} (line {node.lineno})"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")
        }
    )
    assert private == []
