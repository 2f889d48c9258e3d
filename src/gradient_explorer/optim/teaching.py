"""Teaching defaults, measured: how far each ball rolls and what it shows in 10 seconds.

The catalogue gives every entry a :class:`~gradient_explorer.surfaces.surface.Teaching` record (a
start and a learning rate per optimizer). This module runs those defaults and measures
what a learner would see: the path length, how the run ends, and the "character" of each
optimizer -- plain descent zig-zags across a narrow valley, momentum overshoots and comes
back, Adam keeps a near-constant step, Newton drops to the bottom of the local quadratic.
``benchmarks/teaching_table.py`` prints the table; ``tests/test_teaching.py`` checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradient_explorer.optim.descent import Trajectory, descend
from gradient_explorer.optim.optimizers import OPTIMIZERS

#: The window's default speed is 30 steps a second, so 10 seconds are 300 steps.
TEACHING_STEPS = 300

#: A ball must travel at least this fraction of the domain's width to be seen moving.
VISIBLE_FRACTION = 0.25

ENDINGS = ("converged", "settled", "moving", "left the domain", "diverged")


def minima(surface) -> np.ndarray:
    """The known minima at the current parameters, ``(m, dim)`` (possibly empty)."""
    points = [p for p, kind in surface.critical_points if kind == "minimum"]
    return np.array(points, dtype=np.float64).reshape(len(points), surface.dim)


def run(surface, optimizer: str, steps: int = TEACHING_STEPS, start=None, **hyper) -> Trajectory:
    """Roll one ball with the teaching defaults (``hyper`` and ``start`` override them).

    ``tol=0``: the ball keeps going for all ``steps``, so its path is the one on screen.
    """
    return descend(surface, optimizer, start, steps, tol=0.0, teaching=True, **hyper)


@dataclass(frozen=True)
class Measure:
    """What one run shows."""

    optimizer: str
    path_length: float  # the distance the ball travelled, along its path
    displacement: float  # from start to end, straight
    final: tuple[float, ...]
    final_f: float
    distance_to_minimum: float | None  # to the nearest known minimum; None if none known
    ending: str  # one of ENDINGS
    steps: int


def measure(surface, traj: Trajectory) -> Measure:
    """Path length, final point and f, distance to the nearest minimum, and the ending."""
    pos = traj.positions
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    path = float(steps.sum())
    w = surface.extent
    mins = minima(surface)
    dist = None
    if len(mins):
        dist = float(np.min(np.linalg.norm(mins - pos[-1], axis=1)))
    bounds = np.asarray(surface.domain, dtype=np.float64)
    inside = bool(np.all((pos[-1] >= bounds[:, 0]) & (pos[-1] <= bounds[:, 1])))
    tail = float(steps[-30:].sum()) if len(steps) else 0.0
    if traj.status == "diverged":
        ending = "diverged"
    elif traj.status == "converged" or (dist is not None and dist < 1e-3 * w):
        ending = "converged"
    elif not inside:
        ending = "left the domain"
    elif tail < 1e-3 * w:
        ending = "settled"
    else:
        ending = "moving"
    return Measure(
        optimizer=traj.optimizer,
        path_length=path,
        displacement=float(np.linalg.norm(pos[-1] - pos[0])),
        final=tuple(float(v) for v in pos[-1]),
        final_f=float(traj.f[-1]),
        distance_to_minimum=dist,
        ending=ending,
        steps=len(pos) - 1,
    )


# ---------------------------------------------------------------------- character


def sign_changes(values: np.ndarray, floor: float = 0.0) -> int:
    """How often consecutive entries change sign (entries within ``floor`` of 0 skipped)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.abs(v) > floor]
    return int(np.count_nonzero(np.sign(v[1:]) != np.sign(v[:-1])))


def zigzags(traj: Trajectory, across, floor: float = 1e-9) -> int:
    """Sign changes of the step's across-valley part: ``across(positions)`` is the signed
    distance from the valley floor (for the banana, ``y - x^2``)."""
    r = across(traj.positions)
    return sign_changes(np.diff(r), floor)


def overshoot(traj: Trajectory, target) -> float:
    """How far the ball went past ``target`` along the line from its start, and came back.

    The projection of (position - target) on the start's direction goes negative when the
    ball passes the target; the overshoot is the deepest such excursion, counted only if
    the ball then came back towards the target (0 when it never passed it).
    """
    pos = traj.positions
    target = np.asarray(target, dtype=np.float64)
    u = pos[0] - target
    norm = np.linalg.norm(u)
    if norm == 0:
        return 0.0
    proj = (pos - target) @ (u / norm)
    k = int(np.argmin(proj))
    if proj[k] >= 0 or k == len(proj) - 1 or proj[-1] <= proj[k]:
        return 0.0
    return float(-proj[k])


def step_variation(traj: Trajectory, first: int = 50) -> float:
    """The coefficient of variation (std / mean) of the first ``first`` step lengths."""
    steps = np.linalg.norm(np.diff(traj.positions[: first + 1], axis=0), axis=1)
    mean = float(steps.mean())
    return float(steps.std() / mean) if mean > 0 else math.inf


def quadratic_bottom(surface, point) -> np.ndarray | None:
    """The bottom of the local quadratic at ``point`` (None unless the Hessian there is
    positive definite): ``point - H^-1 g``."""
    p = np.asarray(point, dtype=np.float64).reshape(1, surface.dim)
    g = surface.gradient(p).reshape(surface.dim)
    h = surface.hessian(p).reshape(surface.dim, surface.dim)
    if not np.all(np.isfinite(h)) or np.min(np.linalg.eigvalsh(h)) <= 0:
        return None
    return p[0] - np.linalg.solve(h, g)


def table(surfaces, steps: int = TEACHING_STEPS) -> list[tuple[str, list[Measure]]]:
    """Every optimizer's measure on each surface, with the teaching defaults."""
    rows = []
    for s in surfaces:
        rows.append((s.name, [measure(s, run(s, name, steps)) for name in OPTIMIZERS]))
    return rows


__all__ = [
    "ENDINGS",
    "TEACHING_STEPS",
    "VISIBLE_FRACTION",
    "Measure",
    "measure",
    "minima",
    "overshoot",
    "quadratic_bottom",
    "run",
    "sign_changes",
    "step_variation",
    "table",
    "zigzags",
]
