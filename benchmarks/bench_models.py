"""Model surfaces: time to the first frame, orbit frame rate, and one training step.

1. A 1,000-point model surface (line, logistic, mlp) from nothing to its first rendered
   frame, against a formula surface (the banana) the same way; each in a fresh process
   (import and GL context outside the clock; the surface's build, its shaders and the
   frame inside).
2. Orbit frames per second of the logistic model surface against the banana, same size
   and grid, in one process (the heights do not change during an orbit).
3. One training step for 100 balls of the line and logistic models on 1,000 points
   (our Descent with gd: the update plus the exact backprop gradient and loss at the new
   positions), against torch autograd doing the same in the same run (a (100, 2)
   parameter, the summed per-ball mean losses, backward, torch.optim.SGD step).

usage: python benchmarks/bench_models.py [--size 640x360] [--seconds 2] [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def synthetic(kind: str, n: int = 1000, seed: int = 0):
    from gradient_explorer.surfaces.datasets import Dataset, make_moons

    rng = np.random.default_rng(seed)
    if kind == "mlp":
        return make_moons(n, seed=seed)
    x = rng.normal(2.0, 1.5, n)
    if kind == "line":
        return Dataset("synthetic", x[:, None], 3 * x - 1 + rng.normal(0, 1, n), ("x", "y"))
    p = 1 / (1 + np.exp(-(1.5 * x - 3)))
    return Dataset("synthetic", x[:, None], (rng.uniform(size=n) < p) * 1.0, ("x", "label"))


def first_frame(kind: str, size: tuple[int, int]) -> float:
    """Seconds from nothing to the first frame (run in a fresh process)."""
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render.headless import HeadlessRenderer
    from gradient_explorer.surfaces.surface import Surface

    renderer = HeadlessRenderer()
    data = None if kind == "formula" else synthetic(kind)
    start = time.perf_counter()
    if kind == "formula":
        surface = Surface.from_expr("(1 - x)^2 + 100*(y - x^2)^2", domain=((-2, 2), (-1, 3)))
    else:
        surface = Surface.from_model(kind, data)
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    renderer.render(state, size)
    took = time.perf_counter() - start
    renderer.release()
    return took


def orbit_fps(kind: str, size: tuple[int, int], seconds: float) -> float:
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render.headless import HeadlessRenderer
    from gradient_explorer.surfaces.surface import Surface

    if kind == "formula":
        surface = Surface.from_expr("(1 - x)^2 + 100*(y - x^2)^2", domain=((-2, 2), (-1, 3)))
    else:
        surface = Surface.from_model(kind, synthetic(kind))
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    renderer = HeadlessRenderer()
    try:
        renderer.render(state, size)
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or frames < 4:
            state.camera.orbit(1.0, 0.0)
            state.camera.snap()
            renderer.render(state, size, copy=False)
            frames += 1
        return frames / (time.perf_counter() - start)
    finally:
        renderer.release()


def training_step(kind: str, repeat: int) -> tuple[float, float | None]:
    """Milliseconds per step: ours, and torch autograd's (None without torch)."""
    from gradient_explorer.optim.descent import Descent
    from gradient_explorer.surfaces.model_surface import from_model

    surface = from_model(kind, synthetic(kind), resolution=16)
    rng = np.random.default_rng(1)
    (x0, x1), (y0, y1) = surface.domain
    starts = np.column_stack([rng.uniform(x0, x1, 100), rng.uniform(y0, y1, 100)])
    lr = 1e-3
    d = Descent(surface, "gd", starts, lr=lr, tol=0.0, far=1e9)
    d.step(5)
    t = time.perf_counter()
    d.step(repeat)
    ours = (time.perf_counter() - t) / repeat * 1e3
    try:
        import torch
    except ImportError:
        return ours, None
    torch.set_num_threads(1)
    x = torch.tensor(surface.model.x)
    y = torch.tensor(surface.model.y)
    p = torch.tensor(starts, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    mse = torch.nn.MSELoss(reduction="none")
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")

    def step():
        opt.zero_grad()
        pred = p[:, 0:1] * x[None, :] + p[:, 1:2]
        target = y[None, :].expand_as(pred)
        per = mse(pred, target) if kind == "line" else bce(pred, target)
        per.mean(dim=1).sum().backward()  # each ball's own mean loss
        opt.step()

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(repeat):
        step()
    return ours, (time.perf_counter() - t) / repeat * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    if args.child:
        print(json.dumps(first_frame(args.child, size)))
        return
    print(f"# model surfaces ({args.size})")
    print("first frame, fresh process (s):")
    for kind in ("formula", "line", "logistic", "mlp"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--size", args.size],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        label = "banana (formula)" if kind == "formula" else f"{kind} model, 1000 points"
        print(f"  {label:28s} {float(out.strip().splitlines()[-1]):.3f}")
    f_formula = orbit_fps("formula", size, args.seconds)
    f_model = orbit_fps("logistic", size, args.seconds)
    print(
        f"orbit: banana {f_formula:.1f} fps, logistic model {f_model:.1f} fps "
        f"(ratio {f_model / f_formula:.2f})"
    )
    print("one training step, 100 balls, 1000 points (ms):")
    for kind in ("line", "logistic"):
        ours, ref = training_step(kind, args.repeat)
        ref_text = "torch not installed" if ref is None else f"torch autograd {ref:.3f}"
        print(f"  {kind:9s} ours {ours:.3f}   {ref_text}")


if __name__ == "__main__":
    main()
