"""Ball-steps per second: our Adam on the banana against torch.optim.Adam, same run.

Run: ``.venv/bin/python benchmarks/bench_descent.py [--quick]``

Columns (microseconds per step of all N balls, and ball-steps per second):

* ``ours``: ``g = surface.gradient(p); opt.step_(p, g)`` -- the gradient from the Surface.
* ``grad``: the Surface's gradient call alone.
* ``opt``: our optimizer step alone (gradient precomputed).
* ``descent``: ``Descent.step()`` (also evaluates f, checks divergence, writes trails).
* ``torch``: one ``(N, 2)`` float64 parameter, loss in torch ops, ``loss.backward()``,
  ``torch.optim.Adam.step()`` (single-tensor path, the CPU default).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gradient_explorer.optim.descent import Descent
from gradient_explorer.optim.optimizers import make_optimizer
from gradient_explorer.surfaces.surface import Surface


def _per_call(fn, min_time: float) -> float:
    """Seconds per call: the best of three timed batches of at least ``min_time`` each."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 10:
            break
        n *= 4
    reps = max(1, int(n * min_time / max(dt, 1e-9)))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads (1: like numpy here; more threads spin and swing wildly "
        "on a loaded 2-core machine)",
    )
    args = parser.parse_args()
    min_time = 0.1 if args.quick else 0.5
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
        print("torch is not installed: our columns only")
    else:
        torch.manual_seed(0)
        torch.set_num_threads(args.torch_threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    surface = Surface.named("banana")
    a, b = (surface.param_values[k] for k in ("a", "b"))
    rng = np.random.default_rng(0)
    header = (
        f"{'N':>7} {'ours us':>9} {'grad us':>9} {'opt us':>8} {'descent us':>10} "
        f"{'torch us':>9} {'ours ball-steps/s':>18} {'torch ball-steps/s':>19} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for n in (1, 100, 10_000, 100_000):
        start = rng.uniform((-1.5, -0.5), (1.5, 2.5), size=(n, 2))
        p = start.copy()
        opt = make_optimizer("adam", lr=1e-4)

        def ours(p=p, opt=opt):
            opt.step_(p, surface.gradient(p))

        g = surface.gradient(p)
        t_ours = _per_call(ours, min_time)
        t_grad = _per_call(lambda p=p: surface.gradient(p), min_time)
        opt2 = make_optimizer("adam", lr=1e-4)
        q = start.copy()
        t_opt = _per_call(lambda q=q, g=g, opt2=opt2: opt2.step_(q, g), min_time)
        d = Descent(surface, "adam", start, lr=1e-4, tol=0.0, trail_length=64)
        t_desc = _per_call(d.step, min_time)
        t_torch = float("nan")
        if torch is not None:
            tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
            topt = torch.optim.Adam([tp], lr=1e-4)

            def theirs(tp=tp, topt=topt):
                topt.zero_grad()
                x, y = tp[:, 0], tp[:, 1]
                loss = ((a - x) ** 2 + b * (y - x * x) ** 2).sum()
                loss.backward()
                topt.step()

            t_torch = _per_call(theirs, min_time)
        print(
            f"{n:>7} {t_ours * 1e6:>9.1f} {t_grad * 1e6:>9.1f} {t_opt * 1e6:>8.1f} "
            f"{t_desc * 1e6:>10.1f} {t_torch * 1e6:>9.1f} {n / t_ours:>18.3g} "
            f"{n / t_torch:>19.3g} {t_torch / t_ours:>6.2f}"
        )
    print("ratio = torch time / ours (goal: >= 3 at every N, >= 20 at N = 1)")


if __name__ == "__main__":
    main()
