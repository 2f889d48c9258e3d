"""Descent against torch.optim: Adam on the banana, one step of N balls and whole runs.

Run: ``.venv/bin/python benchmarks/bench_descent.py [--quick] [--engine auto|numba|numpy]``

``--engine`` chooses the compiled engine (:mod:`gradient_explorer.optim.fused`, numba,
the default where installed) or the numpy path, for reference; the results are the same
to the bit either way, only the time differs. The kernels are compiled (or loaded from
the cache folder) before the timings; the time that took is printed.

Two tables, each a median of three interleaved rounds (ours, then torch, then ours ...),
so that a busy machine slows both alike; ratios are torch's time over ours.

Per step (microseconds for all N balls):

* ``inner``: the benchmark's inner loop, ``opt.step_(p, surface.gradient(p))``.
* ``descent``: ``Descent.step()``, what ``ge.descend`` runs per step: f and gradient in
  one pass, divergence and convergence checks, per-ball status.
* ``torch 1t`` / ``torch Dt``: one ``(N, 2)`` float64 parameter, the loss in torch ops,
  ``loss.backward()``, ``torch.optim.Adam.step()``, with one thread and with torch's
  default threads.

Whole runs through the public API: ``ge.descend(banana, "adam", start, steps)`` (one
start, or an ``(N, 2)`` array of starts) against the same number of torch steps, from
making the parameter to the last step.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import gradient_explorer as ge
from gradient_explorer.optim.descent import Descent
from gradient_explorer.optim.optimizers import make_optimizer
from gradient_explorer.surfaces.surface import Surface

LR = 1e-4  # small: no ball converges or leaves during a measurement


def _per_call(fn, min_time: float) -> float:
    """Seconds per call over a batch of at least ``min_time`` (after one warm-up call)."""
    fn()
    n, spent = 0, 0.0
    t0 = time.perf_counter()
    while spent < min_time or n < 2:
        fn()
        n += 1
        spent = time.perf_counter() - t0
    return spent / n


def _median_rounds(fns: dict, rounds: int, min_time: float) -> dict:
    """Each function timed ``rounds`` times, interleaved; the median of each."""
    times: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            times[key].append(_per_call(fn, min_time))
    return {k: statistics.median(v) for k, v in times.items()}


def _torch_step(torch, start, a, b):
    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=LR)

    def step():
        topt.zero_grad()
        x, y = tp[:, 0], tp[:, 1]
        loss = ((a - x) ** 2 + b * (y - x * x) ** 2).sum()
        loss.backward()
        topt.step()

    return step


def _threads(torch, n: int):
    def wrap(fn):
        def run():
            # only on a change (once per timed batch): setting it rebuilds torch's pool
            if torch.get_num_threads() != n:
                torch.set_num_threads(n)
            fn()

        return run

    return wrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings, N up to 1e6")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument(
        "--engine", choices=("auto", "numba", "numpy"), default="auto",
        help="the compiled engine where it pays (auto), always (numba), or numpy only",
    )  # fmt: skip
    args = parser.parse_args()
    from gradient_explorer.surfaces import fastcode

    fastcode.set_mode(args.engine)
    min_time = 0.05 if args.quick else 0.3
    rounds = 3
    sizes = args.sizes or [1, 100, 10_000, 100_000, 1_000_000]
    import torch

    default_threads = torch.get_num_threads()
    one, many = _threads(torch, 1), _threads(torch, default_threads)
    print(f"torch {torch.__version__}: 1 thread and default {default_threads} thread(s)")
    surface = Surface.named("banana")
    a, b = (surface.param_values[k] for k in ("a", "b"))
    rng = np.random.default_rng(0)
    if fastcode.available():
        import numba

        t0 = time.perf_counter()
        warm = np.zeros((fastcode.GRADIENT_MIN, 2))
        make_optimizer("adam", lr=LR).step_(warm, surface.gradient(warm))
        ge.descend(surface, "adam", warm, 1, lr=LR)
        print(
            f"engine: numba {numba.__version__}, {numba.get_num_threads()} thread(s); kernels "
            f"compiled or loaded from the cache in {time.perf_counter() - t0:.2f} s"
        )
    else:
        print("engine: numpy only")

    header = (
        f"{'N':>8} {'inner us':>10} {'descent us':>11} {'torch 1t us':>12} "
        f"{'torch Dt us':>12} {'1t/inner':>9} {'Dt/inner':>9} {'1t/descent':>11} "
        f"{'Dt/descent':>11}"
    )
    print("\nOne step of N balls (goal: ratios >= 3 at every N, >= 20 at N = 1)")
    print(header)
    print("-" * len(header))
    for n in sizes:
        start = rng.uniform((-1.5, -0.5), (1.5, 2.5), size=(n, 2))
        p = start.copy()
        opt = make_optimizer("adam", lr=LR)
        d = Descent(surface, "adam", start, lr=LR, tol=0.0, trail_length=1)
        step = _torch_step(torch, start, a, b)
        t = _median_rounds(
            {
                "inner": lambda p=p, opt=opt: opt.step_(p, surface.gradient(p)),
                "descent": d.step,
                "t1": one(step),
                "tD": many(step),
            },
            rounds,
            min_time,
        )
        print(
            f"{n:>8} {t['inner'] * 1e6:>10.1f} {t['descent'] * 1e6:>11.1f} "
            f"{t['t1'] * 1e6:>12.1f} {t['tD'] * 1e6:>12.1f} {t['t1'] / t['inner']:>9.2f} "
            f"{t['tD'] / t['inner']:>9.2f} "
            f"{t['t1'] / t['descent']:>11.2f} {t['tD'] / t['descent']:>11.2f}"
        )

    header = (
        f"{'N':>8} {'steps':>6} {'ge.descend ms':>14} {'torch 1t ms':>12} {'torch Dt ms':>12} "
        f"{'1t/ours':>8} {'Dt/ours':>8}"
    )
    print("\nWhole runs through ge.descend (Adam, lr 1e-4, tol 0: every step taken)")
    print(header)
    print("-" * len(header))
    for n, steps in ((1, 300), (100, 300), (10_000, 30), (100_000, 10), (1_000_000, 3)):
        if n not in sizes:
            continue
        start = rng.uniform((-1.5, -0.5), (1.5, 2.5), size=(n, 2))
        arg = tuple(start[0]) if n == 1 else start

        def ours(arg=arg, steps=steps):
            ge.descend(surface, "adam", arg, steps, tol=0.0, lr=LR)

        def theirs(start=start, steps=steps):
            step = _torch_step(torch, start, a, b)
            for _ in range(steps):
                step()

        t = _median_rounds({"ours": ours, "t1": one(theirs), "tD": many(theirs)}, rounds, 0)
        print(
            f"{n:>8} {steps:>6} {t['ours'] * 1e3:>14.2f} {t['t1'] * 1e3:>12.2f} "
            f"{t['tD'] * 1e3:>12.2f} {t['t1'] / t['ours']:>8.2f} {t['tD'] / t['ours']:>8.2f}"
        )
    torch.set_num_threads(default_threads)


if __name__ == "__main__":
    main()
