"""Descent against torch.optim: Adam on the banana, one step of N balls and whole runs.

Run: ``.venv/bin/python benchmarks/bench_descent.py [--quick] [--engine auto|numba|numpy]
[--rounds R] [--optimizer adam|sgd|rmsprop|adagrad|nadam|gd]``

``--optimizer`` times another optimizer than Adam, against its torch.optim twin (``sgd``:
SGD with momentum 0.9; ``gd``: torch's plain SGD), the same lr and defaults otherwise.

``--engine`` chooses the compiled engine (:mod:`gradient_explorer.optim.fused`, numba,
the default where installed) or the numpy path, for reference; the results are the same
to the bit either way, only the time differs. The kernels are compiled (or loaded from
the cache folder) before the timings, threaded twins included; the time that took is
printed. With 2 or 3 numba threads the engine times its block kernels on one thread and
on threads and keeps the faster (``optim.fused._use_threads``): the figures at 10k balls
and up include that choice.

torch runs in a worker process of its own (``--torch-worker``), with torch's default
settings, and this process never imports it: the parent times ours, then asks the worker
for torch's time, then ours again (``R`` interleaved rounds, median of each, so that a busy
machine slows both alike); ratios are torch's time over ours. Why a process: in one
process torch's OpenMP workers keep spinning after each of torch's parallel regions and
take the cores from whatever runs next (numba's threads measured 100-1000x slower beside
them), so ours would be measured under a load that torch running alone never sees. Each
side, alone in its process, sees only the other's idle (blocked) threads. The worker is
not given ``OMP_WAIT_POLICY`` or any other setting: torch is timed as a user runs it.

Every timing, ours and torch's, one step and whole runs alike: a pause of ``--settle``
seconds (0.05: the other side's threads may still spin; interleaved, medians of 6, our
``ge.descend`` measured 3.0 ms without it and 2.45 ms with it at 100k balls, 14.6 and
13.4 ms at 1M, torch's the same within the noise), 2 untimed calls, then the mean of a
batch of at least 3 calls and ``min_time`` seconds (0.05 with ``--quick``, else 0.3); a
figure is the median of the rounds' means. Our calls include what a user's calls pay:
the engine's thread choice and its probes, a fresh output array per run.

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

The load average (1 minute) is printed before and after: on a shared machine, compare
runs made under a similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LR = 1e-4  # small: no ball converges or leaves during a measurement
#: ``--optimizer``: ours (name, extra hyperparameters) and torch.optim's class name
OPTIMIZERS = {
    "adam": ({}, "Adam"),
    "sgd": ({"momentum": 0.9}, "SGD"),
    "rmsprop": ({}, "RMSprop"),
    "adagrad": ({}, "Adagrad"),
    "nadam": ({}, "NAdam"),
    "gd": ({}, "SGD"),
}


#: Calls before a batch is timed, on both sides: torch's allocator and autograd graph,
#: and our engine's first calls (kernels loaded; with 2-3 numba threads the first call of a
#: size runs on one thread and the next on threads, see ``optim.fused._use_threads``).
WARM = 2
#: The fewest calls in a timed batch, on both sides.
MIN_CALLS = 3
#: Seconds the parent waits before each timing, ours or the worker's: the other side's
#: threads (torch's OpenMP pool, numba's) may spin for a while after their last parallel
#: region, holding a core the timing about to start needs.
SETTLE = 0.05


def _per_call(fn, min_time: float) -> float:
    """Seconds per call: the mean over a batch of at least ``min_time`` seconds and
    MIN_CALLS calls, after WARM untimed calls (the same for ours and torch's)."""
    for _ in range(WARM):
        fn()
    n, spent = 0, 0.0
    t0 = time.perf_counter()
    while spent < min_time or n < MIN_CALLS:
        fn()
        n += 1
        spent = time.perf_counter() - t0
    return spent / n


def _median_rounds(timers: dict, rounds: int, settle: float = SETTLE) -> dict:
    """Each timer (a function returning seconds per call) run ``rounds`` times,
    interleaved, each after a pause of ``settle`` seconds; the median of each."""
    times: dict = {k: [] for k in timers}
    for _ in range(rounds):
        for key, timer in timers.items():
            time.sleep(settle)
            times[key].append(timer())
    return {k: statistics.median(v) for k, v in times.items()}


def _torch_step(torch, start, a, b, optimizer="adam"):
    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    extra, cls = OPTIMIZERS[optimizer]
    topt = getattr(torch.optim, cls)([tp], lr=LR, **extra)

    def step():
        topt.zero_grad()
        x, y = tp[:, 0], tp[:, 1]
        loss = ((a - x) ** 2 + b * (y - x * x) ** 2).sum()
        loss.backward()
        topt.step()

    return step


def torch_worker() -> None:
    """The worker process: holds torch, times what the parent asks (one JSON line each)."""
    import torch

    default = torch.get_num_threads()
    print(json.dumps({"version": torch.__version__, "threads": default}), flush=True)
    steps: dict = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        threads = cmd["threads"] or default
        if torch.get_num_threads() != threads:  # setting it rebuilds torch's pool
            torch.set_num_threads(threads)
        start = np.load(cmd["start"])
        a, b, name = cmd["a"], cmd["b"], cmd["optimizer"]
        if cmd["op"] == "step":  # one parameter per start, its optimizer state kept
            if (cmd["start"], name) not in steps:
                steps[cmd["start"], name] = _torch_step(torch, start, a, b, name)
            fn = steps[cmd["start"], name]
        else:

            def fn(start=start, k=cmd["steps"], a=a, b=b, name=name):
                step = _torch_step(torch, start, a, b, name)
                for _ in range(k):
                    step()

        print(json.dumps({"seconds": _per_call(fn, cmd["min_time"])}), flush=True)


class TorchWorker:
    """The parent's side of :func:`torch_worker`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--torch-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(self.proc.stdout.readline())
        self.version, self.threads = hello["version"], hello["threads"]
        self.files: dict = {}

    def timer(self, op: str, start: np.ndarray, threads: int, min_time: float, **more):
        known = self.files.get(id(start))
        if known is None:
            path = str(self.folder / f"start{len(self.files)}.npy")
            np.save(path, start)
            # the array is kept: its id is then never another array's
            self.files[id(start)] = known = (start, path)
        path = known[1]

        def run():
            cmd = {"op": op, "start": path, "threads": threads, "min_time": min_time, **more}
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            return json.loads(self.proc.stdout.readline())["seconds"]

        return run

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings, N up to 1e6")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument(
        "--engine", choices=("auto", "numba", "numpy"), default="auto",
        help="the compiled engine where it pays (auto), always (numba), or numpy only",
    )  # fmt: skip
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam")
    parser.add_argument(
        "--settle", type=float, default=SETTLE,
        help=f"seconds of pause before each timing, ours and torch's ({SETTLE})",
    )  # fmt: skip
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker()
        return
    import gradient_explorer as ge
    from gradient_explorer.optim.descent import Descent
    from gradient_explorer.optim.optimizers import make_optimizer
    from gradient_explorer.surfaces import fastcode
    from gradient_explorer.surfaces.surface import Surface

    fastcode.set_mode(args.engine)
    name = args.optimizer
    extra = OPTIMIZERS[name][0]
    min_time = 0.05 if args.quick else 0.3
    rounds = max(1, args.rounds)
    sizes = args.sizes or [1, 100, 10_000, 100_000, 1_000_000]
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"each figure: the median of {rounds} interleaved rounds; a round: {WARM} untimed "
        f"calls, then the mean of at least {MIN_CALLS} calls and {min_time} s, after a "
        f"pause of {args.settle} s (the same for ours and torch's)"
    )
    surface = Surface.named("banana")
    a, b = (surface.param_values[k] for k in ("a", "b"))
    rng = np.random.default_rng(0)
    if fastcode.available():
        import numba

        t0 = time.perf_counter()
        warm = np.zeros((fastcode.GRADIENT_MIN, 2))
        make_optimizer(name, lr=LR, **extra).step_(warm, surface.gradient(warm))
        # three calls of many balls: with 2-3 threads the first runs on one, the second
        # compiles (or loads) the threaded twin (see optim.fused._use_threads)
        many = np.random.default_rng(1).uniform((-1.5, -0.5), (1.5, 2.5), size=(8192, 2))
        d = Descent(surface, name, many, lr=LR, tol=0.0, **extra)
        for _ in range(3):
            ge.descend(surface, name, many, 1, lr=LR, tol=0.0, **extra)
            d.step()
        print(
            f"engine: numba {numba.__version__}, {numba.get_num_threads()} thread(s); kernels "
            f"compiled or loaded from the cache in {time.perf_counter() - t0:.2f} s"
        )
    else:
        print("engine: numpy only")
    folder = tempfile.TemporaryDirectory(prefix="bench-descent-")
    worker = TorchWorker(Path(folder.name))
    default_threads = worker.threads
    print(
        f"torch {worker.version} in its own process: 1 thread and default "
        f"{default_threads} thread(s)"
    )

    def ours(fn):
        return lambda: _per_call(fn, min_time)

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
        opt = make_optimizer(name, lr=LR, **extra)
        d = Descent(surface, name, start, lr=LR, tol=0.0, trail_length=1, **extra)
        t = _median_rounds(
            {
                "inner": ours(lambda p=p, opt=opt: opt.step_(p, surface.gradient(p))),
                "descent": ours(d.step),
                "t1": worker.timer("step", start, 1, min_time, a=a, b=b, optimizer=name),
                "tD": worker.timer(
                    "step", start, default_threads, min_time, a=a, b=b, optimizer=name
                ),
            },
            rounds,
            args.settle,
        )
        print(
            f"{n:>8} {t['inner'] * 1e6:>10.1f} {t['descent'] * 1e6:>11.1f} "
            f"{t['t1'] * 1e6:>12.1f} {t['tD'] * 1e6:>12.1f} {t['t1'] / t['inner']:>9.2f} "
            f"{t['tD'] / t['inner']:>9.2f} "
            f"{t['t1'] / t['descent']:>11.2f} {t['tD'] / t['descent']:>11.2f}",
            flush=True,
        )

    header = (
        f"{'N':>8} {'steps':>6} {'ge.descend ms':>14} {'torch 1t ms':>12} {'torch Dt ms':>12} "
        f"{'1t/ours':>8} {'Dt/ours':>8}"
    )
    print(f"\nWhole runs through ge.descend ({name} {extra}, lr 1e-4, tol 0: every step taken)")
    print(header)
    print("-" * len(header))
    for n, steps in ((1, 300), (100, 300), (10_000, 30), (100_000, 10), (1_000_000, 3)):
        if n not in sizes:
            continue
        start = rng.uniform((-1.5, -0.5), (1.5, 2.5), size=(n, 2))
        arg = tuple(start[0]) if n == 1 else start

        def run(arg=arg, steps=steps):
            ge.descend(surface, name, arg, steps, tol=0.0, lr=LR, **extra)

        t = _median_rounds(
            {
                "ours": ours(run),
                "t1": worker.timer(
                    "run", start, 1, min_time, steps=steps, a=a, b=b, optimizer=name
                ),
                "tD": worker.timer(
                    "run", start, default_threads, min_time, steps=steps, a=a, b=b, optimizer=name
                ),
            },
            rounds,
            args.settle,
        )
        print(
            f"{n:>8} {steps:>6} {t['ours'] * 1e3:>14.2f} {t['t1'] * 1e3:>12.2f} "
            f"{t['tD'] * 1e3:>12.2f} {t['t1'] / t['ours']:>8.2f} {t['tD'] / t['ours']:>8.2f}",
            flush=True,
        )
    worker.close()
    folder.cleanup()
    print(f"\nload average (1 min) {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
