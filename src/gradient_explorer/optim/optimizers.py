"""Optimizers in float64 numpy that follow ``torch.optim`` update rules exactly.

Every optimizer moves many balls at once. The parameter array has shape ``(N, 2)`` on a
surface (or ``(N,)`` on a curve): each row is one ball, and each ball behaves like its own
torch parameter of shape ``(2,)`` with its own state and its own step count. For the
elementwise methods this is the same as one ``(N, 2)`` tensor; for Adafactor it matters,
because its vector rule scales by the RMS of the ball's own coordinates.

Masking: ``step(params, grad, active=mask)`` updates only the balls where ``mask`` is
True; the others keep their position, their state and their step count, just as torch
skips a parameter whose ``grad`` is None. The descent runner passes the mask of running
balls, so stopped (converged or diverged) balls never move again.

The rules are read from torch's ``_single_tensor_*`` functions (torch 2.13) and keep their
order of operations (``lerp`` with its two branches, ``addcmul``, ``addcdiv``), so a
trajectory agrees with torch.optim to rounding. NAdam keeps its ``mu_product`` in float32
like torch does (torch stores it as a float32 scalar tensor unless the default dtype is
float64).

The two methods that are not in torch:

``gd``
    Plain gradient descent, the baseline: ``x -= lr * g``.
``newton``
    Damped, saddle-free Newton: ``x -= lr * |H|_d^-1 g`` where ``|H|_d`` is the Hessian
    with each eigenvalue ``λ`` replaced by ``max(|λ|, damping)``. Where the Hessian is
    positive definite with eigenvalues above ``damping`` this is the pure Newton step;
    where it is singular the small eigenvalues are lifted to ``damping`` (Levenberg-style),
    and where it is indefinite (a saddle) the negative curvature is flipped, so the step
    still goes downhill instead of being attracted to the saddle.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from gradient_explorer.errors import UsageError, check_state_keys
from gradient_explorer.surfaces import fastcode

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "GradientDescent",
    "HyperParameter",
    "NAdam",
    "Newton",
    "Optimizer",
    "OptimizerSpec",
    "Phase",
    "RMSprop",
    "make_optimizer",
]


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter: torch's name and default, and a slider range for the UI.

    ``kind`` is ``"float"``, ``"bool"``, ``"betas"`` (a pair of floats) or ``"eps_pair"``
    (Adafactor's ``(eps1 or None, eps2)``). ``lo``/``hi`` bound the slider (for a pair,
    each element); ``log`` asks for a logarithmic slider.
    """

    name: str
    default: Any
    kind: str = "float"
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    help: str = ""


@dataclass(frozen=True)
class Phase:
    """One stage of an update, for the step-by-step teaching mode.

    ``vector`` is an ``(N, dim)`` array (or ``(N,)`` on a curve), or None for the static
    explanation from :meth:`Optimizer.explain_phases`.
    """

    name: str
    sentence: str
    vector: np.ndarray | None = None


# Up to this many coordinates in all, a step runs on Python floats (see _scalar_step).
_SCALAR_MAX = 8


def _put(arr: np.ndarray, values: list[float]) -> None:
    """Write a flat list back into an array (a view when contiguous, else elementwise)."""
    if arr.flags.c_contiguous:
        arr.reshape(-1)[:] = values
    else:  # pragma: no cover - state and working arrays are contiguous
        arr[...] = np.asarray(values).reshape(arr.shape)


def _lerp(start: np.ndarray, end: np.ndarray, weight, out: np.ndarray) -> np.ndarray:
    """``torch.lerp`` with its two branches (the one taken depends on ``|weight| < 0.5``)."""
    if isinstance(weight, np.ndarray):
        lo = start + weight * (end - start)
        hi = end - (end - start) * (1.0 - weight)
        np.copyto(out, np.where(np.abs(weight) < 0.5, lo, hi))
    else:
        diff = end - start  # a temporary: ``out`` is usually ``start`` itself
        if abs(weight) < 0.5:
            diff *= weight
            np.add(start, diff, out=out)
        else:
            diff *= 1.0 - weight
            np.subtract(end, diff, out=out)
    return out


def _lerp_float(start: float, end: float, weight: float) -> float:
    """:func:`_lerp` on Python floats (the same branches)."""
    if abs(weight) < 0.5:
        return start + (end - start) * weight
    return end - (end - start) * (1.0 - weight)


def _max_float(a: float, b: float) -> float:
    """``np.maximum`` on floats: NaN if either is NaN (Python's max keeps the first)."""
    return b if b != b else max(a, b)


class _Ops(NamedTuple):
    sqrt: Callable
    maximum: Callable
    lerp: Callable


#: In place on arrays (``sqrt`` into a scratch array), by value on floats.
_ARRAYS = _Ops(
    lambda a, scratch: np.sqrt(a, out=scratch),
    lambda a, b: np.maximum(a, b, out=a),
    lambda start, end, weight: _lerp(start, end, weight, out=start),
)
_FLOATS = _Ops(lambda a, scratch: math.sqrt(a), _max_float, _lerp_float)


class Optimizer:
    """Base class: a batched, masked, float64 optimizer with torch's hyperparameters.

    Parameters
    ----------
    **hyper
        Hyperparameters by torch's names; missing ones take torch's defaults. Unknown
        names or out-of-range values raise :class:`~gradient_explorer.errors.UsageError`.

    Notes
    -----
    State arrays are created on the first step with the shape of ``params`` and live in
    :attr:`state` (torch's names: ``momentum_buffer``, ``exp_avg``, ``exp_avg_sq`` ...).
    ``steps`` counts the updates of each ball.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    hyperparameters: ClassVar[tuple[HyperParameter, ...]] = ()
    needs_hessian: ClassVar[bool] = False
    #: state keys the UI draws as a velocity glyph and as a per-axis second moment
    velocity_key: ClassVar[str | None] = None
    second_moment_key: ClassVar[str | None] = None
    phase_sentences: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: every state key some setting of the hyperparameters uses (a run may hold them all)
    state_keys: ClassVar[tuple[str, ...]] = ()
    #: keys that start as torch's None, made on a ball's first step that uses them
    lazy_state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **hyper: Any) -> None:
        known = {h.name: h for h in self.hyperparameters}
        unknown = sorted(set(hyper) - set(known))
        if unknown:
            raise UsageError(
                f"{self.name}: unknown hyperparameter {unknown[0]!r}; known: {', '.join(known)}"
            )
        values = {h.name: h.default for h in self.hyperparameters}
        for key, value in hyper.items():
            values[key] = _coerce(self.name, known[key], value)
        self.hyper: dict[str, Any] = values
        self._validate(values)
        self._prepare()
        self.reset()

    # -- construction -------------------------------------------------------------------

    def _validate(self, h: dict[str, Any]) -> None:
        """Raise UsageError for out-of-range hyperparameters (torch's checks)."""
        if "lr" in h and not h["lr"] >= 0.0:
            self._bad(f"Invalid learning rate: {h['lr']}")
        if "eps" in h and isinstance(h["eps"], float) and not h["eps"] >= 0.0:
            self._bad(f"Invalid epsilon value: {h['eps']}")
        if "weight_decay" in h and not h["weight_decay"] >= 0.0:
            self._bad(f"Invalid weight_decay value: {h['weight_decay']}")
        if "momentum" in h and not h["momentum"] >= 0.0:
            self._bad(f"Invalid momentum value: {h['momentum']}")
        if "betas" in h:
            for i, b in enumerate(h["betas"]):
                if not 0.0 <= b < 1.0:
                    self._bad(f"Invalid beta parameter at index {i}: {b} (must be in [0, 1))")

    def _bad(self, message: str) -> None:
        raise UsageError(f"{self.name}: {message}")

    def _prepare(self) -> None:
        """Derive constants from the hyperparameters once (not on every step)."""

    def set_hyper(self, **changes: Any) -> None:
        """Change hyperparameters mid-run, as assigning to a torch ``param_group`` does.

        The next step uses the new values; positions, buffers and step counts are kept.
        A buffer that the new setting needs and the old one did not starts as torch's
        would: SGD's momentum buffer as a copy of the next gradient, the others
        (RMSprop's momentum and ``centered``, Adam's ``amsgrad``, where torch raises) at
        zero, as at a ball's first step. A buffer no longer used is kept, so turning the
        option back on uses it again (torch keeps it too). A bad value raises
        :class:`~gradient_explorer.errors.UsageError` and changes nothing.
        """
        trial = type(self)(**{**self.hyper, **changes})  # checks every value
        self.hyper = trial.hyper
        self._prepare()
        if self._n is not None:
            for key, arr in self._init_state(*self._shape).items():
                if key not in self.state and key not in self.lazy_state_keys:
                    self.state[key] = arr

    def set_lr(self, lr: float) -> None:
        """Set the learning rate for the next step, as a torch scheduler writes
        ``param_group["lr"]`` (no checks beyond >= 0: a schedule's rates are valid)."""
        if not lr >= 0.0:
            self._bad(f"Invalid learning rate: {lr}")
        self.hyper["lr"] = float(lr)

    # -- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all state: buffers, step counts (the next step is step 1 again)."""
        self.state: dict[str, np.ndarray] = {}
        self.steps: np.ndarray = np.zeros(0, dtype=np.int64)
        self._n: int | None = None
        self._shape: tuple[int, ...] | None = None

    def state_dict(self) -> dict[str, Any]:
        """Everything the next step depends on, as torch.optim's ``state_dict()``: a
        copy, safe to keep while this optimizer steps on.

        ``{"hyper": {name: value}, "shape": (n, dim) or None before the first step,
        "steps": (n,) int64, "state": {buffer name: (n, dim) array}}``.
        """
        return {
            "hyper": dict(self.hyper),
            "shape": self._shape,
            "steps": self.steps.copy(),
            "state": {key: arr.copy() for key, arr in self.state.items()},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output: the next step is the one the saved
        optimizer would have taken. Everything is checked first (keys, shapes, the
        buffers this setting uses); a bad dict raises
        :class:`~gradient_explorer.errors.UsageError` naming the key and changes nothing.
        ``hyper`` may be left out (the current values stay)."""
        where = f"{self.name} state"
        check_state_keys(where, state_dict, ("shape", "steps", "state"), ("hyper",))
        hyper = self.hyper
        if "hyper" in state_dict:
            if not isinstance(state_dict["hyper"], Mapping):
                raise UsageError(f"{where}: 'hyper' must be a mapping of hyperparameters")
            hyper = type(self)(**state_dict["hyper"]).hyper  # checks every value
        shape = state_dict["shape"]
        buffers = state_dict["state"]
        if not isinstance(buffers, Mapping):
            raise UsageError(f"{where}: 'state' must be a mapping of buffer names to arrays")
        steps = np.asarray(state_dict["steps"])
        if shape is None:  # not stepped yet
            if len(buffers) or steps.size:
                raise UsageError(f"{where}: 'shape' is None but 'steps' or 'state' is not empty")
            self.hyper = hyper
            self._prepare()
            self.reset()
            return
        if not (
            isinstance(shape, tuple | list)
            and len(shape) == 2
            and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in shape)
            and shape[0] >= 0
            and shape[1] >= 1
        ):
            raise UsageError(f"{where}: 'shape' must be (balls, dimension), got {shape!r}")
        n, d = int(shape[0]), int(shape[1])
        if steps.shape != (n,) or steps.dtype.kind not in "iu" or (steps < 0).any():
            raise UsageError(f"{where}: 'steps' must be {n} step counts >= 0")
        trial = type(self)(**hyper)
        expected = trial._init_state(n, d)
        # The buffers this setting uses (one torch makes lazily may not exist yet), and
        # perhaps some that an earlier setting used (kept, as torch keeps them).
        needed = set(expected) - set(self.lazy_state_keys)
        wrong = sorted((needed - set(buffers)) | (set(buffers) - set(self.state_keys)))
        if wrong:
            raise UsageError(
                f"{where}: {self.name} has no buffer set like this (check {wrong[0]!r})"
            )
        state = {}
        for key, value in buffers.items():
            ref = expected.get(key, np.zeros((n, d)))
            arr = np.asarray(value)
            if arr.shape != ref.shape or arr.dtype != ref.dtype:
                raise UsageError(
                    f"{where}: buffer {key!r} must be {ref.dtype} of shape {ref.shape}, "
                    f"got {arr.dtype} of shape {arr.shape}"
                )
            state[key] = arr.copy()
        self.hyper = hyper
        self._prepare()
        self.state, self.steps = state, steps.astype(np.int64, copy=True)
        self._n, self._shape = n, (n, d)

    @property
    def step_count(self) -> int:
        """The largest number of updates any ball has had (0 before the first step)."""
        return int(self.steps.max()) if self.steps.size else 0

    def _init_state(self, n: int, d: int) -> dict[str, np.ndarray]:
        """New state arrays for ``n`` balls of dimension ``d`` (subclasses override)."""
        return {}

    def extend(self, k: int) -> None:
        """Add ``k`` fresh balls (zero state, step 0) after the existing ones."""
        if self._n is None:
            return
        d = self._shape[1]
        fresh = self._init_state(k, d)
        for key, arr in self.state.items():  # a buffer kept from an earlier setting too
            add = fresh.get(key)
            if add is None:
                add = np.zeros((k, *arr.shape[1:]), dtype=arr.dtype)
            self.state[key] = np.concatenate([arr, add])
        self.steps = np.concatenate([self.steps, np.zeros(k, dtype=np.int64)])
        self._n += k
        self._shape = (self._n, d)

    def glyphs(self) -> dict[str, np.ndarray | None]:
        """What the UI draws per ball: ``velocity`` and ``second_moment`` arrays or None."""
        out: dict[str, np.ndarray | None] = {"velocity": None, "second_moment": None}
        used = self._init_state(0, 1)  # not a buffer kept from an earlier setting
        if self.velocity_key in used and self.velocity_key in self.state:
            out["velocity"] = self.state[self.velocity_key]
        if self.second_moment_key in used and self.second_moment_key in self.state:
            out["second_moment"] = self.state[self.second_moment_key]
        return out

    # -- stepping -----------------------------------------------------------------------

    def step(
        self,
        params: np.ndarray,
        grad: np.ndarray,
        hessian: np.ndarray | None = None,
        active: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return the positions after one update; ``params`` is left unchanged.

        Parameters
        ----------
        params : ndarray
            ``(N, dim)`` positions, or ``(N,)`` on a curve.
        grad : ndarray
            The gradient at ``params``, same shape.
        hessian : ndarray, optional
            ``(N, 2, 2)`` (or ``(N,)`` on a curve); only Newton needs it.
        active : ndarray of bool, optional
            ``(N,)``: update only these balls; the rest keep position, state, step count.

        Returns
        -------
        ndarray
            New float64 positions with the shape of ``params``.
        """
        out = np.array(params, dtype=np.float64, copy=True)
        return self.step_(out, grad, hessian, active)

    def step_(
        self,
        params: np.ndarray,
        grad: np.ndarray,
        hessian: np.ndarray | None = None,
        active: np.ndarray | None = None,
        _record: list[Phase] | None = None,
    ) -> np.ndarray:
        """Update ``params`` (a writable float64 array) in place and return it.

        Same arguments as :meth:`step`. Overflow and invalid operations are silenced: a
        ball that blows up simply gets non-finite coordinates, for the runner to catch.
        """
        shape = params.shape
        p2 = params.reshape(shape[0], -1) if params.ndim == 1 else params
        g2 = np.asarray(grad, dtype=np.float64).reshape(p2.shape)
        n, d = p2.shape
        self.ensure_state(n, d)
        if self.needs_hessian:
            if hessian is None:
                raise UsageError(f"{self.name}: this optimizer needs the Hessian")
            h = np.asarray(hessian, dtype=np.float64).reshape(n, d, d)
        else:
            h = None
        if (
            self._engine_rule is not None
            and _record is None
            and (active is None or active.all())
            and fastcode.pays(self.__dict__, p2.size, fastcode.GRADIENT_MIN)
        ):
            from gradient_explorer.optim import fused  # numba only where it pays

            if fused.optimizer_step(self, p2, g2):  # compiled, the numpy path's bits
                return params
        if (
            self._scalar_ok
            and p2.size <= _SCALAR_MAX
            and _record is None
            and (active is None or active.all())
            and self._scalar_step(p2, g2)
        ):
            return params
        with np.errstate(all="ignore"):
            if active is None or active.all():
                self.steps += 1
                t = self._uniform_t(self.steps, d)
                self._update(p2, g2, self.state, t, h, _record)
            else:
                idx = np.flatnonzero(active)
                if idx.size:
                    self.steps[idx] += 1
                    t = self._uniform_t(self.steps[idx], d)
                    sub = {k: v[idx] for k, v in self.state.items()}
                    p_sub = p2[idx]
                    self._update(p_sub, g2[idx], sub, t, None if h is None else h[idx], _record)
                    p2[idx] = p_sub
                    for k, v in sub.items():
                        if k not in self.state:  # made by this step (SGD's lazy buffer)
                            self.state[k] = np.zeros((n, *v.shape[1:]), dtype=v.dtype)
                        self.state[k][idx] = v
        return params

    def begin_rows(self, n: int, d: int) -> float | None:
        """Start a step that every one of ``n`` balls takes, done in blocks of rows by
        :meth:`update_rows`; return the new step count ``t``, or None (nothing changed)
        where blocks cannot do it (the Hessian, differing step counts, a buffer that the
        step would create)."""
        self.ensure_state(n, d)
        if self.needs_hessian or not set(self._init_state(0, d)) <= set(self.state):
            return None
        steps = self.steps
        first = int(steps[0]) if steps.size else 0
        if steps.size > 1 and not (steps == first).all():
            return None
        steps += 1
        return float(first + 1)

    def update_rows(self, params: np.ndarray, grad: np.ndarray, rows: slice, t: float) -> None:
        """Update the balls in ``rows`` (``params``, ``grad``: their rows) in place, for a
        step begun with :meth:`begin_rows`. The same arithmetic as :meth:`step_`."""
        views = {k: v[rows] for k, v in self.state.items()}
        sub = dict(views)
        with np.errstate(all="ignore"):
            self._update(params, grad, sub, t, None, None)
        for key, value in sub.items():
            if value is not views.get(key):  # replaced rather than updated in place
                self.state[key][rows] = value

    _scalar_ok: ClassVar[bool] = False
    #: the compiled engine's rule of this optimizer (gradient_explorer.optim.fused_rules)
    _engine_rule: ClassVar[str | None] = None

    def _scalar_step(self, p: np.ndarray, g: np.ndarray) -> bool:
        """A pure-Python path for a few balls (numpy's per-call overhead dominates there).

        Returns False (having changed nothing) when it cannot take the step, e.g. when
        the balls' step counts differ or Python float arithmetic would raise.
        """
        steps = self.steps
        first = int(steps[0])
        if steps.size > 1 and not (steps == first).all():
            return False
        try:
            self._scalar_update(p, g, float(first + 1))
        except (ArithmeticError, ValueError):
            return False
        steps += 1
        return True

    def _scalar_update(self, p: np.ndarray, g: np.ndarray, t: float) -> None:
        lists = self.state_lists()
        _put(p, self._scalar_lists(p.ravel().tolist(), g.ravel().tolist(), lists, t))
        self.put_state_lists(lists)

    def _scalar_lists(
        self, pl: list[float], gl: list[float], st: dict[str, list[float]], t: float
    ) -> list[float]:
        """One update on flat Python lists: return the new positions, replace ``st``'s
        lists with the new state. Must change nothing when it raises."""
        raise NotImplementedError

    def ensure_state(self, n: int, d: int) -> None:
        """Make the state for ``n`` balls of dimension ``d`` if there is none yet."""
        if self._n is None:
            self._n, self._shape = n, (n, d)
            self.state = self._init_state(n, d)
            self.steps = np.zeros(n, dtype=np.int64)
        elif (n, d) != self._shape:
            raise UsageError(
                f"{self.name}: state holds {self._shape[0]} balls of dimension "
                f"{self._shape[1]} but got {n} of dimension {d}; call reset() or extend()"
            )

    def state_lists(self) -> dict[str, list[float]]:
        """The state as flat Python lists, for a loop of :meth:`_scalar_lists` calls."""
        return {k: v.ravel().tolist() for k, v in self.state.items()}

    def put_state_lists(self, lists: dict[str, list[float]]) -> None:
        """Write lists from :meth:`state_lists` (after updates) back into the state."""
        for key, values in lists.items():
            _put(self.state[key], values)

    @staticmethod
    def _uniform_t(steps: np.ndarray, d: int):
        """The step count as a float when all balls agree (fast), else an (n, 1) array."""
        first = steps[0] if steps.size else 1
        if steps.size <= 1 or (steps == first).all():
            return float(first)
        return steps.astype(np.float64)[:, None]

    def _update(
        self,
        p: np.ndarray,
        g: np.ndarray,
        st: dict[str, np.ndarray],
        t,
        h: np.ndarray | None,
        rec: list[Phase] | None,
    ) -> None:
        """Apply one update in place to ``p`` ``(n, d)`` and ``st``; ``t`` is the new count."""
        raise NotImplementedError

    # -- teaching -----------------------------------------------------------------------

    def explain_phases(self) -> list[Phase]:
        """The stages of one update, each with one sentence (no vectors)."""
        return [Phase(name, sentence) for name, sentence in self.phase_sentences]

    def step_explained(
        self,
        params: np.ndarray,
        grad: np.ndarray,
        hessian: np.ndarray | None = None,
        active: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[Phase]]:
        """Take one real step and return the new positions and its intermediate vectors.

        The phases carry ``(n_active, dim)`` vectors (``(n_active,)`` on a curve) for the
        balls that moved: the gradient as used, the momentum buffer, the rescaling
        (the per-axis divisor or preconditioner) and the step that was added.
        """
        before = np.array(params, dtype=np.float64, copy=True)
        out = before.copy()
        rec: list[Phase] = []
        self.step_(out, grad, hessian, active, _record=rec)
        if rec and rec[-1].name == "step":
            # the whole displacement, decoupled weight decay included
            moved = (out - before) if active is None else (out - before)[np.asarray(active)]
            rec[-1] = Phase("step", rec[-1].sentence, moved.reshape(rec[-1].vector.shape))
        if out.ndim == 1:
            rec = [Phase(r.name, r.sentence, r.vector.reshape(-1)) for r in rec]
        return out, rec

    def _sentence(self, name: str) -> str:
        return dict(self.phase_sentences).get(name, name)

    def _rec(self, rec: list[Phase] | None, name: str, vector: np.ndarray) -> None:
        if rec is not None:
            rec.append(Phase(name, self._sentence(name), np.array(vector, copy=True)))

    def _signed_grad(self, g: np.ndarray, p: np.ndarray, rec, coupled_wd: bool = True):
        """``-g`` if maximizing, plus ``weight_decay * p`` when it is coupled (L2)."""
        h = self.hyper
        if h.get("maximize"):
            g = -g
        wd = h.get("weight_decay", 0.0)
        if coupled_wd and wd != 0:
            g = g + wd * p
        self._rec(rec, "gradient", g)
        return g

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"


def _coerce(opt: str, spec: HyperParameter, value: Any) -> Any:
    """Check a hyperparameter's type and normalise it (floats, bools, tuples)."""
    name = spec.name
    if spec.kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise UsageError(f"{opt}: {name} must be True or False, got {value!r}")
    if spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise UsageError(f"{opt}: {name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise UsageError(f"{opt}: {name} must be finite, got {value}")
        return value
    if spec.kind in ("betas", "eps_pair"):
        try:
            items = tuple(value)
        except TypeError:
            items = ()
        if len(items) != 2:
            raise UsageError(f"{opt}: {name} must be a pair of numbers, got {value!r}")
        out = []
        for i, item in enumerate(items):
            if item is None and spec.kind == "eps_pair" and i == 0:
                out.append(None)
                continue
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                raise UsageError(f"{opt}: {name} must be a pair of numbers, got {value!r}")
            if not math.isfinite(float(item)):
                raise UsageError(f"{opt}: {name} must be finite, got {value!r}")
            out.append(float(item))
        return tuple(out)
    raise AssertionError(spec.kind)  # pragma: no cover


# Shared hyperparameter declarations (torch's names; slider ranges for the UI).
def _lr(default: float) -> HyperParameter:
    return HyperParameter("lr", default, lo=1e-5, hi=1.0, log=True, help="learning rate")


_WD = HyperParameter("weight_decay", 0.0, lo=0.0, hi=1.0, help="L2 penalty added to the gradient")
_MAX = HyperParameter("maximize", False, kind="bool", help="climb instead of descend")
_BETAS = HyperParameter(
    "betas", (0.9, 0.999), kind="betas", lo=0.0, hi=0.9999, help="moment decay rates"
)


class GradientDescent(Optimizer):
    """Plain gradient descent, the baseline: ``x -= lr * g``."""

    name = "gd"
    description = "Plain gradient descent: step straight downhill, lr times the gradient."
    hyperparameters = (_lr(1e-2),)
    phase_sentences = (
        ("gradient", "The gradient points uphill; its length is the slope."),
        ("step", "Step against it, lr times the gradient."),
    )
    _engine_rule = "gd"

    def _update(self, p, g, st, t, h, rec):
        self._rec(rec, "gradient", g)
        lr = self.hyper["lr"]
        if rec is not None:
            self._rec(rec, "step", -lr * g)
        p -= lr * g


class SGD(Optimizer):
    """``torch.optim.SGD``: momentum, dampening, Nesterov, weight decay, maximize."""

    name = "sgd"
    description = "Stochastic gradient descent with optional (Nesterov) momentum, as in torch."
    hyperparameters = (
        _lr(1e-3),
        HyperParameter("momentum", 0.0, lo=0.0, hi=0.999, help="velocity kept each step"),
        HyperParameter("dampening", 0.0, lo=0.0, hi=1.0, help="shrinks the new gradient"),
        _WD,
        HyperParameter("nesterov", False, kind="bool", help="look ahead along the velocity"),
        _MAX,
    )
    velocity_key = "momentum_buffer"
    state_keys = ("momentum_buffer",)
    lazy_state_keys = ("momentum_buffer",)  # torch: None until a step with momentum
    _engine_rule = "sgd"
    phase_sentences = (
        ("gradient", "The gradient (plus weight decay times the position) points uphill."),
        ("momentum", "The velocity keeps momentum of its old value and adds the gradient."),
        ("step", "Step against the velocity (Nesterov: against gradient + momentum × velocity)."),
    )

    def _validate(self, h):
        super()._validate(h)
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            self._bad("Nesterov momentum requires a momentum and zero dampening")

    def _init_state(self, n, d):
        if self.hyper["momentum"] != 0:
            return {"momentum_buffer": np.zeros((n, d))}
        return {}

    def _update(self, p, g, st, t, h, rec):
        hp = self.hyper
        g = self._signed_grad(g, p, rec)
        mom = hp["momentum"]
        if mom != 0:
            # torch clones the gradient into the buffer on a parameter's first step, and
            # on the first step after momentum was turned on mid-run (the buffer was None)
            if "momentum_buffer" not in st:
                st["momentum_buffer"] = np.zeros_like(g)
                first = True
            else:
                first = t == 1.0
            buf = st["momentum_buffer"]
            if isinstance(first, np.ndarray):
                new = buf * mom + (1 - hp["dampening"]) * g
                np.copyto(buf, np.where(first, g, new))
            elif first:
                np.copyto(buf, g)
            else:
                buf *= mom
                buf += (1 - hp["dampening"]) * g
            self._rec(rec, "momentum", buf)
            g = g + mom * buf if hp["nesterov"] else buf
        step = -hp["lr"] * g
        self._rec(rec, "step", step)
        p += step


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``: per-axis step scaled by the root of all past squares."""

    name = "adagrad"
    description = "Adagrad: divide each axis by the root of its summed squared gradients."
    hyperparameters = (
        _lr(1e-2),
        HyperParameter("lr_decay", 0.0, lo=0.0, hi=1.0, help="lr / (1 + (t-1) lr_decay)"),
        _WD,
        HyperParameter("initial_accumulator_value", 0.0, lo=0.0, hi=1.0),
        HyperParameter("eps", 1e-10, lo=1e-12, hi=1e-1, log=True),
        _MAX,
    )
    second_moment_key = "sum"
    state_keys = ("sum",)
    _engine_rule = "adagrad"
    phase_sentences = (
        ("gradient", "The gradient (plus weight decay times the position) points uphill."),
        ("accumulate", "Each axis adds its squared gradient to a running sum."),
        ("rescaling", "Each axis is divided by the root of its sum: steep axes slow down."),
        ("step", "Step against the rescaled gradient, times a decaying lr."),
    )

    def _validate(self, h):
        super()._validate(h)
        if not h["lr_decay"] >= 0:
            self._bad(f"Invalid lr_decay value: {h['lr_decay']}")
        if not h["initial_accumulator_value"] >= 0:
            self._bad(f"Invalid initial_accumulator_value value: {h['initial_accumulator_value']}")

    def _init_state(self, n, d):
        return {"sum": np.full((n, d), self.hyper["initial_accumulator_value"])}

    def _update(self, p, g, st, t, h, rec):
        hp = self.hyper
        g = self._signed_grad(g, p, rec)
        clr = hp["lr"] / (1 + (t - 1) * hp["lr_decay"])
        s = st["sum"]
        s += g * g
        self._rec(rec, "accumulate", s)
        std = np.sqrt(s)
        std += hp["eps"]
        self._rec(rec, "rescaling", std)
        step = (-clr * g) / std  # addcdiv's order: (value * t1) / t2
        self._rec(rec, "step", step)
        p += step


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: optionally centered, optionally with momentum."""

    name = "rmsprop"
    description = "RMSprop: divide each axis by a running root-mean-square of its gradients."
    hyperparameters = (
        _lr(1e-2),
        HyperParameter("alpha", 0.99, lo=0.0, hi=0.9999, help="decay of the mean square"),
        HyperParameter("eps", 1e-8, lo=1e-12, hi=1e-1, log=True),
        _WD,
        HyperParameter("momentum", 0.0, lo=0.0, hi=0.999),
        HyperParameter("centered", False, kind="bool", help="subtract the squared mean"),
        _MAX,
    )
    velocity_key = "momentum_buffer"
    second_moment_key = "square_avg"
    state_keys = ("square_avg", "momentum_buffer", "grad_avg")
    _engine_rule = "rmsprop"
    phase_sentences = (
        ("gradient", "The gradient (plus weight decay times the position) points uphill."),
        ("accumulate", "Each axis keeps a decaying average of its squared gradient."),
        ("rescaling", "Each axis is divided by the root of that average (centered: variance)."),
        ("momentum", "With momentum, the rescaled gradient is added to a decaying velocity."),
        ("step", "Step against the rescaled gradient (or the velocity), times lr."),
    )

    def _validate(self, h):
        super()._validate(h)
        if not h["alpha"] >= 0:
            self._bad(f"Invalid alpha value: {h['alpha']}")

    def _init_state(self, n, d):
        st = {"square_avg": np.zeros((n, d))}
        if self.hyper["momentum"] > 0:
            st["momentum_buffer"] = np.zeros((n, d))
        if self.hyper["centered"]:
            st["grad_avg"] = np.zeros((n, d))
        return st

    def _update(self, p, g, st, t, h, rec):
        hp = self.hyper
        g = self._signed_grad(g, p, rec)
        alpha = hp["alpha"]
        sq = st["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * g * g
        self._rec(rec, "accumulate", sq)
        if hp["centered"]:
            ga = st["grad_avg"]
            _lerp(ga, g, 1 - alpha, out=ga)
            avg = np.sqrt(sq + (-1) * ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += hp["eps"]
        self._rec(rec, "rescaling", avg)
        if hp["momentum"] > 0:
            buf = st["momentum_buffer"]
            buf *= hp["momentum"]
            buf += g / avg
            self._rec(rec, "momentum", buf)
            step = -hp["lr"] * buf
        else:
            step = (-hp["lr"] * g) / avg  # addcdiv's order: (value * t1) / t2
        self._rec(rec, "step", step)
        p += step


class Adam(Optimizer):
    """``torch.optim.Adam`` (with ``amsgrad`` and ``decoupled_weight_decay``)."""

    name = "adam"
    description = "Adam: momentum divided by a running RMS of the gradient, bias-corrected."
    hyperparameters = (
        _lr(1e-3),
        _BETAS,
        HyperParameter("eps", 1e-8, lo=1e-12, hi=1e-1, log=True),
        _WD,
        HyperParameter("amsgrad", False, kind="bool", help="divide by the largest RMS so far"),
        _MAX,
        HyperParameter("decoupled_weight_decay", False, kind="bool", help="AdamW's decay"),
    )
    velocity_key = "exp_avg"
    second_moment_key = "exp_avg_sq"
    state_keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    phase_sentences = (
        ("gradient", "The gradient (plus weight decay times the position) points uphill."),
        ("momentum", "The first moment is a decaying average of gradients (beta1)."),
        ("accumulate", "The second moment is a decaying average of squared gradients (beta2)."),
        ("rescaling", "Each axis is divided by the bias-corrected root of its second moment."),
        ("step", "Step against the bias-corrected momentum over that root, times lr."),
    )
    _decoupled: ClassVar[bool | None] = None  # AdamW forces True

    def _prepare(self):
        hp = self.hyper
        b1, b2 = hp["betas"]
        self._b1, self._b2 = b1, b2
        self._w1 = 1 - b1
        self._w2 = 1 - b2
        dec = hp.get("decoupled_weight_decay", False) if self._decoupled is None else True
        self._dec = dec

    def _init_state(self, n, d):
        st = {"exp_avg": np.zeros((n, d)), "exp_avg_sq": np.zeros((n, d))}
        if self.hyper["amsgrad"]:
            st["max_exp_avg_sq"] = np.zeros((n, d))
        return st

    def _rule(self, x, g, m, v, vmax, t, ops, rec):
        """One Adam update, written once: on numpy arrays (:meth:`_update`) or on Python
        floats, one coordinate at a time (:meth:`_scalar_update`, for a few balls, where
        numpy's per-call overhead dominates). The augmented assignments update arrays in
        place (``x`` and the buffers; no temporaries for a big swarm) and rebind floats;
        ``ops`` supplies sqrt, maximum and lerp for the kind of number. The operations
        and their order are torch's. Returns the new ``(x, m, v, vmax)``."""
        hp = self.hyper
        lr, wd, b1, b2 = hp["lr"], hp["weight_decay"], self._b1, self._b2
        if hp["maximize"]:
            g = -g
        if wd != 0:
            if self._dec:
                x *= 1 - lr * wd
            else:
                g = g + wd * x
        self._rec(rec, "gradient", g)
        m = ops.lerp(m, g, self._w1)
        self._rec(rec, "momentum", m)
        v *= b2
        gg = self._w2 * g
        gg *= g
        v += gg
        self._rec(rec, "accumulate", v)
        step_size = lr / (1 - b1**t)
        bc2_sqrt = (1 - b2**t) ** 0.5
        if hp["amsgrad"]:
            vmax = ops.maximum(vmax, v)
            denom = ops.sqrt(vmax, gg)
        else:
            denom = ops.sqrt(v, gg)
        denom /= bc2_sqrt
        denom += hp["eps"]
        self._rec(rec, "rescaling", denom)
        upd = m * -step_size  # addcdiv's order: (value * exp_avg) / denom
        upd /= denom
        self._rec(rec, "step", upd)
        x += upd
        return x, m, v, vmax

    def _update(self, p, g, st, t, h, rec):
        vmax = st["max_exp_avg_sq"] if self.hyper["amsgrad"] else None
        self._rule(p, g, st["exp_avg"], st["exp_avg_sq"], vmax, t, _ARRAYS, rec)  # in place

    _scalar_ok = True
    _engine_rule = "adam"

    def _scalar_lists(self, pl, gl, st, t):
        # new lists built aside and swapped in at the end: a raise changes nothing
        ams = self.hyper["amsgrad"]
        xs, ms, vs = pl.copy(), st["exp_avg"].copy(), st["exp_avg_sq"].copy()
        vmaxs = st["max_exp_avg_sq"].copy() if ams else [None] * len(xs)
        for i in range(len(xs)):
            xs[i], ms[i], vs[i], vmaxs[i] = self._rule(
                xs[i], gl[i], ms[i], vs[i], vmaxs[i], t, _FLOATS, None
            )
        st["exp_avg"], st["exp_avg_sq"] = ms, vs
        if ams:
            st["max_exp_avg_sq"] = vmaxs
        return xs


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default 1e-2)."""

    name = "adamw"
    description = "AdamW: Adam whose weight decay shrinks the position directly."
    hyperparameters = (
        _lr(1e-3),
        _BETAS,
        HyperParameter("eps", 1e-8, lo=1e-12, hi=1e-1, log=True),
        HyperParameter("weight_decay", 1e-2, lo=0.0, hi=1.0, help="shrinks the position"),
        HyperParameter("amsgrad", False, kind="bool"),
        _MAX,
    )
    _decoupled = True


class NAdam(Optimizer):
    """``torch.optim.NAdam``: Adam with Nesterov momentum and a momentum schedule."""

    name = "nadam"
    description = "NAdam: Adam that looks ahead along its momentum (Nesterov)."
    hyperparameters = (
        _lr(2e-3),
        _BETAS,
        HyperParameter("eps", 1e-8, lo=1e-12, hi=1e-1, log=True),
        _WD,
        HyperParameter("momentum_decay", 4e-3, lo=0.0, hi=0.1, help="momentum warm-up speed"),
        HyperParameter("decoupled_weight_decay", False, kind="bool"),
        _MAX,
    )
    velocity_key = "exp_avg"
    second_moment_key = "exp_avg_sq"
    state_keys = ("exp_avg", "exp_avg_sq", "mu_product")
    phase_sentences = Adam.phase_sentences
    _engine_rule = "nadam"

    def _validate(self, h):
        super()._validate(h)
        if not h["momentum_decay"] >= 0:
            self._bad(f"Invalid momentum_decay value: {h['momentum_decay']}")

    def _init_state(self, n, d):
        return {
            "exp_avg": np.zeros((n, d)),
            "exp_avg_sq": np.zeros((n, d)),
            # float32 like torch's scalar state tensor; a (n, 1) column per ball
            "mu_product": np.ones((n, 1), dtype=np.float32),
        }

    def _update(self, p, g, st, t, h, rec):
        hp = self.hyper
        lr, wd = hp["lr"], hp["weight_decay"]
        b1, b2 = hp["betas"]
        md = hp["momentum_decay"]
        if hp["maximize"]:
            g = -g
        bc2 = 1 - b2**t
        if wd != 0:
            if hp["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        self._rec(rec, "gradient", g)
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * md)))
        mp = st["mu_product"]
        # float32 in-place multiply, as torch's float32 tensor *= python float
        mp *= np.float32(mu) if not isinstance(mu, np.ndarray) else mu.astype(np.float32)
        mp64 = mp.astype(np.float64)
        m, v = st["exp_avg"], st["exp_avg_sq"]
        _lerp(m, g, 1 - b1, out=m)
        self._rec(rec, "momentum", m)
        v *= b2
        v += (1 - b2) * g * g
        self._rec(rec, "accumulate", v)
        denom = np.sqrt(v / bc2)
        mu_product_next = mp64 * mu_next
        denom += hp["eps"]
        self._rec(rec, "rescaling", denom)
        if not isinstance(t, np.ndarray):
            # balls with the same step count share mu_product: use python floats like torch
            mp64 = float(mp64.flat[0])
            mu_product_next = mp64 * mu_next
        c1 = -lr * (1.0 - mu) / (1.0 - mp64)
        c2 = (-lr * mu_next) / (1.0 - mu_product_next)
        s1 = (c1 * g) / denom  # addcdiv's order: (value * t1) / t2
        s2 = (c2 * m) / denom
        if rec is not None:
            self._rec(rec, "step", s1 + s2)
        p += s1
        p += s2


class Adafactor(Optimizer):
    """``torch.optim.Adafactor``, its rule for a vector parameter (each ball is one)."""

    name = "adafactor"
    description = "Adafactor: relative steps scaled by the ball's size, RMS-clipped updates."
    hyperparameters = (
        _lr(1e-2),
        HyperParameter("beta2_decay", -0.8, lo=-1.0, hi=0.0, help="second-moment schedule"),
        HyperParameter("eps", (None, 1e-3), kind="eps_pair", lo=0.0, hi=1e-1),
        HyperParameter("d", 1.0, lo=1.0, hi=10.0, help="clipping threshold on update RMS"),
        _WD,
        _MAX,
    )
    second_moment_key = "variance"
    state_keys = ("variance",)
    phase_sentences = (
        ("gradient", "The gradient points uphill."),
        ("accumulate", "Each axis keeps an average of squared gradients that forgets as 1/t^0.8."),
        ("rescaling", "The gradient is divided by the root of that average, then clipped."),
        ("step", "Step lr (capped at 1/sqrt(t)) times the ball's own RMS size (at least eps2)."),
    )

    def _validate(self, h):
        if not h["lr"] >= 0.0:
            self._bad(f"Learning rate should be >= 0 but is: {h['lr']}")
        if not h["beta2_decay"] <= 0.0:
            self._bad(f"beta2_decay should be <= 0 but is: {h['beta2_decay']}")
        e1, e2 = h["eps"]
        if e1 is not None and not e1 >= 0:
            self._bad(f"epsilon1 should be >= 0 but is: {e1}")
        if not e2 >= 0:
            self._bad(f"epsilon2 should be >= 0 but is: {e2}")
        if not h["d"] >= 1.0:
            self._bad(f"Clipping threshold d should be >= 1 but is: {h['d']}")
        if not h["weight_decay"] >= 0.0:
            self._bad(f"weight_decay should be >= 0 but is: {h['weight_decay']}")

    def _init_state(self, n, d):
        return {"variance": np.zeros((n, d))}

    def _update(self, p, g, st, t, h, rec):
        hp = self.hyper
        lr, wd, dclip = hp["lr"], hp["weight_decay"], hp["d"]
        eps1, eps2 = hp["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(np.float64).eps)
        if hp["maximize"]:
            g = -g
        self._rec(rec, "gradient", g)
        d = p.shape[1]
        one_minus_beta2_t = t ** hp["beta2_decay"]
        rho = np.minimum(lr, 1 / (t**0.5))
        rms_p = np.sqrt(np.einsum("ij,ij->i", p, p))[:, None] / (d**0.5)
        alpha = np.maximum(eps2, rms_p) * rho
        if wd != 0:
            p *= 1 - lr * wd
        var = st["variance"]
        _lerp(var, g * g, one_minus_beta2_t, out=var)
        self._rec(rec, "accumulate", var)
        update = 1.0 / np.sqrt(np.maximum(var, eps1 * eps1))
        update *= g
        self._rec(rec, "rescaling", update)
        unorm = np.sqrt(np.einsum("ij,ij->i", update, update))[:, None]
        denom = np.maximum(1.0, unorm / ((d**0.5) * dclip))
        step = (-alpha / denom) * update
        self._rec(rec, "step", step)
        p += step


class Newton(Optimizer):
    """Damped, saddle-free Newton: ``x -= lr * |H|_d^-1 g`` (see the module docstring)."""

    name = "newton"
    description = "Newton's method: jump to the bottom of the local quadratic (safeguarded)."
    hyperparameters = (
        HyperParameter("lr", 1.0, lo=1e-3, hi=1.0, log=True, help="fraction of the full step"),
        HyperParameter(
            "damping", 1e-3, lo=1e-6, hi=10.0, log=True, help="smallest curvature allowed"
        ),
    )
    needs_hessian = True
    phase_sentences = (
        ("gradient", "The gradient is the slope of the local quadratic."),
        ("rescaling", "The Hessian's curvatures, made positive and at least damping, divide it."),
        ("step", "Step lr times that Newton step, to the bottom of the local quadratic."),
    )

    def _validate(self, h):
        super()._validate(h)
        if not h["damping"] > 0:
            self._bad(f"Invalid damping value: {h['damping']} (must be > 0)")

    def _update(self, p, g, st, t, h, rec):
        self._rec(rec, "gradient", g)
        damping, lr = self.hyper["damping"], self.hyper["lr"]
        d = p.shape[1]
        if d == 1:
            curv = np.maximum(np.abs(h[:, :, 0]), damping)
            self._rec(rec, "rescaling", curv)
            newton = g / curv
        else:
            newton = np.full_like(g, np.nan)
            ok = np.isfinite(h).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
            if ok.any():
                hs = h[ok]
                hs = 0.5 * (hs + np.swapaxes(hs, 1, 2))  # symmetric by construction
                lam, q = np.linalg.eigh(hs)
                lam = np.maximum(np.abs(lam), damping)
                qg = np.einsum("nji,nj->ni", q, g[ok])
                newton[ok] = np.einsum("nij,nj->ni", q, qg / lam)
            if rec is not None:
                curv = np.full_like(g, np.nan)
                if ok.any():
                    curv[ok] = lam
                self._rec(rec, "rescaling", curv)
        step = -lr * newton
        self._rec(rec, "step", step)
        p += step


@dataclass(frozen=True)
class OptimizerSpec:
    """A registry entry: what its class declares (``name``, ``description``,
    ``hyperparameters``, ``needs_hessian``, and the defaults and slider ranges those give),
    read from the class, never restated."""

    cls: type[Optimizer]

    def __getattr__(self, key: str) -> Any:
        if key in ("name", "description", "hyperparameters", "needs_hessian"):
            return getattr(self.cls, key)
        raise AttributeError(f"'OptimizerSpec' object has no attribute {key!r}")

    @property
    def defaults(self) -> dict[str, Any]:
        """Each hyperparameter's default (torch's), by name (a new dict)."""
        return {h.name: h.default for h in self.cls.hyperparameters}

    @property
    def ranges(self) -> dict[str, tuple[float | None, float | None, bool]]:
        """``(lo, hi, log)`` of each slider (booleans have none)."""
        return {h.name: (h.lo, h.hi, h.log) for h in self.cls.hyperparameters if h.kind != "bool"}

    def create(self, **hyper: Any) -> Optimizer:
        """A new optimizer of this kind with ``hyper`` over the defaults."""
        return self.cls(**hyper)


#: Every optimizer by name, in the order the UI lists them.
OPTIMIZERS: dict[str, OptimizerSpec] = {
    cls.name: OptimizerSpec(cls)
    for cls in (GradientDescent, SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, Adafactor, Newton)
}


def make_optimizer(name: str, **hyper: Any) -> Optimizer:
    """Create the optimizer registered as ``name`` (UsageError for an unknown name)."""
    try:
        spec = OPTIMIZERS[name.lower()]
    except KeyError:
        raise UsageError(
            f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}"
        ) from None
    return spec.create(**hyper)
