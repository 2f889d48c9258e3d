"""Feasibility of a fused compiled step (issue 17): is 3x torch.optim reachable per ball?

Not part of the package. The banana's generated one-point code (value_and_gradient_scalar,
copied here by hand) and Adam's rule in one numba loop over the balls, with the divergence
check and the gradient length, as ``Descent.step`` does them. It checks the kernel against
``Descent.step`` bit for bit over 50 steps, then times it, ``Descent.step`` and
torch.optim.Adam (one thread), medians of 3 interleaved rounds, and numba's import and
first-call (JIT) cost.

Run: ``PYTHONPATH=src python benchmarks/fused_kernel_feasibility.py`` (needs numba; it is
not a dependency: ``pip install --target /tmp/nb --no-deps numba llvmlite`` and add
/tmp/nb to PYTHONPATH).
"""

import math
import sys
import time

import numpy as np

t0 = time.perf_counter()
try:
    import numba
except ImportError:
    sys.exit("numba is not installed: this feasibility check needs it")
t_import = time.perf_counter() - t0

from gradient_explorer.optim.descent import Descent  # noqa: E402
from gradient_explorer.surfaces.surface import Surface  # noqa: E402


@numba.njit(cache=False)
def _sq(v):
    return v * v


@numba.njit(cache=False)
def vg(x, y, a, b):
    _c0 = _sq(x)
    _c1 = -_c0 + y
    return (_sq(_c1) * b + _sq(a - x), -4 * _c1 * b * x - 2 * a + 2 * x, b * (-2 * _c0 + 2 * y))


@numba.njit(cache=False)
def kernel(
    pos,
    grad,
    m,
    v,
    f_out,
    g_out,
    gn_out,
    bad,
    a,
    b,
    w1,
    b2,
    w2,
    step_size,
    bc2,
    eps,
    cx,
    cy,
    lx,
    ly,
):
    n = pos.shape[0]
    nbad = 0
    for i in range(n):
        x = pos[i, 0]
        y = pos[i, 1]
        for j in range(2):
            g = grad[i, j]
            mm = m[i, j]
            mm = mm + (g - mm) * w1
            vv = v[i, j] * b2
            gg = (w2 * g) * g
            vv = vv + gg
            denom = math.sqrt(vv) / bc2 + eps
            upd = (mm * -step_size) / denom
            m[i, j] = mm
            v[i, j] = vv
            if j == 0:
                x = x + upd
            else:
                y = y + upd
        pos[i, 0] = x
        pos[i, 1] = y
        fv, g0, g1 = vg(x, y, a, b)
        fv = fv if abs(fv) < math.inf else math.nan
        g0 = g0 if abs(g0) < math.inf else math.nan
        g1 = g1 if abs(g1) < math.inf else math.nan
        gn = math.sqrt(g0 * g0 + g1 * g1)
        f_out[i] = fv
        g_out[i, 0] = g0
        g_out[i, 1] = g1
        gn_out[i] = gn
        ok = (abs(x - cx) <= lx) & (abs(y - cy) <= ly) & (abs(fv) < math.inf) & (abs(gn) < math.inf)
        bad[i] = not ok
        nbad += 0 if ok else 1
    return nbad


s = Surface.named("banana")
a, b = s.param_values["a"], s.param_values["b"]
LR = 1e-4


def make(n):
    rng = np.random.default_rng(n)
    start = rng.uniform((-1.5, -0.5), (1.5, 2.5), size=(n, 2))
    return start, Descent(s, "adam", start, lr=LR, tol=0.0, trail_length=1)


def nb_state(d):
    return dict(
        pos=d.positions.copy(),
        grad=d.gradient.copy(),
        m=np.zeros_like(d.positions),
        v=np.zeros_like(d.positions),
        t=0,
    )


def nb_step(st, d):
    opt = d.optimizer
    hp = opt.hyper
    b1, b2 = hp["betas"]
    st["t"] += 1
    t = float(st["t"])
    step_size = hp["lr"] / (1 - b1**t)
    bc2 = (1 - b2**t) ** 0.5
    n = len(st["pos"])
    f = np.empty(n)
    g = np.empty((n, 2))
    gn = np.empty(n)
    bad = np.empty(n, dtype=np.bool_)
    cx, cy = (float(c) for c in np.broadcast_to(d._centre, (2,)))
    lx, ly = (float(c) for c in np.broadcast_to(d._limit, (2,)))
    kernel(
        st["pos"],
        st["grad"],
        st["m"],
        st["v"],
        f,
        g,
        gn,
        bad,
        a,
        b,
        1 - b1,
        b2,
        1 - b2,
        step_size,
        bc2,
        hp["eps"],
        cx,
        cy,
        lx,
        ly,
    )
    st["grad"] = g
    st["f"] = f
    st["gn"] = gn
    return bad


# first call (JIT) cost
_, d = make(10)
st = nb_state(d)
t0 = time.perf_counter()
nb_step(st, d)
t_jit = time.perf_counter() - t0
print(f"import numba {t_import:.2f} s, first call (JIT) {t_jit:.2f} s")


# bit identity over 50 steps
def same(x, y) -> bool:
    return np.array_equal(np.asarray(x).view(np.int64), np.asarray(y).view(np.int64))


for n in (1000, 10_000):
    _, d = make(n)
    st = nb_state(d)
    for _ in range(50):
        d.step()
        nb_step(st, d)
    print(
        n,
        "positions",
        same(d.positions, st["pos"]),
        "f",
        same(d.f, st["f"]),
        "grad",
        same(d.gradient, st["grad"]),
        "gn",
        same(d.grad_norm, st["gn"]),
        "m",
        same(d.optimizer.state["exp_avg"], st["m"]),
        "v",
        same(d.optimizer.state["exp_avg_sq"], st["v"]),
    )

import torch  # noqa: E402

torch.set_num_threads(1)


def torch_step(start):
    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=LR)

    def step():
        topt.zero_grad()
        x, y = tp[:, 0], tp[:, 1]
        loss = ((a - x) ** 2 + b * (y - x * x) ** 2).sum()
        loss.backward()
        topt.step()

    return step


def per(fn, tmin=0.2):
    fn()
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < tmin or n < 3:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


for n in (1, 100, 10_000, 100_000, 1_000_000):
    start, d = make(n)
    st = nb_state(d)
    ts = torch_step(start)
    r = {"numba": [], "numpy": [], "torch": []}
    for _ in range(3):
        r["numba"].append(per(lambda st=st, d=d: nb_step(st, d)))
        r["numpy"].append(per(d.step))
        r["torch"].append(per(ts))
    med = {k: sorted(v)[1] for k, v in r.items()}
    print(
        f"N={n:>8}: numba {med['numba'] * 1e6:9.1f} us, Descent.step "
        f"{med['numpy'] * 1e6:9.1f} us, torch 1 thread {med['torch'] * 1e6:9.1f} us; "
        f"torch/numba {med['torch'] / med['numba']:5.2f}, "
        f"torch/numpy {med['torch'] / med['numpy']:5.2f}"
    )
