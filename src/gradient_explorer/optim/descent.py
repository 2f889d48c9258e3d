"""Balls rolling downhill: many balls, one optimizer, on one surface.

:class:`Descent` moves a set of balls and says, per ball, whether it is still running,
has converged (gradient length under ``tol``) or has diverged. Divergence is a lesson,
not a crash: a step that makes the position, f or the gradient non-finite, or that lands
more than ``far`` domain extents from the domain's centre, stops that ball at the step it
happened and keeps it at its last finite position. Positions handed out for drawing are
always finite.

Masking is done here: the runner passes the mask of running balls to the optimizer
(:meth:`gradient_explorer.optim.optimizers.Optimizer.step_`), so a stopped ball never moves and
its optimizer state is frozen.

:func:`descend` runs one ball and returns a :class:`Trajectory` that writes CSV or JSON
(or N balls from an ``(N, 2)`` start: :class:`Trajectories`).
A race of several optimizers from one start is the app's
:class:`~gradient_explorer.app.descent_mode.DescentState` (``kind="race"``), which
steps one :class:`Descent` per racer with :func:`race_row` for its history.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradient_explorer.errors import UsageError, check_state_keys
from gradient_explorer.optim import fused
from gradient_explorer.optim.minibatch import MiniBatches
from gradient_explorer.optim.optimizers import Optimizer, make_optimizer
from gradient_explorer.optim.schedules import Schedule, parse_schedule

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "RUNNING",
    "STATUS_NAMES",
    "Descent",
    "Trajectories",
    "Trajectory",
    "descend",
]

RUNNING, CONVERGED, DIVERGED = 0, 1, 2


def first_ball_diverged(descents) -> list[bool]:
    """For each run, whether its first ball (the one a race plots) has diverged."""
    return [d.n > 0 and int(d.status_codes[0]) == DIVERGED for d in descents]


def race_row(descents, diverged_before: list[bool] | None = None) -> list[float]:
    """f of each run's first ball; NaN for a run without balls or that diverged before."""
    gone = diverged_before or [False] * len(descents)
    return [
        math.nan if d.n == 0 or was_gone else float(d.f[0])
        for d, was_gone in zip(descents, gone, strict=True)
    ]


STATUS_NAMES = ("running", "converged", "diverged")
_STATUS_ARRAY = np.array(STATUS_NAMES)

DEFAULT_TOL = 1e-6
DEFAULT_TRAIL = 512
DEFAULT_FAR = 10.0
_NOT_FINITE = "start points must be finite"
#: Balls per block when many take a step together (their temporaries fit in the cache).
BLOCK = 8192


def _as_optimizer(optimizer: Optimizer | str, hyper: dict[str, Any]) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if hyper:
            raise UsageError("give hyperparameters to the optimizer, not with an instance")
        return optimizer
    return make_optimizer(str(optimizer), **hyper)


class Descent:
    """N balls on one surface under one optimizer.

    Parameters
    ----------
    surface : Surface
        The height function (``f``, ``gradient``, ``hessian``, ``domain``, ``dim``).
    optimizer : Optimizer or str
        An optimizer instance (owned by this Descent from now on) or a registry name.
    positions : array_like
        Starting points, ``(N, 2)`` on a surface (a single ``(2,)`` point is allowed) or
        ``(N,)`` on a curve.
    tol : float
        A ball whose gradient length falls under ``tol`` has converged.
    trail_length : int
        How many past positions each ball keeps for drawing (a ring buffer).
    far : float
        A ball more than ``far`` domain extents from the domain's centre has diverged.
    schedule : Schedule or str, optional
        A learning-rate schedule (:mod:`gradient_explorer.optim.schedules`) over the
        optimizer's lr, stepped after every step as torch's are; one schedule for all
        balls (a ball added later joins at the current rate).
    **hyper
        Hyperparameters when ``optimizer`` is a name.

    Attributes
    ----------
    positions : ndarray
        ``(N, dim)`` float64 (``(N, 1)`` on a curve), always finite.
    f, gradient, grad_norm : ndarray
        f, gradient and gradient length at ``positions``.
    steps : ndarray of int
        Successful steps taken by each ball.
    stopped_at : ndarray of int
        The step at which each ball converged or diverged; -1 while running.
    """

    def __init__(
        self,
        surface,
        optimizer: Optimizer | str,
        positions,
        *,
        tol: float = DEFAULT_TOL,
        trail_length: int = DEFAULT_TRAIL,
        far: float = DEFAULT_FAR,
        schedule: Schedule | str | None = None,
        **hyper: Any,
    ) -> None:
        if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
            raise UsageError(f"tol must be a finite number >= 0, got {tol!r}")
        if not (isinstance(trail_length, int) and trail_length >= 1):
            raise UsageError(f"trail_length must be an integer >= 1, got {trail_length!r}")
        if not (isinstance(far, int | float) and far > 0):
            raise UsageError(f"far must be a number > 0, got {far!r}")
        self.surface = surface
        self.optimizer = _as_optimizer(optimizer, hyper)
        self.schedule: Schedule | None = None
        self.set_schedule(schedule)
        self.tol = float(tol)
        self.trail_length = int(trail_length)
        self.dim = int(surface.dim)
        bounds = np.asarray(surface.domain, dtype=np.float64).reshape(self.dim, 2)
        self._centre = bounds.mean(axis=1)
        self._limit = far * float((bounds[:, 1] - bounds[:, 0]).max())
        self._starts = self._check_points(positions)
        # A model surface with a batch size: each ball steps on its own shuffled batches
        # (the surface's batch_size, seed, n_examples and batch_gradient; f stays full).
        size = getattr(surface, "batch_size", None)
        self.batches = (
            MiniBatches(surface.n_examples, size, getattr(surface, "seed", 0)) if size else None
        )
        self.reset()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def swarm(
        cls,
        surface,
        optimizer: Optimizer | str,
        n: int,
        rng: np.random.Generator | int | None = None,
        *,
        grid: bool = False,
        bounds=None,
        **kwargs: Any,
    ) -> Descent:
        """Spread ``n`` balls over the domain, uniformly at random or on a grid.

        Parameters
        ----------
        n : int
            Number of balls (with ``grid=True``, the grid has ``ceil(sqrt(n))`` points a
            side, trimmed to ``n``).
        rng : Generator or int, optional
            Random source (or seed) for the uniform spread.
        grid : bool
            Place the balls on a regular grid (cell centres) instead.
        bounds : sequence of (lo, hi), optional
            The box to spread them over (default: the surface's domain).
        **kwargs
            Passed on to :class:`Descent` (``tol``, ``trail_length``, hyperparameters).
        """
        if not (isinstance(n, int) and n >= 1):
            raise UsageError(f"n must be an integer >= 1, got {n!r}")
        box = surface.domain if bounds is None else bounds
        bounds = np.asarray(box, dtype=np.float64).reshape(surface.dim, 2)
        lo, hi = bounds[:, 0], bounds[:, 1]
        if grid:
            side = math.ceil(n ** (1 / surface.dim))
            axes = [
                lo[i] + (np.arange(side) + 0.5) * (hi[i] - lo[i]) / side for i in range(len(lo))
            ]
            mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(lo))
            points = mesh[:n]
        else:
            gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            points = gen.uniform(lo, hi, size=(n, len(lo)))
        if surface.dim == 1:
            points = points[:, 0]
        return cls(surface, optimizer, points, **kwargs)

    def _check_points(self, positions, copy: bool = True, finite: bool = True) -> np.ndarray:
        """``positions`` as (n, dim) float64, checked; ``copy=False``: the caller's array
        itself where it already is one (for a reader that never writes it); ``finite``:
        False for a caller that checks the values itself."""
        pts = np.array(positions, dtype=np.float64, copy=copy or None)
        if self.dim == 1:
            pts = pts.reshape(-1, 1) if pts.ndim <= 1 else pts
        elif pts.ndim == 1:
            pts = pts.reshape(1, -1)
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise UsageError(
                f"start points need {self.dim} coordinate{'s' if self.dim > 1 else ''} "
                f"each, got shape {np.shape(positions)}"
            )
        if finite and not np.isfinite(pts).all():
            raise UsageError(_NOT_FINITE)
        return pts

    def set_schedule(self, schedule: Schedule | str | None) -> None:
        """Use ``schedule`` (None or 'constant': none) from the next step, from its step 0.

        Its base rate is the optimizer's lr now; a bad spec raises UsageError and changes
        nothing.
        """
        if self.schedule is not None:  # the base rate, not the last scheduled one
            self.optimizer.set_lr(self.schedule.base_lr)
        if schedule is None or (isinstance(schedule, str) and schedule.strip() == "constant"):
            self.schedule = None
            return
        self.schedule = parse_schedule(schedule, self.optimizer.hyper["lr"])

    def resume_at(self, step: int) -> None:
        """A run restored from a file at ``step``: the schedule and the mini-batches go on
        from there (positions and optimizer state are restored by the caller)."""
        if self.schedule is not None:
            self.schedule.reset()
            for _ in range(int(step)):
                self.schedule.step()
        if self.batches is not None:
            self.batches.reset()
            self.batches.position = int(step)
        self.clock = int(step)

    def rebase_schedule(self) -> None:
        """The optimizer's lr was set anew (a slider): the schedule takes it as its base
        rate, keeping its step."""
        if self.schedule is not None:
            self.schedule = self.schedule.rebased(self.optimizer.hyper["lr"])

    @property
    def lr(self) -> float:
        """The learning rate of the next step (the schedule's, or the optimizer's)."""
        return self.schedule.lr if self.schedule is not None else float(self.optimizer.hyper["lr"])

    def reset(self) -> None:
        """Back to the starting points (added balls included), fresh optimizer state."""
        self.optimizer.reset()
        if self.schedule is not None:
            self.schedule.reset()
        if self.batches is not None:
            self.batches.reset()
        # steps the run has taken: the schedule's and the batches' position (a ball added
        # after the others stopped has fewer steps of its own)
        self.clock = 0
        n = len(self._starts)
        self.positions = self._starts.copy()
        self.status_codes = np.zeros(n, dtype=np.int8)
        self.steps = np.zeros(n, dtype=np.int64)
        self.stopped_at = np.full(n, -1, dtype=np.int64)
        self.f = np.zeros(n)
        self.gradient = np.zeros((n, self.dim))
        self.grad_norm = np.zeros(n)
        # time-major ring (L, N, dim): while every ball moves, a step writes one row
        self._trail = np.zeros((self.trail_length, n, self.dim))
        self._trail_head = np.zeros(n, dtype=np.int64)
        self._uniform_head: int | None = 0  # the common head while all heads agree
        self._trail_count = np.zeros(n, dtype=np.int64)
        # at most every ball's trail count: once it reaches trail_length, a step of every
        # ball leaves the counts as they are (at 1M balls that pass cost 0.6 ms a step)
        self._count_floor = 0
        self._all = np.arange(n)
        self._evaluate_new(None)

    def add_ball(self, xy) -> int:
        """Add a ball at ``xy`` (a fresh optimizer state for it); return its index."""
        pt = self._check_points(xy)
        if len(pt) != 1:
            raise UsageError("add_ball takes one point")
        i = len(self._starts)
        self._starts = np.vstack([self._starts, pt])
        self.optimizer.extend(1)
        self.positions = np.vstack([self.positions, pt])
        self.status_codes = np.append(self.status_codes, np.int8(RUNNING))
        self.steps = np.append(self.steps, 0)
        self.stopped_at = np.append(self.stopped_at, -1)
        self.f = np.append(self.f, 0.0)
        self.gradient = np.vstack([self.gradient, np.zeros((1, self.dim))])
        self.grad_norm = np.append(self.grad_norm, 0.0)
        self._trail = np.concatenate([self._trail, np.zeros((self.trail_length, 1, self.dim))], 1)
        self._trail_head = np.append(self._trail_head, 0)
        self._trail_count = np.append(self._trail_count, 0)
        self._count_floor = 0
        self._all = np.arange(i + 1)
        self._evaluate_new(np.array([i]))
        return i

    def _evaluate_new(self, which: np.ndarray | None) -> None:
        """Evaluate new balls (None: all) at their start; a start in a hole diverges at 0."""
        idx = self._all if which is None else which
        fv, g, gn = self._eval(self.positions[idx], idx)
        bad = ~np.isfinite(fv) | ~np.isfinite(g).all(axis=1)
        self.f[idx] = np.where(bad, np.nan, fv)
        self.gradient[idx] = np.where(bad[:, None], np.nan, g)
        self.grad_norm[idx] = np.where(bad, np.nan, gn)
        self._push_trail(which)
        self._stop(idx[bad], DIVERGED)
        self._stop(idx[~bad & (gn < self.tol)], CONVERGED)

    # -- numerics -----------------------------------------------------------------------

    def _eval(self, pts: np.ndarray, balls: np.ndarray):
        arg = pts[:, 0] if self.dim == 1 else pts
        if self.batches is not None:
            fv = self.surface.f(arg)
            g = self.surface.batch_gradient(arg, self.batches.rows(balls))
        elif hasattr(self.surface, "value_and_gradient"):  # one pass for both
            fv, g = self.surface.value_and_gradient(arg)
        else:
            fv, g = self.surface.f(arg), self.surface.gradient(arg)
        fv = np.asarray(fv, dtype=np.float64).reshape(len(pts))
        g = np.asarray(g, dtype=np.float64).reshape(len(pts), self.dim)
        with np.errstate(all="ignore"):
            gn = np.sqrt(np.einsum("ij,ij->i", g, g))
        return fv, g, gn

    def _hessian(self, pts: np.ndarray) -> np.ndarray:
        arg = pts[:, 0] if self.dim == 1 else pts
        return np.asarray(self.surface.hessian(arg), dtype=np.float64).reshape(
            len(pts), self.dim, self.dim
        )

    def _stop(self, idx: np.ndarray, code: int, during_step: bool = False) -> None:
        # a ball that diverges during step k stays at step k-1's position
        if idx.size:
            self.status_codes[idx] = code
            self.stopped_at[idx] = self.steps[idx] + (1 if during_step else 0)

    def _push_trail(self, idx: np.ndarray | None, written: bool = False) -> None:
        """Append the current position of balls ``idx`` (None: every ball) to their trails
        (``written``: every ball's is in the ring's next row already, the engine's)."""
        if idx is None and self._uniform_head is not None:
            h = self._uniform_head
            if not written:
                self._trail[h] = self.positions
            self._uniform_head = (h + 1) % self.trail_length
            if self._uniform_head != h:  # (a trail of one position: always row 0)
                self._trail_head.fill(self._uniform_head)
            if self._count_floor < self.trail_length:
                np.minimum(self._trail_count + 1, self.trail_length, out=self._trail_count)
                self._count_floor += 1
            return
        if idx is None:
            idx = self._all
        self._uniform_head = None
        head = self._trail_head[idx]
        self._trail[head, idx] = self.positions[idx]
        self._trail_head[idx] = (head + 1) % self.trail_length
        self._trail_count[idx] = np.minimum(self._trail_count[idx] + 1, self.trail_length)

    def _bad_rows(self, moved: np.ndarray, fv: np.ndarray, gn: np.ndarray) -> np.ndarray:
        """Rows that diverged: non-finite position, f or gradient, or too far away."""
        with np.errstate(all="ignore"):
            # elementwise (a reduction over a length-2 axis is slow in numpy); NaN fails <=
            near = np.abs(moved - self._centre) <= self._limit
            bad = ~near[:, 0]
            for j in range(1, self.dim):
                bad |= ~near[:, j]
            # the gradient length is non-finite when a component is (or overflows: huge)
            bad |= ~np.isfinite(fv)
            bad |= ~np.isfinite(gn)
        return bad

    def step(self, k: int = 1) -> int:
        """Advance every running ball by up to ``k`` steps; return how many still run."""
        for _ in range(int(k)):
            running = self.status_codes == RUNNING
            n_run = int(np.count_nonzero(running))
            if n_run == 0:
                break
            if fused.descent_step(self):  # compiled (numba), the numpy path's bits
                continue
            all_run = n_run == self.n
            idx = self._all if all_run else np.flatnonzero(running)
            work = self.positions.copy()
            blocks = all_run and self.n > BLOCK and self.schedule is None and self.batches is None
            t = self.optimizer.begin_rows(self.n, self.dim) if blocks else None
            if t is not None:
                # many balls: block by block, so that the temporaries stay in the cache
                moved = work
                fv, gn = np.empty(self.n), np.empty(self.n)
                g = np.empty((self.n, self.dim))
                bad = np.empty(self.n, dtype=bool)
                for s in range(0, self.n, BLOCK):
                    rows = slice(s, s + BLOCK)
                    self.optimizer.update_rows(work[rows], self.gradient[rows], rows, t)
                    fv[rows], g[rows], gn[rows] = self._eval(work[rows], self._all[rows])
                    bad[rows] = self._bad_rows(work[rows], fv[rows], gn[rows])
                self.clock += 1
            else:
                hess = None
                if self.optimizer.needs_hessian:
                    hess = np.full((len(work), self.dim, self.dim), np.nan)
                    hess[idx] = self._hessian(self.positions[idx])
                if self.schedule is not None:
                    self.optimizer.set_lr(self.schedule.lr)
                # the gradient at the current positions is cached from the last evaluation
                self.optimizer.step_(work, self.gradient, hess, None if all_run else running)
                if self.schedule is not None:  # torch: scheduler.step() after optimizer.step()
                    self.schedule.step()
                    # between steps the optimizer holds its base rate (what is saved, shown)
                    self.optimizer.set_lr(self.schedule.base_lr)
                if self.batches is not None:  # the gradient for the next step: the next batch
                    self.batches.advance()
                self.clock += 1
                moved = work if all_run else work[idx]
                fv, g, gn = self._eval(moved, idx)
                bad = self._bad_rows(moved, fv, gn)
            if all_run and not bad.any():
                # the common case: whole arrays, no fancy indexing
                self.positions = work
                self.f, self.gradient, self.grad_norm = fv, g, gn
                self.steps += 1
                self._push_trail(None)
                done = gn < self.tol
                if done.any():
                    self._stop(np.flatnonzero(done), CONVERGED)
                continue
            if bad.any():
                self._stop(idx[bad], DIVERGED, during_step=True)
                good = ~bad
                idx, moved, fv, g, gn = idx[good], moved[good], fv[good], g[good], gn[good]
            self.positions[idx] = moved
            self.f[idx] = fv
            self.gradient[idx] = g
            self.grad_norm[idx] = gn
            self.steps[idx] += 1
            self._push_trail(idx)
            done = gn < self.tol
            if done.any():
                self._stop(idx[done], CONVERGED)
        return int((self.status_codes == RUNNING).sum())

    # -- saving -------------------------------------------------------------------------

    #: The keys of :meth:`state_dict`.
    STATE_KEYS = ("starts", "positions", "status", "steps", "stopped_at", "f", "gradient",
                  "grad_norm", "trails", "optimizer")  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The balls and their optimizer, in the manner of torch.optim: copies of
        ``starts``, ``positions``, ``status`` (names), ``steps``, ``stopped_at``, ``f``,
        ``gradient``, ``grad_norm``, ``trails`` (one ``(k, dim)`` array per ball, oldest
        first), ``optimizer`` (:meth:`Optimizer.state_dict`) and ``clock`` (steps the
        run has taken: its schedule's and mini-batches' position). The surface, ``tol``,
        ``trail_length`` and ``far`` are the constructor's, not part of it."""
        points, lengths = self.trails()
        return {
            "starts": self._starts.copy(),
            "positions": self.positions.copy(),
            "status": [str(s) for s in self.status],
            "steps": self.steps.copy(),
            "stopped_at": self.stopped_at.copy(),
            "f": self.f.copy(),
            "gradient": self.gradient.copy(),
            "grad_norm": self.grad_norm.copy(),
            "trails": [points[i, self.trail_length - int(k) :] for i, k in enumerate(lengths)],
            "optimizer": self.optimizer.state_dict(),
            "clock": int(self.clock),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output (any number of balls): the next
        :meth:`step` is the one the saved run would have taken, schedule and mini-batch
        included (without ``clock``, the run is taken to be as old as its oldest ball).
        Everything is checked before anything changes; a bad dict raises
        :class:`~gradient_explorer.errors.UsageError` naming the key."""
        where = "descent state"
        check_state_keys(where, state_dict, self.STATE_KEYS, ("clock",))
        starts = self._check_points(state_dict["starts"])
        n, dim = len(starts), self.dim

        def numbers(key: str, shape: tuple, integer: bool = False, finite: bool = False):
            arr = np.asarray(state_dict[key])
            if arr.shape != shape and not (dim == 1 and arr.shape == shape[:1]):
                raise UsageError(f"{where}: {key!r} must have shape {shape}, got {arr.shape}")
            if arr.dtype.kind not in ("iu" if integer else "fiu"):
                raise UsageError(
                    f"{where}: {key!r} must hold {'integers' if integer else 'numbers'}"
                )
            if finite and not np.isfinite(arr).all():
                raise UsageError(f"{where}: {key!r} must be finite")
            return arr.astype(np.int64 if integer else np.float64).reshape(shape)

        positions = numbers("positions", (n, dim), finite=True)
        status = list(state_dict["status"])
        if len(status) != n or any(s not in STATUS_NAMES for s in status):
            raise UsageError(f"{where}: 'status' must be {n} of {', '.join(STATUS_NAMES)}")
        codes = np.array([STATUS_NAMES.index(s) for s in status], dtype=np.int8)
        steps = numbers("steps", (n,), integer=True)
        stopped_at = numbers("stopped_at", (n,), integer=True)
        if (steps < 0).any():
            raise UsageError(f"{where}: 'steps' must be >= 0")
        running = codes == RUNNING
        if (stopped_at[running] != -1).any() or (stopped_at[~running] < 0).any():
            raise UsageError(f"{where}: 'stopped_at' must be -1 exactly for running balls")
        fv = numbers("f", (n,))
        gradient = numbers("gradient", (n, dim))
        grad_norm = numbers("grad_norm", (n,))
        trails = list(state_dict["trails"])
        if len(trails) != n:
            raise UsageError(f"{where}: 'trails' must hold {n} trails")
        ring = np.zeros((self.trail_length, n, dim))
        counts = np.zeros(n, dtype=np.int64)
        for i, trail in enumerate(trails):
            t = np.asarray(trail, dtype=np.float64).reshape(-1, dim)
            if len(t) > self.trail_length or not np.isfinite(t).all():
                raise UsageError(
                    f"{where}: 'trails'[{i}] must be at most {self.trail_length} finite points"
                )
            ring[: len(t), i] = t
            counts[i] = len(t)
        # files written before the clock was kept: the most steps any ball took
        clock = state_dict.get("clock", int(steps.max()) if n else 0)
        if isinstance(clock, bool) or not isinstance(clock, int | np.integer):
            raise UsageError(f"{where}: 'clock' must be a whole number")
        if clock < (int(steps.max()) if n else 0):
            raise UsageError(f"{where}: 'clock' must be at least the most steps of a ball")
        opt_state = state_dict["optimizer"]
        shape = opt_state.get("shape") if isinstance(opt_state, dict) else None
        if shape is not None and tuple(shape) != (n, dim):
            raise UsageError(f"{where}: 'optimizer' holds state for another number of balls")
        self.optimizer.load_state_dict(opt_state)  # checks its own part; last to fail
        self._starts = starts
        self.positions = positions
        self.status_codes, self.steps, self.stopped_at = codes, steps, stopped_at
        self.f, self.gradient, self.grad_norm = fv, gradient, grad_norm
        self._trail, self._trail_count = ring, counts
        self._count_floor = int(counts.min()) if n else 0
        self._trail_head = counts % self.trail_length
        heads = set(self._trail_head.tolist())
        self._uniform_head = heads.pop() if len(heads) == 1 else None
        self._all = np.arange(n)
        self.resume_at(int(clock))  # the schedule and the batches go on from there

    # -- views for drawing --------------------------------------------------------------

    def full_gradient(self) -> np.ndarray:
        """The gradient on the whole data at each ball (``gradient`` is the current
        batch's when the surface has mini-batches): ``(N, dim)``."""
        if self.batches is None:
            return self.gradient.copy()
        arg = self.positions[:, 0] if self.dim == 1 else self.positions
        g = self.surface.gradient(arg)
        return np.asarray(g, dtype=np.float64).reshape(self.n, self.dim)

    @property
    def n(self) -> int:
        """Number of balls."""
        return len(self.positions)

    @property
    def starts(self) -> np.ndarray:
        """Where the balls started (added balls included): ``(N, dim)``; do not modify."""
        return self._starts

    @property
    def status(self) -> np.ndarray:
        """Per-ball status strings: 'running', 'converged' or 'diverged'."""
        return _STATUS_ARRAY[self.status_codes]

    @property
    def running(self) -> bool:
        """True while any ball is still running."""
        return bool((self.status_codes == RUNNING).any())

    def finite_positions(self) -> np.ndarray:
        """Positions to draw: ``(N, dim)``, always finite (diverged balls stay put)."""
        return self.positions

    def trail(self, i: int) -> np.ndarray:
        """Ball ``i``'s recent positions, oldest first: ``(k, dim)``, all finite."""
        count = int(self._trail_count[i])
        head = int(self._trail_head[i])
        order = (head - count + np.arange(count)) % self.trail_length
        return self._trail[order, i]

    def trails(self) -> tuple[np.ndarray, np.ndarray]:
        """All trails at once: ``(N, L, dim)`` oldest first, and each ball's length.

        Ball ``i``'s trail is ``points[i, L - lengths[i]:]`` (older slots are stale).
        """
        roll = (self._trail_head[:, None] + np.arange(self.trail_length)) % self.trail_length
        points = self._trail[roll, np.arange(self.n)[:, None]]
        return points, self._trail_count.copy()

    def summary(self) -> str:
        """One line: how many balls run, converged and diverged."""
        counts = np.bincount(self.status_codes, minlength=3)
        return ", ".join(f"{c} {name}" for c, name in zip(counts, STATUS_NAMES, strict=True))

    def messages(self) -> list[str]:
        """One sentence per stopped ball, e.g. 'ball 3 diverged at step 12'."""
        out = []
        for i in np.flatnonzero(self.status_codes != RUNNING):
            name = STATUS_NAMES[self.status_codes[i]]
            out.append(f"ball {i} {name} at step {self.stopped_at[i]}")
        return out


@dataclass
class Trajectory:
    """One ball's path: positions, f and gradient at every step, and how it ended."""

    positions: np.ndarray  # (K+1, dim)
    f: np.ndarray  # (K+1,)
    gradient: np.ndarray  # (K+1, dim)
    status: str  # 'converged' | 'diverged' | 'max_steps'
    end_step: int
    optimizer: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    schedule: str = "constant"
    lr: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the rate of steps 1..K

    @property
    def dim(self) -> int:
        """2 on a surface, 1 on a curve."""
        return self.positions.shape[1]

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(trajectory)`` is the (K+1, dim) array of positions."""
        return np.array(self.positions, dtype=dtype, copy=True)

    def __len__(self) -> int:
        return len(self.positions)

    def columns(self) -> list[str]:
        """CSV columns: step,x,y,f,grad_x,grad_y (surfaces) or step,x,f,grad (curves)."""
        if self.dim == 1:
            return ["step", "x", "f", "grad"]
        return ["step", "x", "y", "f", "grad_x", "grad_y"]

    def to_rows(self) -> list[dict[str, float | int]]:
        """One dict per step, keyed by :meth:`columns`."""
        rows = []
        for k in range(len(self.positions)):
            values: list[float | int] = [k]
            values += [float(v) for v in self.positions[k]]
            values.append(float(self.f[k]))
            values += [float(v) for v in self.gradient[k]]
            rows.append(dict(zip(self.columns(), values, strict=True)))
        return rows

    def to_csv(self) -> str:
        """The rows as CSV text with a header line (floats at full precision)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns())
        for row in self.to_rows():
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row.values()])
        return buf.getvalue()

    def to_json(self) -> str:
        """A JSON object: optimizer, hyperparameters, status, end_step, rows."""
        doc = {
            "optimizer": self.optimizer,
            "hyperparameters": _jsonable(self.hyperparameters),
            "status": self.status,
            "end_step": self.end_step,
            "rows": self.to_rows(),
        }
        if self.schedule != "constant":
            doc["schedule"] = self.schedule
            doc["lr"] = [float(v) for v in self.lr]
        return json.dumps(doc, allow_nan=False)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class Trajectories:
    """N balls' paths from one batched :func:`descend`: every ball, every step.

    A ball that stopped (converged or diverged) keeps its last position, f and gradient
    in the rows after it stopped, so the arrays are rectangular.
    """

    positions: np.ndarray  # (K+1, N, dim)
    f: np.ndarray  # (K+1, N)
    gradient: np.ndarray  # (K+1, N, dim)
    status: np.ndarray  # (N,) str: 'converged' | 'diverged' | 'max_steps'
    end_step: np.ndarray  # (N,) int, as Trajectory.end_step
    steps: np.ndarray  # (N,) int: successful steps of each ball
    optimizer: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    schedule: str = "constant"
    lr: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the rate of each step

    @property
    def n(self) -> int:
        """Number of balls."""
        return self.positions.shape[1]

    def __len__(self) -> int:
        return self.n

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(trajectories)`` is the (K+1, N, dim) array of positions."""
        return np.array(self.positions, dtype=dtype, copy=True)

    def trajectory(self, i: int) -> Trajectory:
        """Ball ``i``'s path alone, as :func:`descend` from its start returns it."""
        rows = int(self.steps[i]) + 1
        return Trajectory(
            positions=self.positions[:rows, i].copy(),
            f=self.f[:rows, i].copy(),
            gradient=self.gradient[:rows, i].copy(),
            status=str(self.status[i]),
            end_step=int(self.end_step[i]),
            optimizer=self.optimizer,
            hyperparameters=dict(self.hyperparameters),
            schedule=self.schedule,
            lr=self.lr[: rows - 1].copy(),
        )


class _LazyTrajectories(Trajectories):
    """Trajectories from the engine's run whose ``f`` and ``gradient`` (computed from the
    positions: the same values, to the bit, as recorded ones), ``status`` (names from
    codes), ``end_step`` and ``steps`` (int64, from the kernel's int8 codes and int32
    end steps) are made when first read: arrays that a caller may never look at."""

    _LAZY = ("f", "gradient", "status", "end_step", "steps")

    def __init__(self, fill, codes, ends, **fields):
        self._fill, self._codes, self._ends, self._made = fill, codes, ends, {}
        super().__init__(f=None, gradient=None, status=None, end_step=None, steps=None, **fields)

    def _get(self, key: str):
        made = self._made
        if key not in made:
            codes, ends = self._codes, self._ends
            if key == "status":
                made[key] = _END_NAMES[codes]
            elif key == "end_step":
                made[key] = ends.astype(np.int64)
            elif key == "steps":
                # a ball that diverged in a step did not take it (one undefined at its
                # start, end step 0, took none); every other took its end step's steps
                made[key] = ends - ((codes == DIVERGED) & (ends > 0)).astype(np.int64)
            else:
                made["f"], made["gradient"] = self._fill()
        return made[key]

    def _set(self, key: str, value) -> None:
        if value is not None:  # None: the dataclass's __init__ (made on demand)
            self._made[key] = value

    f = property(lambda self: self._get("f"), lambda self, v: self._set("f", v))
    gradient = property(
        lambda self: self._get("gradient"), lambda self, v: self._set("gradient", v)
    )
    status = property(lambda self: self._get("status"), lambda self, v: self._set("status", v))
    end_step = property(
        lambda self: self._get("end_step"), lambda self, v: self._set("end_step", v)
    )
    steps = property(lambda self: self._get("steps"), lambda self, v: self._set("steps", v))

    def __repr__(self) -> str:
        return "Trajectories" + super().__repr__()[len(type(self).__qualname__) :]

    def __reduce__(self):  # pickles as plain Trajectories (its values made)
        fields = {k: getattr(self, k) for k in Trajectories.__dataclass_fields__}
        return (_plain_trajectories, (fields,))


def _plain_trajectories(fields) -> Trajectories:
    return Trajectories(**fields)


def _batched_start(surface, start) -> np.ndarray | None:
    """``start`` as (N, dim) when it holds several points (or one in a (1, dim) array)."""
    arr = np.asarray(start, dtype=np.float64)
    if surface.dim == 1:
        if arr.ndim == 2 and arr.shape[1] == 1:
            return arr
        if arr.ndim == 1 and arr.size != 1:
            return arr.reshape(-1, 1)
        return None
    if arr.ndim == 2:
        if arr.shape[1] != surface.dim:
            raise UsageError(
                f"start points need {surface.dim} coordinates each, got shape {arr.shape}"
            )
        return arr
    return None


_END_NAMES = np.array(["max_steps", "converged", "diverged"])  # by status code


def _end(d: Descent) -> tuple[np.ndarray, np.ndarray]:
    """Status names ('max_steps' for a ball still running) and end steps of every ball."""
    codes = d.status_codes
    end = np.where(codes == RUNNING, d.steps, d.stopped_at)
    return _END_NAMES[codes], end  # one gather: no per-ball Python strings


def _run_settings(d: Descent) -> dict[str, Any]:
    """The optimizer's name, hyperparameters (lr: the schedule's base rate) and schedule
    that a run's result reports."""
    opt, sched = d.optimizer, d.schedule
    return {
        "optimizer": opt.name,
        "hyperparameters": {**opt.hyper, "lr": sched.base_lr} if sched else dict(opt.hyper),
        "schedule": sched.spec if sched else "constant",
    }


def _descend_batched(d: Descent, steps: int) -> Trajectories:
    n, dim = d.n, d.dim
    positions = np.empty((steps + 1, n, dim))
    fs = np.empty((steps + 1, n))
    grads = np.empty((steps + 1, n, dim))
    positions[0], fs[0], grads[0] = d.positions, d.f, d.gradient
    rates = np.zeros(steps)  # every ball steps in lockstep: one rate per step
    k = 0
    while k < steps and d.running:
        rates[k] = d.lr
        d.step()
        k += 1
        positions[k], fs[k], grads[k] = d.positions, d.f, d.gradient
    if k < steps:  # everyone stopped: the rest of the rows repeat the last one
        positions[k + 1 :], fs[k + 1 :], grads[k + 1 :] = positions[k], fs[k], grads[k]
    status, end = _end(d)
    return Trajectories(
        positions=positions,
        f=fs,
        gradient=grads,
        status=status,
        end_step=end.astype(np.int64, copy=False),
        steps=d.steps.copy(),
        **_run_settings(d),
        lr=rates[:k],
    )


def _descend_fused(surface, optimizer, many, steps, tol, far, schedule, hyper):
    """A batched descend by the compiled engine (:mod:`gradient_explorer.optim.fused`),
    the numpy path's results to the bit; None where it does not apply."""
    if not isinstance(optimizer, str) or not fused.fastcode.available():
        return None  # an optimizer instance is the caller's: numpy leaves its state
    # the settings (and their checks) from a Descent of one ball; the run is the kernel's
    probe = Descent(
        surface, optimizer, many[:1], tol=tol, trail_length=1, far=far, schedule=schedule,
        **hyper,
    )  # fmt: skip
    # the kernel only reads the starts, and counts those that are not finite (numpy's
    # check reads 16 MB more at 1M balls); where it does not run, Descent checks them
    pts = probe._check_points(many, copy=False, finite=False)
    out = fused.run_batched(probe, pts, steps)
    if out is None:
        return None
    positions, fill, codes, ends, rates, not_finite = out
    if not_finite:
        raise UsageError(_NOT_FINITE)
    return _LazyTrajectories(
        fill, codes, ends, positions=positions, **_run_settings(probe), lr=rates
    )


def _descend_one_scalar(d: Descent, steps: int):
    """One ball on Python floats: what :meth:`Descent.step` does, without array overhead.

    The optimizer's plain-float rule and the surface's plain-float f and gradient do the
    numpy path's operations in the same order, so the path is the same to the bit. Returns
    the steps it went through and the rows (positions, f, gradients), or None where this
    path does not apply (then nothing has changed). Descent's state (position, status,
    optimizer state) is left as ``steps`` calls of :meth:`Descent.step` would leave it.
    """
    opt, surface = d.optimizer, d.surface
    if not (opt._scalar_ok and not opt.needs_hessian and d.n == 1):
        return None
    if d.schedule is not None or d.batches is not None:  # the rate or the data change
        return None
    scalar = getattr(surface, "_functions", {}).get("value_and_gradient_scalar")
    if scalar is None or getattr(surface, "value_and_gradient", None) is None:
        return None
    if opt._n is not None and (opt._shape != (1, d.dim)):
        return None
    opt.ensure_state(1, d.dim)
    state = opt.state_lists()
    pvals = tuple(surface.param_values.values())
    dim, tol, limit = d.dim, d.tol, d._limit
    centre = d._centre.tolist()
    pos = d.positions[0].tolist()
    grad = d.gradient[0].tolist()
    rows, fs, grads = [tuple(pos)], [float(d.f[0])], [tuple(grad)]
    t = int(opt.steps[0])
    status, taken = int(d.status_codes[0]), int(d.steps[0])
    isfinite, sqrt = math.isfinite, math.sqrt
    done = 0
    for _ in range(steps):
        if status != RUNNING:
            break
        try:
            new = opt._scalar_lists(pos, grad, state, float(t + 1))
        except (ArithmeticError, ValueError):
            break  # numpy's inf and NaN from here on: Descent.step takes over
        t += 1
        done += 1
        # ints for constant components, numpy floats where numpy ufuncs were called
        fv, *g = (float(v) for v in scalar(*new, *pvals))
        if not (isfinite(fv) and all(isfinite(v) for v in g)):
            # Python raised where numpy goes on (1/0 is inf there, and 1/inf is 0): the
            # array path's values, as Surface.value_and_gradient gives them
            f_arr, g_arr = surface.value_and_gradient(np.array([new]))
            fv, g = float(f_arr[0]), g_arr[0].tolist()
        gn = sqrt(g[0] * g[0] + g[1] * g[1]) if dim == 2 else sqrt(g[0] * g[0])
        far = any(not abs(c - m) <= limit for c, m in zip(new, centre, strict=True))
        # a NaN anywhere (an undefined point) makes f or gn NaN: diverged, as in step()
        if far or not isfinite(fv) or not isfinite(gn):
            status = DIVERGED
            d.stopped_at[0] = taken + 1
            break
        pos, grad = new, g
        taken += 1
        rows.append(tuple(pos))
        fs.append(fv)
        grads.append(tuple(grad))
        if gn < tol:
            status = CONVERGED
            d.stopped_at[0] = taken
    opt.put_state_lists(state)
    opt.steps[0] = t
    d.status_codes[0] = status
    d.steps[0] = taken
    d.positions[0] = pos
    d.f[0] = fs[-1]
    d.gradient[0] = grad
    d.grad_norm[0] = float(np.sqrt(np.dot(d.gradient[0], d.gradient[0])))
    d._push_trail(None)
    return done, rows, fs, grads


def descend(
    surface,
    optimizer: Optimizer | str,
    start: Iterable[float] | float | None,
    steps: int,
    tol: float = DEFAULT_TOL,
    *,
    far: float = DEFAULT_FAR,
    teaching: bool = False,
    schedule: Schedule | str | None = None,
    **hyper: Any,
) -> Trajectory | Trajectories:
    """Roll one ball (or several) from ``start`` for up to ``steps`` steps.

    Parameters
    ----------
    surface : Surface
    optimizer : Optimizer or str
        An instance or a registry name (then ``**hyper`` are its hyperparameters; without
        ``lr``, torch.optim's default, so the path matches torch's).
    start : array_like or None
        ``(x, y)`` on a surface, ``x`` on a curve; None with ``teaching``. Several
        starts, ``(N, 2)`` on a surface (``(N,)`` or ``(N, 1)`` on a curve), roll N balls
        at once and return :class:`Trajectories`; ball ``i``'s path is the one a single
        start gives, to the bit. A start where f or the gradient is undefined makes that
        ball diverge at step 0 (a single start raises instead).
    steps : int
        The most steps to take.
    tol : float
        Stop when the gradient length is under ``tol``.
    teaching : bool
        Take the surface's teaching defaults where not given: its start (when ``start``
        is None) and the optimizer's lr and momentum (``hyper`` still wins).
    schedule : Schedule or str, optional
        A learning-rate schedule such as ``"cosine:300"`` (see
        :mod:`gradient_explorer.optim.schedules`), stepped after each step as torch's.

    Returns
    -------
    Trajectory or Trajectories
        ``status`` is 'converged', 'diverged' (the path ends at the last finite point;
        ``end_step`` is the step that diverged) or 'max_steps'; per ball for several
        starts, whose ``positions`` are ``(steps + 1, N, dim)``.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise UsageError(f"steps must be an integer >= 0, got {steps!r}")
    if teaching:
        if start is None:
            start = surface.teaching.start
        if isinstance(optimizer, str):
            hyper = {**surface.teaching.hyper(optimizer.lower()), **hyper}
    if start is None:
        raise UsageError("descend needs a start (or teaching for the surface's teaching start)")
    many = _batched_start(surface, start)
    if many is not None:
        fast = _descend_fused(surface, optimizer, many, int(steps), tol, far, schedule, hyper)
        if fast is not None:
            return fast
        d = Descent(
            surface, optimizer, many, tol=tol, trail_length=1, far=far, schedule=schedule, **hyper
        )
        return _descend_batched(d, int(steps))
    start_arr = np.atleast_1d(np.asarray(start, dtype=np.float64))
    if start_arr.shape != (surface.dim,):
        raise UsageError(
            f"start needs {surface.dim} coordinate{'s' if surface.dim > 1 else ''}, "
            f"got {start_arr.size}"
        )
    d = Descent(
        surface,
        optimizer,
        start_arr[None, :],
        tol=tol,
        trail_length=1,
        far=far,
        schedule=schedule,
        **hyper,
    )
    if not math.isfinite(d.f[0]) or not np.isfinite(d.gradient[0]).all():
        where = ", ".join(f"{v:g}" for v in start_arr)
        raise UsageError(f"f or its gradient is not defined at the start ({where})")
    fast = _descend_one_scalar(d, int(steps))
    if fast is not None:  # rows of plain floats; np.array below makes them arrays
        done, positions, fs, grads = fast
        rates = [d.lr] * (len(positions) - 1)  # no schedule on this path: one rate
    else:
        done, positions, fs, grads = 0, [d.positions[0].copy()], [float(d.f[0])], []
        grads.append(d.gradient[0].copy())
        rates = []
    for _ in range(int(steps) - done):
        if not d.running:
            break
        before = int(d.steps[0])
        rate = d.lr
        d.step()
        if int(d.steps[0]) > before:
            rates.append(rate)
            positions.append(d.positions[0].copy())
            fs.append(float(d.f[0]))
            grads.append(d.gradient[0].copy())
    code = int(d.status_codes[0])
    if code == RUNNING:
        status, end = "max_steps", int(d.steps[0])
    else:
        status, end = STATUS_NAMES[code], int(d.stopped_at[0])
    return Trajectory(
        positions=np.array(positions, dtype=np.float64),
        f=np.array(fs, dtype=np.float64),
        gradient=np.array(grads, dtype=np.float64),
        status=status,
        end_step=end,
        **_run_settings(d),
        lr=np.array(rates),
    )
