"""What draws frames (the window, ``record``, ``render``) keeps to the numpy path unless
GRADIENT_EXPLORER_ENGINE names an engine: the frames never pause for a compile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradient_explorer.surfaces import fastcode

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _mode_back():
    yield
    fastcode.set_mode(None)


def test_numpy_unless_the_environment_chose(monkeypatch):
    monkeypatch.delenv(fastcode.ENGINE_ENV, raising=False)
    fastcode.set_mode(None)
    assert fastcode.numpy_unless_chosen()
    assert fastcode.mode() == "numpy" and not fastcode.available()
    for chosen in ("auto", "numba"):
        monkeypatch.setenv(fastcode.ENGINE_ENV, chosen)
        fastcode.set_mode(None)
        assert not fastcode.numpy_unless_chosen()
        assert fastcode.mode() == chosen


@pytest.mark.gl
def test_the_apps_descents_do_not_import_numba(tmp_path):
    pytest.importorskip("moderngl_window.context.headless")
    pytest.importorskip("moderngl_window.context.glfw.keys")
    # a fresh interpreter: the real app on a headless window, a swarm past the sizes
    # and step counts from which 'auto' would use the engine, a large gradient
    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT / 'reliability')!r})\n"
        "from harness import AppHarness\n"
        "h = AppHarness((160, 120), 'banana', 0)\n"
        "ds = h.state.descent\n"
        "ds.kind, ds.swarm_size = 'swarm', 600\n"
        "ds.start_run(h.state.surface)\n"
        "ds.step(210)\n"
        "h.state.surface.gradient(np.zeros((5000, 2)))\n"
        "h.frame()\n"
        "print(sum(d.n for d in ds.descents), 'numba' in sys.modules)\n"
        "h.close()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != fastcode.ENGINE_ENV}
    env.update(XDG_CACHE_HOME=str(tmp_path), PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["600", "False"]


class _Descents:
    def __init__(self, balls: int):
        self.descents = [type("D", (), {"n": balls})()]
        self.active = balls > 0


def test_record_uses_numpy_unless_the_descent_is_large(monkeypatch):
    from gradient_explorer.cli import record

    monkeypatch.delenv(fastcode.ENGINE_ENV, raising=False)
    state = type("S", (), {})()
    state.descent = _Descents(10_000)  # the largest swarm, 120 frames of 10 steps
    fastcode.set_mode(None)
    record.choose_engine(state, 120, 10)
    assert fastcode.mode() == "numpy"
    fastcode.set_mode(None)
    record.choose_engine(state, 1000, 10_000)  # 1e11 ball-steps: the engine pays
    assert fastcode.mode() == "auto"
    monkeypatch.setenv(fastcode.ENGINE_ENV, "numba")  # chosen: kept
    fastcode.set_mode(None)
    record.choose_engine(state, 120, 10)
    assert fastcode.mode() == "numba"


def test_render_uses_numpy(monkeypatch, tmp_path):
    from gradient_explorer.cli import render

    monkeypatch.delenv(fastcode.ENGINE_ENV, raising=False)
    fastcode.set_mode(None)
    seen = []

    def fake_state(args):
        seen.append(fastcode.mode())
        raise SystemExit(0)

    monkeypatch.setattr(render, "state_from_args", fake_state)
    args = type("A", (), {"view2d": False})()
    with pytest.raises(SystemExit):
        render.run(args)
    assert seen == ["numpy"]


def test_the_engines_kept_buffer_views_follow_a_replaced_state():
    """optimizer_step keeps flat views of the optimizer's state arrays while it holds the
    same ones: a state loaded into it, or arrays put in its state, are what the next step
    uses."""
    pytest.importorskip("numba")
    from gradient_explorer.optim.optimizers import make_optimizer

    fastcode.set_mode("numba")
    try:
        rng = np.random.default_rng(3)
        a, b = make_optimizer("adam", lr=0.01), make_optimizer("adam", lr=0.01)
        p, q = rng.normal(size=(1, 2)), rng.normal(size=(1, 2))
        for _ in range(5):
            a.step_(p, rng.normal(size=(1, 2)))
            b.step_(q, rng.normal(size=(1, 2)))  # b's views of its own arrays are kept
        b.load_state_dict(a.state_dict())
        q[:] = p
        for _ in range(3):
            g = rng.normal(size=(1, 2))
            a.step_(p, g)
            b.step_(q, g)
        np.testing.assert_array_equal(p, q)
        # arrays put in its state by hand, as torch users do with optimizer.state
        c = make_optimizer("adam", lr=0.01)
        c.step_(q.copy(), g)  # c's views of its own arrays are kept
        c.steps = a.steps.copy()
        for key in a.state:
            c.state[key] = a.state[key].copy()
        q[:] = p
        for _ in range(3):
            g = rng.normal(size=(1, 2))
            a.step_(p, g)
            c.step_(q, g)
        np.testing.assert_array_equal(p, q)
        for key, value in a.state.items():
            np.testing.assert_array_equal(c.state[key], value)
    finally:
        fastcode.set_mode(None)
