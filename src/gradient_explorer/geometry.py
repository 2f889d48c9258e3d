"""CPU geometry for the scene, in numpy (no GL): grids, arrows, spheres, ticks.

Each function returns float32 arrays ready to upload; all positions are world
coordinates (x, y are the domain's coordinates, z the displayed height).
"""

from __future__ import annotations

import math

import numpy as np


def surface_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid of (u, v) in [0, 1]^2 and its triangle indices (uploaded once)."""
    if n < 2:
        raise ValueError("a grid needs at least 2 vertices per side")
    u = np.linspace(0.0, 1.0, n, dtype=np.float32)
    uv = np.stack(np.meshgrid(u, u, indexing="xy"), -1).reshape(-1, 2)
    i = np.arange(n * n, dtype=np.uint32).reshape(n, n)
    a, b, c, d = i[:-1, :-1], i[:-1, 1:], i[1:, :-1], i[1:, 1:]
    return uv, np.stack([a, b, c, b, d, c], -1).reshape(-1)


def flat_arrow_template(head_length: float = 0.35, shaft_width: float = 0.08) -> np.ndarray:
    """Triangles of a 2D arrow: x from 0 (tail) to 1 (tip), y across (widths relative)."""
    s, h = shaft_width / 2, 1.0 - head_length
    w = 0.22
    return np.array(
        [[0, -s], [h, -s], [h, s], [0, -s], [h, s], [0, s], [h, -w], [1, 0], [h, w]],
        dtype=np.float32,
    )


def _frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``direction`` and to each other."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(d, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(d, a)


def arrow_mesh(
    start, vector, radius: float, head_fraction: float = 0.3, sides: int = 10
) -> np.ndarray:
    """Triangles (k, 3) of a 3D arrow from ``start`` along ``vector``: a prism and a cone.

    Returns an empty array for a zero or non-finite vector.
    """
    start = np.asarray(start, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float64)
    length = float(np.linalg.norm(vector))
    if not np.isfinite(length) or length <= 0 or not np.all(np.isfinite(start)):
        return np.zeros((0, 3), dtype=np.float32)
    d = vector / length
    a, b = _frame(d)
    head = min(head_fraction * length, 6 * radius)
    neck = start + d * (length - head)
    tip = start + vector
    angles = np.linspace(0, 2 * math.pi, sides + 1)
    ring = np.cos(angles)[:, None] * a + np.sin(angles)[:, None] * b
    tris = []
    for k in range(sides):
        p0, p1 = ring[k] * radius, ring[k + 1] * radius
        q0, q1 = ring[k] * radius * 2.6, ring[k + 1] * radius * 2.6
        tris += [start + p0, neck + p0, neck + p1, start + p0, neck + p1, start + p1]
        tris += [neck + q0, tip, neck + q1, neck + q0, neck + q1, neck]
    return np.asarray(tris, dtype=np.float32)


def sphere_mesh(center, radius: float, rings: int = 10, segments: int = 16) -> np.ndarray:
    """Triangles (k, 3) of a UV sphere."""
    center = np.asarray(center, dtype=np.float64)
    theta = np.linspace(0, math.pi, rings + 1)
    phi = np.linspace(0, 2 * math.pi, segments + 1)
    pts = np.stack(
        [
            np.sin(theta)[:, None] * np.cos(phi)[None, :],
            np.sin(theta)[:, None] * np.sin(phi)[None, :],
            np.cos(theta)[:, None] * np.ones_like(phi)[None, :],
        ],
        -1,
    )
    a, b = pts[:-1, :-1], pts[:-1, 1:]
    c, d = pts[1:, :-1], pts[1:, 1:]
    quads = np.stack([a, c, b, b, c, d], 2).reshape(-1, 3)
    return (center + radius * quads).astype(np.float32)


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.zeros(0)
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step


def format_tick(value: float) -> str:
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text
