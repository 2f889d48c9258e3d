"""Frame rate of the full default scene against the bare-surface baseline, in one run.

The full scene: lit surface, level curves, floor map, the point with its arrows and
tangent plane, one ball rolling, axes with labels in the imgui overlay.

The baseline is ../shared/bench/bare_surface.py: one lit draw with analytic normals and
no overlay. Both render the log-scaled banana at the same grid and size, orbiting one
degree a frame, reading every frame back. The ratio (ours / bare) is what counts:
absolute frame rates depend on the machine.

usage: python benchmarks/bench_frame.py [--grid 128 512] [--size 1280x720] [--seconds 3]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE_CANDIDATES = [
    ROOT.parent / "shared/bench/bare_surface.py",
    ROOT / "../shared/bench/bare_surface.py",
]


def bare_fps(grid: int, size: str, seconds: float, samples: int) -> tuple[float, str]:
    script = next((p for p in BARE_CANDIDATES if p.exists()), None)
    if script is None:
        raise SystemExit("bare_surface.py not found: expected it in ../shared/bench/")
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "--grid",
            str(grid),
            "--size",
            size,
            "--seconds",
            str(seconds),
            "--samples",
            str(samples),
            "--readback",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fps = float(re.search(r"([\d.]+) fps", out).group(1))
    return fps, out.split("|")[0].strip()


def our_fps(grid: int, size: str, seconds: float, samples: int, overlay: bool) -> float:
    from gradient_explorer.app.state import AppState, ViewOptions
    from gradient_explorer.render.headless import HeadlessRenderer
    from gradient_explorer.surfaces.surface import Surface

    w, h = (int(v) for v in size.split("x"))
    state = AppState.for_surface(Surface.named("banana"), aspect=w / h, view=ViewOptions(grid=grid))
    state.point = (-0.5, 1.5)
    state.descent.start_run(state.surface, (-1.5, 2.5))  # the default scene's one ball
    state.descent.playing = True
    renderer = HeadlessRenderer(grid=grid)
    try:
        renderer.render(state, (w, h), samples, overlay)  # compile shaders outside the clock
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or frames < 4:
            state.camera.orbit(1.0, 0.0)
            state.camera.snap()
            state.descent.step(1)
            renderer.render(state, (w, h), samples, overlay, copy=False)  # reads back
            frames += 1
        return frames / (time.perf_counter() - start)
    finally:
        renderer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=0, help="MSAA for both (0)")
    args = parser.parse_args()
    print(f"size {args.size}, readback every frame, msaa {args.samples}, orbit 1 deg/frame")
    print(f"{'grid':>6} {'bare fps':>10} {'ours fps':>10} {'ratio':>7}   renderer")
    for grid in args.grid:
        bare, renderer = bare_fps(grid, args.size, args.seconds, args.samples)
        ours = our_fps(grid, args.size, args.seconds, args.samples, overlay=True)
        print(f"{grid:>6} {bare:>10.1f} {ours:>10.1f} {ours / bare:>7.2f}   {renderer}")


if __name__ == "__main__":
    main()
