"""The teaching defaults: the table for the README, and the search that chose them.

    PYTHONPATH=src python benchmarks/teaching_table.py            # the markdown table
    PYTHONPATH=src python benchmarks/teaching_table.py --search banana --start=-1.5,1.5

The table runs every optimizer for 300 steps (10 seconds at the window's 30 steps/s)
from each catalogue entry's teaching start with its teaching lr, and reports the
distance travelled along the path, as a fraction of the domain's width, and how it ends.

``--search`` proposes learning rates for one surface and start: for each optimizer, the
rate on a 1-2-3-5 grid whose ball arrives (comes within 2% of the domain's width of where
it ends) closest to step 120 (4 seconds), among the rates whose ball does not diverge,
stays in the domain (unless ``--leave``), travels between a quarter of the width and three
widths, takes nine steps in ten under 3% of the width (rolling, not jumping) and ends
lower than it started; where none arrives, the one that ends lowest. sgd runs with
momentum 0.9. Newton keeps its full step (lr 1), which is its lesson. The catalogue's
values are these proposals, adjusted by hand where a lesson asks for it (a banana whose
plain descent zig-zags and crawls, a saddle that is passed and left, Newton's fraction
where its full step would leap off a non-convex surface).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from gradient_explorer.optim import teaching as tch
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface

GRID = [m * 10.0**e for e in range(-4, 1) for m in (1, 2, 3, 5)] + [1.0, 2.0, 3.0]
TARGET = 120


def arrival(traj, w: float) -> int:
    """The first step from which the ball stays within 2% of ``w`` of its final point."""
    d = np.linalg.norm(traj.positions - traj.positions[-1], axis=1)
    far = np.flatnonzero(d >= 0.02 * w)
    return int(far[-1] + 1) if far.size else 0


def propose(surface, start, momentum: float = 0.9, allow_leaving: bool = False):
    """``{optimizer: (lr, measure, arrival)}`` by the rule in the module docstring."""
    w = surface.extent
    out = {}
    for name in OPTIMIZERS:
        best = None
        grid = [1.0] if name == "newton" else GRID
        for lr in grid:
            hyper = {"lr": lr}
            if name == "sgd":
                hyper["momentum"] = momentum
            traj = tch.run(surface, name, tch.TEACHING_STEPS, start=start, **hyper)
            m = tch.measure(surface, traj)
            if m.ending == "diverged" or (m.ending == "left the domain" and not allow_leaving):
                continue
            if m.path_length < tch.VISIBLE_FRACTION * w and name != "newton":
                continue
            if m.path_length > 3 * w or not m.final_f <= traj.f[0]:
                continue  # thrashing about, or ending higher than it started
            hops = np.linalg.norm(np.diff(traj.positions, axis=0), axis=1)
            if name != "newton" and np.quantile(hops, 0.9) > 0.03 * w:
                continue  # jumping across the screen, not rolling
            a = arrival(traj, w)
            if a < tch.TEACHING_STEPS - 30:
                score = (0, abs(math.log(max(a, 1) / TARGET)))
            else:  # still on its way: the one that got furthest down
                score = (1, m.final_f)
            if best is None or score < best[0]:
                best = (score, lr, m, a)
        if best is not None:
            out[name] = best[1:]
    return out


def markdown(steps: int = tch.TEACHING_STEPS) -> str:
    """Surface x optimizer: path length / domain width, and the ending."""
    names = list(OPTIMIZERS)
    lines = [
        "| surface | start | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for definition in CATALOGUE.values():
        s = Surface.named(definition.name)
        start = ", ".join(f"{v:g}" for v in s.teaching.start)
        cells = []
        for name in names:
            m = tch.measure(s, tch.run(s, name, steps))
            cells.append(f"{m.path_length:.2f} {m.ending}")
        lines.append(f"| {s.name} | ({start}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", metavar="SURFACE")
    parser.add_argument("--start", metavar="X[,Y]")
    parser.add_argument("--leave", action="store_true", help="allow leaving the domain")
    args = parser.parse_args(argv)
    if not args.search:
        print(markdown())
        return 0
    s = Surface.named(args.search)
    start = tuple(float(v) for v in (args.start or "").split(",")) if args.start else None
    start = start or s.teaching.start
    w = s.extent
    for name, (lr, m, a) in propose(s, start, allow_leaving=args.leave).items():
        print(
            f"{name:10s} lr={lr:<8g} path={m.path_length / w:5.2f}w arrives={a:3d} "
            f"{m.ending:16s} end=({', '.join(f'{v:.3g}' for v in m.final)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
