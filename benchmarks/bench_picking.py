"""Microseconds per mouse pick: screen_to_ray + pick_height_surface on every catalogue surface.

Run: ``.venv/bin/python benchmarks/bench_picking.py [--quick] [--steps N]``

For each surface the camera frames the domain box (z range from a 256 x 256 grid of
displayed heights, as the app's mesh gives it) from the home three-quarter view, and the
mouse visits random positions in a letterboxed HiDPI viewport. Columns:

* ``ray``: ``screen_to_ray`` alone (the camera caches its inverse view-projection while
  its state is unchanged, as within one frame); ``ray/cold``: with that cache cleared.
* ``hit``, ``hit p99``: ``pick_height_surface`` with the z range passed (the normal case)
  for mouse positions over the surface: mean and 99th percentile.
* ``miss``: the same for positions that miss (background, letterbox-free area).
* ``hit/noz``: hits without the z range (estimated from a 65 x 65 grid per pick).
* ``hits``: fraction of mouse positions that hit the surface.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.picking import pick_height_surface, screen_to_ray

FB = (2400, 1600)
VIEWPORT = (200, 0, 2000, 1600)  # pillarboxed, framebuffer pixels, bottom-left origin
RATIO = 2.0


def holed(xy: np.ndarray) -> np.ndarray:
    r2 = xy[:, 0] ** 2 + xy[:, 1] ** 2
    return np.where(r2 < 0.36, np.nan, 0.5 * xy[:, 0] * xy[:, 1] + 1.0)


def cases():
    # every surface of the catalogue (curves are picked on the plot, not by rays)
    for name in CATALOGUE:
        s = Surface.named(name)
        if s.dim == 2:
            yield name, s.height, s.domain
    yield "numpy holed sheet", holed, ((-2.0, 2.0), (-2.0, 2.0))


def z_range(height_fn, domain, n=256):
    x = np.linspace(*domain[0], n)
    y = np.linspace(*domain[1], n)
    xy = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        h = height_fn(xy)
    return float(np.nanmin(h)), float(np.nanmax(h))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 picks per surface")
    parser.add_argument("--steps", type=int, default=256, help="coarse samples per ray")
    args = parser.parse_args()
    n = 200 if args.quick else 2000
    rng = np.random.default_rng(7)

    print(f"{n} mouse positions per surface, steps={args.steps}; microseconds per call")
    print(
        f"{'surface':18s} {'ray':>6s} {'ray/cold':>8s} {'hit':>6s} {'hit p99':>8s} "
        f"{'miss':>6s} {'hit/noz':>8s} {'hits':>5s}"
    )
    us = 1e6
    worst = (0.0, "")
    for name, height_fn, domain in cases():
        zlo, zhi = z_range(height_fn, domain)
        box = (*domain, (zlo, zhi))
        cam = OrbitCamera()
        cam.frame([a for a, _ in box], [b for _, b in box], aspect=VIEWPORT[2] / VIEWPORT[3])
        cam.snap()
        vx, vy, vw, vh = VIEWPORT
        mice = np.column_stack(
            [
                (vx + vw * rng.random(n)) / RATIO,
                (FB[1] - vy - vh * rng.random(n)) / RATIO,
            ]
        )

        t0 = time.perf_counter()
        rays = [screen_to_ray(cam, m, VIEWPORT, FB, pixel_ratio=RATIO) for m in mice]
        t_ray = (time.perf_counter() - t0) / n
        cold = []
        for m in mice[:200]:
            cam._cache.clear()  # measure the matrix construction too
            t0 = time.perf_counter()
            screen_to_ray(cam, m, VIEWPORT, FB, pixel_ratio=RATIO)
            cold.append(time.perf_counter() - t0)

        per = np.empty(n)
        hit = np.zeros(n, dtype=bool)
        for i, (origin, direction) in enumerate(rays):
            t0 = time.perf_counter()
            p = pick_height_surface(origin, direction, height_fn, box, steps=args.steps)
            per[i] = time.perf_counter() - t0
            hit[i] = p is not None

        noz = []
        for i in np.flatnonzero(hit)[:200]:
            t0 = time.perf_counter()
            pick_height_surface(*rays[i], height_fn, domain, steps=args.steps)
            noz.append(time.perf_counter() - t0)

        p99 = float(np.percentile(per[hit], 99)) if hit.any() else float("nan")
        worst = max(worst, (p99, name))
        print(
            f"{name:18s} {t_ray * us:6.1f} {np.mean(cold) * us:8.1f} "
            f"{per[hit].mean() * us:6.1f} {p99 * us:8.1f} "
            f"{per[~hit].mean() * us:6.1f} {np.mean(noz) * us:8.1f} {hit.mean():5.0%}"
        )
    print(f"largest hit p99: {worst[0] * us:.1f} us ({worst[1]}); goal <= 1000 us")


if __name__ == "__main__":
    main()
