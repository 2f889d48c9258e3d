"""Frame rate with a 10,000-ball swarm stepping every frame against the same scene bare.

Both runs render Himmelblau headless at the same size, orbiting one degree a frame and
reading every frame back; the swarm run also takes one optimizer step per frame and
draws the balls, their floor discs and their trails. The ratio (swarm / bare) is what
counts: absolute frame rates depend on the machine (llvmpipe renders on the CPU).

usage: python benchmarks/bench_swarm.py [--balls 10000] [--size 1280x720] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

from gradient_explorer.app.state import AppState
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.surfaces.surface import Surface


def measure(renderer, state, size, seconds: float, step: bool) -> tuple[float, dict]:
    """Frames per second over ``seconds``, and where the time went."""
    ds = state.descent
    renderer.render(state, size, overlay=False)  # warm-up: shaders, buffers
    frames, t_step, t0 = 0, 0.0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if step:
            s = time.perf_counter()
            ds.step(1)
            t_step += time.perf_counter() - s
        state.camera.orbit(1.0, 0.0)
        state.camera.snap()
        renderer.render(state, size, overlay=False)
        frames += 1
    elapsed = time.perf_counter() - t0
    return frames / elapsed, {"step_ms": 1e3 * t_step / max(frames, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--balls", type=int, default=10_000)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-trails", action="store_true")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    surface = Surface.named("himmelblau")
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    renderer = HeadlessRenderer(grid=256)
    try:
        bare, _ = measure(renderer, state, size, args.seconds, step=False)
        ds = state.descent
        ds.kind, ds.swarm_size, ds.optimizer = "swarm", args.balls, "adam"
        ds.hyper["adam"]["lr"] = 0.02
        ds.tol = 0.0  # keep every ball running: the worst case
        ds.glyphs.trails = not args.no_trails
        ds.start_run(surface)
        swarm, info = measure(renderer, state, size, args.seconds, step=True)
    finally:
        renderer.release()
    print(f"bare scene:            {bare:7.1f} frames/s")
    print(f"{args.balls} balls stepping: {swarm:7.1f} frames/s (step {info['step_ms']:.1f} ms)")
    print(f"ratio swarm / bare:    {swarm / bare:7.2f}")


if __name__ == "__main__":
    main()
