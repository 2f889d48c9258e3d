"""The compiled engine (numba) equals the numpy path to the bit, and falls back cleanly."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import gradient_explorer as ge
from gradient_explorer.optim.descent import Descent
from gradient_explorer.optim.optimizers import make_optimizer
from gradient_explorer.surfaces import fastcode
from gradient_explorer.surfaces.surface import Surface

numba = pytest.importorskip("numba")

EXACT = ("bowl", "elongated_bowl", "saddle", "banana", "himmelblau")
ADAM = [
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.05, "amsgrad": True, "maximize": False, "weight_decay": 0.1}),
    ("adam", {"lr": 0.3, "betas": (0.3, 0.9), "decoupled_weight_decay": True, "weight_decay": 0.5}),
    ("adamw", {"lr": 0.05}),
    ("adam", {"lr": 0.02, "maximize": True}),
]
# every branch of each rule: momentum (SGD's first step copies the gradient: dampening
# makes that step differ from the general rule), Nesterov, weight decay, maximize,
# RMSprop centered with both lerp branches (|1 - alpha| below and above 0.5)
OTHERS = [
    ("gd", {"lr": 0.01}),
    ("sgd", {"lr": 0.01}),
    ("sgd", {"lr": 0.01, "momentum": 0.9}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.02, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.005, "alpha": 0.3, "centered": True, "maximize": True}),
    ("adagrad", {"lr": 0.1}),
    (
        "adagrad",
        {"lr": 0.5, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05},
    ),
    ("adagrad", {"lr": 0.1, "maximize": True}),
    ("nadam", {"lr": 0.02}),
    ("nadam", {"lr": 0.02, "weight_decay": 0.1, "maximize": True}),
    ("nadam", {"lr": 0.05, "betas": (0.3, 0.9), "weight_decay": 0.3, "momentum_decay": 0.01}),
    ("nadam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.3}),
]
SETTINGS = ADAM + OTHERS
#: a setting of each optimizer that takes many branches, for the tests that cost more
ONE_EACH = [ADAM[1], OTHERS[0], OTHERS[4], OTHERS[7], OTHERS[10], OTHERS[14]]
#: Every surface and every setting, each compiled kernel costing ~1 s in CI: Adam's
#: settings on the banana and himmelblau, one Adam setting on the other surfaces, and the
#: other rules (the same kernels around another _rule) each on one surface, in turn on
#: the saddle (diverges often), the banana and himmelblau (minima)
CASES = (
    [(name, *setting) for setting in ADAM for name in ("banana", "himmelblau")]
    + [(name, *ADAM[1]) for name in EXACT if name not in ("banana", "himmelblau")]
    + [(("saddle", "banana", "himmelblau")[i % 3], *setting) for i, setting in enumerate(OTHERS)]
)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    # One kernel cache for the file: a kernel compiled by one test is loaded by the next
    # (what a user's second process does); tests of the cache itself take cache_home.
    return tmp_path_factory.mktemp("kernels-shared")


@pytest.fixture
def cache_home(tmp_path_factory, monkeypatch):
    """A cache folder of the test's own, empty."""
    home = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def kernel_cache(request, shared_cache, monkeypatch):
    if "cache_home" not in request.fixturenames:
        monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    yield
    fastcode.set_mode(None)
    assert fastcode.FAILURES == []  # every kernel module compiled (else numpy ran)


def _both(run):
    fastcode.set_mode("numba")
    fast = run()
    fastcode.set_mode("numpy")
    slow = run()
    return fast, slow


@pytest.fixture
def engine_calls(monkeypatch):
    """How often each entry point of the engine took a step (returned a result)."""
    from gradient_explorer.optim import fused

    calls = {"optimizer_step": 0, "descent_step": 0, "run_batched": 0}

    def counted(name):
        real = getattr(fused, name)

        def call(*args):
            out = real(*args)
            if out is not None and out is not False:
                calls[name] += 1
            return out

        monkeypatch.setattr(fused, name, call)

    for name in calls:
        counted(name)
    return calls


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    if a.dtype.kind == "f":
        bits = f"i{a.itemsize}"  # (NAdam's mu_product is float32)
        assert np.array_equal(a.view(bits), b.view(bits))  # bits, NaN included
    else:
        assert np.array_equal(a, b)


def _starts(surface, n, seed=0):
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(seed)
    pts = rng.uniform((x0, y0), (x1, y1), size=(n, 2))
    pts[: n // 10] *= 3.0  # some far out: they diverge with a big rate
    return pts


def test_eligibility_walks_the_generated_code():
    assert fastcode.surface_parts(Surface.named("banana")) is not None
    for name in ("ackley", "rastrigin", "beale", "plateau"):  # exp, cos, numpy.power
        assert fastcode.surface_parts(Surface.named(name)) is None
    assert fastcode.point_function("def f(x):\n    return (numpy.exp(x),)", "f", "_f") is None
    assert fastcode.point_function("def f(x):\n    return (x ** 3,)", "f", "_f") is None
    assert fastcode.point_function("def f(x):\n    return (numpy.sqrt(x) / 3,)", "f", "_f")


@pytest.mark.parametrize("name, optimizer, hyper", CASES)
def test_batched_descend_is_the_numpy_path(name, optimizer, hyper, engine_calls):
    surface = Surface.named(name)
    starts = _starts(surface, 300)
    fast, slow = _both(
        lambda: ge.descend(surface, optimizer, starts, 60, tol=1e-3, far=1.0, **hyper)
    )
    assert fastcode.FAILURES == []
    assert engine_calls["run_batched"] == 1  # the engine ran (and numpy the second time)
    for key in ("positions", "f", "gradient", "end_step", "steps", "lr"):
        _same(getattr(fast, key), getattr(slow, key))
    assert list(fast.status) == list(slow.status)
    assert fast.hyperparameters == slow.hyperparameters


def test_a_start_that_is_not_finite_is_refused_by_the_engine_too(engine_calls):
    # the engine's run counts the starts that are not finite (numpy's check of every
    # start no longer runs first); this surface is finite at x = inf, so a ball there
    # would run if the kernel did not count it
    from gradient_explorer.errors import UsageError

    surface = Surface.from_expr("min(x, 1) + y^2")
    assert fastcode.surface_parts(surface) is not None
    for row, bad in ((0, (np.inf, 0.5)), (2500, (0.5, np.nan)), (2999, (-np.inf, 1.0))):
        starts = _starts(surface, 3000)
        starts[row] = bad
        for mode in ("numba", "numpy"):
            fastcode.set_mode(mode)
            with pytest.raises(UsageError, match="start points must be finite"):
                ge.descend(surface, "adam", starts, 5)
    # the kernel ran, and its count raised (the first start: the settings' one-ball
    # Descent refused it before)
    assert engine_calls["run_batched"] == 2


def test_a_run_too_long_for_int32_end_steps_is_numpy(engine_calls, monkeypatch):
    from gradient_explorer.optim import fused

    surface = Surface.named("banana")
    starts = _starts(surface, 300)
    monkeypatch.setattr(fused, "END_MAX", 12)
    fastcode.set_mode("numba")
    ge.descend(surface, "adam", starts, 11, tol=1e-3, far=1.0, lr=0.1)
    assert engine_calls["run_batched"] == 1
    long = ge.descend(surface, "adam", starts, 12, tol=1e-3, far=1.0, lr=0.1)
    assert engine_calls["run_batched"] == 1  # not the engine
    assert type(long).__name__ == "Trajectories"
    fastcode.set_mode("numpy")
    slow = ge.descend(surface, "adam", starts, 12, tol=1e-3, far=1.0, lr=0.1)
    for key in ("positions", "f", "gradient", "end_step", "steps"):
        _same(getattr(long, key), getattr(slow, key))


def test_the_runs_diverge_and_converge_mid_run():
    surface = Surface.named("banana")
    starts = _starts(surface, 300)
    run = ge.descend(surface, "adam", starts, 80, tol=0.5, far=1.0, lr=0.3)
    assert {"diverged", "converged", "max_steps"} <= set(run.status) | {"max_steps"}
    assert "diverged" in set(run.status) and "converged" in set(run.status)


@pytest.mark.parametrize("schedule", ["cosine:40", "step:10:0.5"])
@pytest.mark.parametrize("optimizer, hyper", ONE_EACH)
def test_a_schedule_gives_the_same_bits(schedule, optimizer, hyper):
    surface = Surface.named("himmelblau")
    starts = _starts(surface, 200)

    def run():
        return ge.descend(surface, optimizer, starts, 40, schedule=schedule, **hyper)

    fast, slow = _both(run)
    for key in ("positions", "f", "gradient", "lr", "end_step"):
        _same(getattr(fast, key), getattr(slow, key))

    def steps():  # Descent.step reads the schedule's rate each step
        d = Descent(surface, optimizer, starts, schedule=schedule, tol=0.0, far=1.0, **hyper)
        d.step(25)
        return d

    fast, slow = _both(steps)
    for key in ("positions", "f", "gradient", "status_codes", "stopped_at"):
        _same(getattr(fast, key), getattr(slow, key))


@pytest.mark.parametrize(
    "optimizer, hyper",
    [("adam", {"lr": 0.3}), ("sgd", {"lr": 0.003, "momentum": 0.9}), ("rmsprop", {"lr": 0.03})],
)
def test_batched_equals_single_runs(optimizer, hyper):
    surface = Surface.named("banana")
    starts = _starts(surface, 40)
    fastcode.set_mode("numba")
    many = ge.descend(surface, optimizer, starts, 50, tol=0.5, far=1.0, **hyper)
    fastcode.set_mode("numpy")
    for i, start in enumerate(starts):
        one = (
            ge.descend(surface, optimizer, tuple(start), 50, tol=0.5, far=1.0, **hyper)
            if (np.isfinite(surface.f(start)))
            else None
        )
        if one is None:
            continue
        mine = many.trajectory(i)
        _same(mine.positions, one.positions)
        _same(mine.f, one.f)
        assert mine.status == one.status and mine.end_step == one.end_step


@pytest.mark.parametrize("name, optimizer, hyper", CASES)
def test_descent_steps_are_the_numpy_path(name, optimizer, hyper, engine_calls):
    surface = Surface.named(name)
    starts = _starts(surface, 700)

    def run():
        d = Descent(surface, optimizer, starts, tol=0.5, far=1.0, **hyper)
        d.step(30)
        return d

    fast, slow = _both(run)
    assert engine_calls["descent_step"] == fast.clock > 0  # every step taken
    for key in ("positions", "f", "gradient", "grad_norm", "status_codes", "steps", "stopped_at"):
        _same(getattr(fast, key), getattr(slow, key))
    _same(fast.trails()[0], slow.trails()[0])
    for key, value in slow.optimizer.state.items():
        _same(fast.optimizer.state[key], value)
    _same(fast.optimizer.steps, slow.optimizer.steps)


@pytest.mark.parametrize("n", [1, 5, 3000])
@pytest.mark.parametrize("optimizer, hyper", SETTINGS)
def test_inner_loop_is_the_numpy_path(n, optimizer, hyper, engine_calls):
    surface = Surface.named("banana")
    starts = _starts(surface, n)

    def run():
        opt = make_optimizer(optimizer, **hyper)
        p = starts.copy()
        grads = []
        for _ in range(20):
            g = surface.gradient(p)
            grads.append(g)
            opt.step_(p, g)
        return p, grads, opt

    (p1, g1, o1), (p2, g2, o2) = _both(run)
    # with maximize, a step from a NaN gradient is numpy's (see fused.optimizer_step)
    numpy_steps = sum(bool(np.isnan(g).any()) for g in g1) if hyper.get("maximize") else 0
    assert engine_calls["optimizer_step"] == 20 - numpy_steps > 0
    _same(p1, p2)
    for a, b in zip(g1, g2, strict=True):
        _same(a, b)
    for key, value in o2.state.items():
        _same(o1.state[key], value)
    assert set(o1.state) == set(o2.state)
    _same(o1.steps, o2.steps)


def test_a_run_continues_across_engines_settings_and_saved_state(engine_calls):
    # the engine's buffers are the optimizer's state arrays: a run goes on with numpy
    # from the engine's state (and back), through set_hyper and state_dict, to the bit
    surface = Surface.named("banana")
    starts = _starts(surface, 700)

    def run(engines):
        d = Descent(surface, "sgd", starts, lr=0.005, tol=0.5, far=1.0)
        modes = iter(engines)
        fastcode.set_mode(next(modes))
        d.step(4)
        d.optimizer.set_hyper(momentum=0.9, dampening=0.2)  # the buffer starts as g
        fastcode.set_mode(next(modes))
        d.step(4)
        saved = d.optimizer.state_dict()
        d.optimizer.load_state_dict(saved)
        fastcode.set_mode(next(modes))
        d.step(4)
        rms = Descent(surface, "rmsprop", starts, lr=0.01, tol=0.5, far=1.0)
        fastcode.set_mode(next(modes))
        rms.step(3)
        rms.optimizer.set_hyper(centered=True, momentum=0.5)  # new buffers at zero
        fastcode.set_mode(next(modes))
        rms.step(3)
        return d, rms

    mixed = run(["numba", "numpy", "numba", "numba", "numba"])
    assert engine_calls["descent_step"] >= 12
    slow = run(["numpy"] * 5)
    for fast_d, slow_d in zip(mixed, slow, strict=True):
        for key in ("positions", "f", "gradient", "status_codes", "stopped_at"):
            _same(getattr(fast_d, key), getattr(slow_d, key))
        assert set(fast_d.optimizer.state) == set(slow_d.optimizer.state)
        for key, value in slow_d.optimizer.state.items():
            _same(fast_d.optimizer.state[key], value)


@pytest.mark.parametrize(
    "optimizer, hyper, old, new",
    [
        # SGD's first step: the buffer as a copy of g, not momentum * 0 + (1 - d) * g
        ("sgd", {"lr": 0.01, "momentum": 0.5, "dampening": 0.3},
         "a = g if k1 != 0.0 else", "a ="),
        # the order of Adagrad's addcdiv: (-clr * g) / std, not -clr * (g / std)
        ("adagrad", {"lr": 0.1}, "x = x + (k0 * g) / std", "x = x + k0 * (g / std)"),
        # RMSprop's ((1 - alpha) * g) * g, not (1 - alpha) * (g * g)
        ("rmsprop", {"lr": 0.01}, "(hp[2] * g) * g", "hp[2] * (g * g)"),
        # NAdam's sqrt(v / bc2), not sqrt(v) / sqrt(bc2)
        ("nadam", {"lr": 0.02}, "math.sqrt(b / k3)", "math.sqrt(b) / math.sqrt(k3)"),
    ],
)  # fmt: skip
def test_a_rule_with_one_operation_changed_is_caught(optimizer, hyper, old, new, monkeypatch):
    # the bit-for-bit checks above can fail: a rule that reorders one operation (the
    # same value in exact arithmetic) differs from the numpy path somewhere
    from gradient_explorer.optim import fused_rules

    family = fused_rules.FAMILIES[optimizer]
    real = family.body

    def changed(variant):
        lines = [line.replace(old, new) for line in real(variant)]
        assert lines != real(variant)
        return lines

    monkeypatch.setattr(family, "body", staticmethod(changed))
    surface = Surface.named("himmelblau")
    starts = _starts(surface, 300)
    fast, slow = _both(lambda: ge.descend(surface, optimizer, starts, 30, **hyper))
    assert not np.array_equal(fast.positions, slow.positions)


def test_undefined_gradients_are_nan_as_in_numpy():
    surface = Surface.named("banana")
    pts = np.array([[1e200, 1e200], [np.nan, 0.0], [0.5, 0.5]] * 3)
    fast, slow = _both(lambda: surface.gradient(pts))
    _same(fast, slow)
    fast, slow = _both(lambda: surface.gradient(pts[:2]))
    _same(fast, slow)


def test_without_numba_everything_is_numpy(monkeypatch):
    surface = Surface.named("banana")
    starts = _starts(surface, 300)
    fastcode.set_mode("auto")
    monkeypatch.setattr(fastcode, "_has_numba", False)
    assert not fastcode.available()
    loaded = dict(fastcode._LOADED)
    run = ge.descend(surface, "adam", starts, 20, lr=0.05)
    assert fastcode._LOADED == loaded  # no kernel was built
    fastcode.set_mode("numpy")
    _same(run.positions, ge.descend(surface, "adam", starts, 20, lr=0.05).positions)


def test_the_environment_variable_turns_it_off(monkeypatch):
    monkeypatch.setenv(fastcode.ENGINE_ENV, "numpy")
    fastcode.set_mode(None)
    assert fastcode.mode() == "numpy" and not fastcode.available()
    monkeypatch.setenv(fastcode.ENGINE_ENV, "numba")
    fastcode.set_mode(None)
    assert fastcode.forced()


def _module_file(cache_home):
    files = sorted((cache_home / "gradient-explorer" / "kernels").glob("k_*.py"))
    assert files
    return files


def test_the_kernel_cache_is_used_and_rebuilt_when_damaged(cache_home, monkeypatch):
    surface = Surface.named("bowl")
    fastcode.set_mode("numba")
    assert fastcode.gradient_module(surface) is not None
    (path,) = _module_file(cache_home)
    text = path.read_text()
    machine = list((path.parent / "__pycache__").glob(f"{path.stem}.*.nbi"))
    assert machine  # numba cached its machine code beside the module
    # a later process: a cached module is loaded, not written again
    monkeypatch.setattr(fastcode, "_LOADED", {})
    stamp = path.stat().st_mtime_ns
    assert fastcode.gradient_module(surface) is not None
    assert path.stat().st_mtime_ns == stamp
    # a damaged (or stale) module file is written again
    path.write_text(text.replace("return v * v", "return v * v * 2.0"))
    monkeypatch.setattr(fastcode, "_LOADED", {})
    module = fastcode.gradient_module(surface)
    assert path.read_text() == text
    out = np.empty((1, 2))
    module.gradient_serial(np.array([[1.5, 2.0]]), out, np.zeros(1))
    assert out.tolist() == [[3.0, 4.0]]
    # damaged machine code: deleted and rebuilt
    for entry in (path.parent / "__pycache__").glob(f"{path.stem}.*"):
        entry.write_bytes(b"garbage")
    monkeypatch.setattr(fastcode, "_LOADED", {})
    for name in list(__import__("sys").modules):
        if name.startswith("_gradient_explorer_kernels_"):
            __import__("sys").modules.pop(name)
    failures = []
    monkeypatch.setattr(fastcode, "FAILURES", failures)
    assert fastcode.gradient_module(surface) is not None  # rebuilt after one failed load
    assert len(failures) == 1
    failures.clear()


def test_small_work_does_not_import_numba(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "import gradient_explorer as ge\n"
        "from gradient_explorer.optim.descent import Descent\n"
        "s = ge.Surface.named('banana')\n"
        "ge.descend(s, 'adam', (0.5, 0.5), 50)\n"
        "ge.descend(s, 'adam', np.zeros((4, 2)), 50)\n"
        "Descent(s, 'adam', np.zeros((10, 2))).step(20)\n"
        "s.gradient(np.zeros((100, 2)))\n"
        "print('numba' in sys.modules)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), fastcode.ENGINE_ENV: "auto"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_run_by_the_engine_pickles_and_prints_as_trajectories():
    import pickle

    surface = Surface.named("banana")
    fastcode.set_mode("numba")
    run = ge.descend(surface, "adam", _starts(surface, 50), 10, lr=0.5, far=1.0)
    back = pickle.loads(pickle.dumps(run))
    assert type(back) is ge.Trajectories and repr(run).startswith("Trajectories(")
    for key in ("positions", "f", "gradient", "status", "end_step"):
        _same(getattr(back, key), getattr(run, key))


def test_warm_compiles_what_a_run_uses():
    from gradient_explorer.optim import fused

    surface = Surface.named("himmelblau")
    assert fused.warm(surface, make_optimizer("adam", amsgrad=True))
    assert fused.warm(surface, make_optimizer("sgd", momentum=0.9, nesterov=True))
    assert fused.warm(surface, make_optimizer("nadam", decoupled_weight_decay=True))
    assert not fused.warm(surface, make_optimizer("adafactor"))
    assert not fused.warm(surface, make_optimizer("newton"))
    assert not fused.warm(Surface.named("ackley"), make_optimizer("adam"))


@pytest.mark.parametrize("optimizer, hyper", SETTINGS[:2] + ONE_EACH[1:])
def test_the_threaded_block_kernels_give_the_same_bits(optimizer, hyper, monkeypatch):
    from gradient_explorer.optim import fused

    if numba.get_num_threads() < 2:
        pytest.skip("one thread: the threaded kernels are not used")
    # threads whatever the size and the number of cores
    monkeypatch.setattr(fused, "BLOCK_PARALLEL_MIN", 1)
    monkeypatch.setattr(fused, "BLOCK_THREADS_MIN", 2)
    surface = Surface.named("banana")
    starts = _starts(surface, 1500)

    def step():
        d = Descent(surface, optimizer, starts, tol=0.5, far=1.0, **hyper)
        d.step(25)
        return d

    fast, slow = _both(step)
    for key in ("positions", "f", "gradient", "grad_norm", "status_codes", "stopped_at"):
        _same(getattr(fast, key), getattr(slow, key))
    fast, slow = _both(lambda: ge.descend(surface, optimizer, starts, 40, tol=0.5, far=1.0))
    for key in ("positions", "f", "gradient", "status", "end_step", "steps"):
        _same(getattr(fast, key), getattr(slow, key))


def test_reused_step_buffers_never_change_what_a_caller_holds():
    # Descent.step by the engine writes into the arrays of the step before last only
    # when nothing else holds them
    surface = Surface.named("banana")
    fastcode.set_mode("numba")
    d = Descent(surface, "adam", _starts(surface, 700)[70:], lr=1e-3, tol=0.0)
    d.step(3)
    held = [d.positions, d.f, d.gradient, d.grad_norm]
    copies = [a.copy() for a in held]
    view = d.positions[:5]
    view_copy = view.copy()
    d.step(4)
    for a, b in zip(held, copies, strict=True):
        _same(a, b)
    _same(view, view_copy)
    reused = d.positions
    d.step(2)
    assert d.positions is reused or not np.shares_memory(d.positions, held[0])
    fastcode.set_mode("numpy")
    slow = Descent(surface, "adam", _starts(surface, 700)[70:], lr=1e-3, tol=0.0)
    slow.step(9)
    for key in ("positions", "f", "gradient", "grad_norm"):
        _same(getattr(d, key), getattr(slow, key))


def test_with_two_threads_the_block_kernels_choose_by_timing(monkeypatch):
    from gradient_explorer.optim import fused

    if numba.get_num_threads() not in (2, 3):
        pytest.skip("the choice by timing is made with 2 or 3 numba threads")
    monkeypatch.setattr(fused, "BLOCK_PARALLEL_MIN", 1)
    monkeypatch.setattr(fused, "_RUN_TIMING", {})
    surface = Surface.named("banana")
    starts = _starts(surface, 1500)
    inside = starts[150:]  # every ball runs every step: the block kernel's path
    fast = Descent(surface, "adam", inside, tol=0.0, lr=1e-3)
    fastcode.set_mode("numba")
    fast.step(25)
    timing = fast._engine_timing
    # one thread first, then threads (the call that compiles them is not timed)
    assert timing[0] < np.inf and timing[1] < np.inf and timing[5]
    fastcode.set_mode("numpy")
    slow = Descent(surface, "adam", inside, tol=0.0, lr=1e-3)
    slow.step(25)
    for key in ("positions", "f", "gradient", "grad_norm", "status_codes", "stopped_at"):
        _same(getattr(fast, key), getattr(slow, key))
    for _ in range(3):  # serial, threaded (compiles), threaded
        fast, slow = _both(lambda: ge.descend(surface, "adam", starts, 30, tol=0.5, far=1.0))
        for key in ("positions", "f", "gradient", "status", "end_step", "steps"):
            _same(getattr(fast, key), getattr(slow, key))
    (timing,) = fused._RUN_TIMING.values()
    assert timing[0] < np.inf and timing[1] < np.inf


def test_the_choice_follows_the_faster_and_probes_the_other(monkeypatch):
    from gradient_explorer.optim import fused

    monkeypatch.setattr(fastcode, "_threads", lambda: 2)
    n = fused.BLOCK_PARALLEL_MIN
    assert not fused._use_threads([], n - 1)  # few balls: one thread, not measured
    timing: list = []
    assert not fused._use_threads(timing, n)  # first: one thread
    timing[0] = 2.0
    assert fused._use_threads(timing, n)  # then threads
    timing[1] = 1.0
    calls = [fused._use_threads(timing, n) for _ in range(fused.PROBE_GAP)]
    assert calls[:-3] == [True] * (fused.PROBE_GAP - 3)
    assert False in calls  # the probe of one thread comes within the gap
    timing[2], timing[3], timing[1] = 0, 100, 3.0  # threads slower now: one thread
    assert not fused._use_threads(timing, n)
    timing[5] = False  # threads could not be compiled: never
    timing[1] = 0.1
    assert not fused._use_threads(timing, n)
    monkeypatch.setattr(fastcode, "_threads", lambda: 4)
    assert fused._use_threads([], n)  # from BLOCK_THREADS_MIN: always


def test_a_threaded_run_first_touches_its_fresh_output_on_the_calling_thread(monkeypatch):
    # numba's threads faulting a fresh output's pages together ran 4-7x slower at times
    from gradient_explorer.optim import fused

    monkeypatch.setattr(fused, "BLOCK_PARALLEL_MIN", 1)
    monkeypatch.setattr(fused, "BLOCK_THREADS_MIN", 1)  # threads every call
    monkeypatch.setattr(fastcode, "_threads", lambda: 2)
    touched = []
    real = fused.first_touch
    monkeypatch.setattr(fused, "first_touch", lambda *a: (touched.extend(a), real(*a)))
    surface = Surface.named("banana")
    starts = _starts(surface, 1500)
    fast, slow = _both(lambda: ge.descend(surface, "adam", starts, 30, tol=0.5, far=1.0))
    assert [(a.shape, a.dtype) for a in touched] == [
        ((31, 1500, 2), np.float64),
        ((1500,), np.int8),
        ((1500,), np.int32),
    ]
    assert np.shares_memory(touched[0], fast.positions)
    for key in ("positions", "f", "gradient", "status", "end_step", "steps"):
        _same(getattr(fast, key), getattr(slow, key))
    for dtype in (np.float64, np.int32, np.int8):  # one element a page, whatever its size
        per_page = mmap.PAGESIZE // np.dtype(dtype).itemsize
        page = np.full(3 * per_page + 1, 7, dtype=dtype)
        fused.first_touch(page)
        assert np.flatnonzero(page == 0).tolist() == [0, per_page, 2 * per_page, 3 * per_page]


def _timed_kernels(monkeypatch):
    """Two threads, and kernels that take ``cost[name]`` seconds of a fake clock:
    returns ``(cost, serial, parallel)``; one thread 2 s a call, threads 1 s."""
    from types import SimpleNamespace

    from gradient_explorer.optim import fused

    monkeypatch.setattr(fastcode, "_threads", lambda: 2)
    clock = [0.0]
    cost = {"serial": 2.0, "parallel": 1.0}

    class Kernel:
        signatures = ("compiled",)

        def __init__(self, name):
            self.name = name

        def __call__(self, *args):
            clock[0] += cost[self.name]

    monkeypatch.setattr(fused, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    return cost, Kernel("serial"), Kernel("parallel")


def test_one_slow_call_of_the_chosen_way_does_not_change_it(monkeypatch):
    # a moment of other work slowed one threaded call of a 1M-ball run: it went on one
    # thread (1.5x the time) for most of a benchmark's rounds
    from gradient_explorer.optim import fused

    cost, serial, parallel = _timed_kernels(monkeypatch)
    n, timing, ways = fused.BLOCK_PARALLEL_MIN, [], []

    def call(parallel_cost=1.0):
        cost["parallel"] = parallel_cost
        par = fused._use_threads(timing, n)
        ways.append(par)
        fused._run_timed(timing, par, 1, serial, parallel)

    for _ in range(5):
        call()
    assert ways == [False, True, True, True, True]
    call(3.0)  # one threaded call slower than one thread: a strike
    assert timing[1] == 1.0 and timing[6]
    call()  # still threads, and the strike is forgotten
    assert ways[-1] is True and not timing[6]
    call(3.0)
    call(3.0)  # two in a row: one thread
    assert timing[1] == 3.0
    call()
    assert ways[-1] is False


def test_a_slow_call_of_the_chosen_way_brings_it_back_soon(monkeypatch):
    # one threaded call slowed by other work (a core held) flipped a run to one thread;
    # threads were tried again only after the grown gap (up to 1024 calls)
    from gradient_explorer.optim import fused

    cost, serial, parallel = _timed_kernels(monkeypatch)
    n, timing, ways = fused.BLOCK_PARALLEL_MIN, [], []

    def call():
        par = fused._use_threads(timing, n)
        ways.append(par)
        fused._run_timed(timing, par, 1, serial, parallel)

    def slow_calls(k):  # calls until k threaded ones
        while ways.count(True) < k:
            call()

    for _ in range(100):  # the probes' gap grows while threads stay faster
        call()
    assert ways[:2] == [False, True] and ways.count(False) < 10 and timing[4] > fused.PROBE_GAP
    cost["parallel"] = 5.0  # threaded calls 2.5x slower than one thread
    ways.clear()
    slow_calls(2)  # the first: one strike, the choice stands; the second: one thread next
    assert timing[1] == 5.0 and not fused._use_threads(list(timing), n)
    cost["parallel"] = 1.0
    ways.clear()
    for _ in range(3 * fused.PROBE_GAP + 1):  # the next probe: the gap times 2.5, up
        call()
    assert ways[0] is False and True in ways  # threads tried again
    assert ways[-1] is True
    # far slower (other work held a core: 500x): threads are tried again later, so that
    # a probe under the same load costs about 1/PROBE_GAP of the time
    cost["parallel"] = 1000.0
    ways.clear()
    slow_calls(2)
    assert timing[1] == 1000.0
    cost["parallel"] = 1.0
    ways.clear()
    for _ in range(3 * fused.PROBE_GAP + 1):
        call()
    assert True not in ways
