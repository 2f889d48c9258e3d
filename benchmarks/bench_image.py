"""A 1024x1024 photo as a surface: command to first frame, and orbit frame rate.

1. Seconds from ``gradient-explorer render --image photo.png`` to its PNG, in a fresh
   process, against the same command for a formula surface (``--surface banana``): the
   photo's extra cost is decoding, the Sobel fields and the texture upload (goal: within
   1 s of the formula's).
2. Orbit frame rate of the lit photo surface (the default scene: lit, level curves, axes
   and overlay; one degree a frame, every frame read back) against
   ../shared/bench/bare_surface.py at the same grid and size (goal: 0.8x or better).

The photo is the bundled camera sample scaled to 1024x1024 (Lanczos), written to a
temporary folder.

usage: python benchmarks/bench_image.py [--grid 1024] [--size 1280x720] [--seconds 3]
       [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_frame
from bench_frame import bare_fps

ROOT = Path(__file__).resolve().parents[1]
# A worktree beside the main checkout finds shared/ one level further up.
bench_frame.BARE_CANDIDATES.append(ROOT.parents[1] / "shared/bench/bare_surface.py")


def make_photo(folder: Path, side: int = 1024) -> Path:
    from PIL import Image

    from gradient_explorer.surfaces.images import sample_path

    path = folder / f"camera{side}.png"
    Image.open(sample_path("camera")).resize((side, side), Image.LANCZOS).save(path)
    return path


def command_seconds(args: list[str], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gradient_explorer.cli import main; sys.exit(main())",
            "render",
            *args,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def scene_fps(surface, grid: int, size: str, seconds: float) -> float:
    """The default scene of ``surface`` orbiting, every frame read back."""
    from gradient_explorer.app.state import AppState, ViewOptions
    from gradient_explorer.render.headless import HeadlessRenderer

    w, h = (int(v) for v in size.split("x"))
    state = AppState.for_surface(surface, aspect=w / h, view=ViewOptions(grid=grid))
    renderer = HeadlessRenderer(grid=grid)
    try:
        renderer.render(state, (w, h), 0, True)  # shaders and the upload outside the clock
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or frames < 4:
            state.camera.orbit(1.0, 0.0)
            state.camera.snap()
            renderer.render(state, (w, h), 0, True, copy=False)
            frames += 1
        return frames / (time.perf_counter() - start)
    finally:
        renderer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=1024)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = make_photo(folder)
        photo_s, formula_s = [], []
        for _ in range(args.runs):  # interleaved: the machine's load hits both alike
            photo_s.append(
                command_seconds(["--image", str(photo), "--size", args.size], folder / "p.png")
            )
            formula_s.append(
                command_seconds(["--surface", "banana", "--size", args.size], folder / "f.png")
            )
        p, f = statistics.median(photo_s), statistics.median(formula_s)
        print(f"command to first frame ({args.size}, median of {args.runs}, fresh processes):")
        print(f"  --image 1024x1024 photo {p:6.2f} s")
        print(f"  --surface banana        {f:6.2f} s   (photo - formula: {p - f:+.2f} s)")
        from gradient_explorer.surfaces.surface import Surface

        bare, renderer = bare_fps(args.grid, args.size, args.seconds, 0)
        ours = scene_fps(Surface.from_image(photo), args.grid, args.size, args.seconds)
        formula = scene_fps(Surface.named("banana"), args.grid, args.size, args.seconds)
        print(f"orbit at grid {args.grid}, {args.size}, readback every frame ({renderer}):")
        print(f"  bare surface       {bare:6.2f} fps")
        print(f"  lit photo scene    {ours:6.2f} fps   ratio to bare {ours / bare:.2f}")
        print(f"  banana scene       {formula:6.2f} fps   ratio to bare {formula / bare:.2f}")


if __name__ == "__main__":
    main()
