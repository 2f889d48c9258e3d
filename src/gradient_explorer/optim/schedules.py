"""Learning-rate schedules that follow ``torch.optim.lr_scheduler`` step for step.

A schedule is a small stateful object stepped *after* each optimizer step, as torch's
are: step ``k`` (1-based) of the optimizer uses the rate the schedule held after ``k - 1``
schedule steps. The rates are computed with torch's own recursive formulas (each new rate
from the previous one), so a trajectory agrees with torch's to rounding, not just to the
closed form.

Spec strings (the CLI's ``--schedule`` and the API's ``schedule=``):

``constant``
    No schedule: the optimizer's lr throughout.
``step:STEP_SIZE[:GAMMA]``
    ``StepLR``: multiply the rate by ``GAMMA`` (default 0.1) every ``STEP_SIZE`` steps.
``exponential:GAMMA``
    ``ExponentialLR``: multiply by ``GAMMA`` after every step.
``cosine:T_MAX[:ETA_MIN]``
    ``CosineAnnealingLR``: from the base rate down to ``ETA_MIN`` (default 0) over
    ``T_MAX`` steps along half a cosine (and, like torch's, back up after ``T_MAX``).
``warmup_cosine:WARMUP:T_MAX``
    Linear warm-up from 0 to the base rate over the first ``WARMUP`` steps, then half a
    cosine down to 0 at step ``T_MAX`` (``T_MAX`` counts the whole run, warm-up
    included), and 0 after it. This is torch's ``LambdaLR`` with the factor
    ``t / WARMUP`` for ``t < WARMUP`` and ``(1 + cos(pi (t - WARMUP) / (T_MAX - WARMUP))) / 2``
    up to ``T_MAX``; ``SequentialLR(LinearLR(start_factor≈0), CosineAnnealingLR)`` gives
    the same rates up to its tiny start factor.
"""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np

from gradient_explorer.errors import UsageError

__all__ = [
    "SCHEDULE_HELP",
    "SCHEDULE_KINDS",
    "Constant",
    "Cosine",
    "Exponential",
    "Schedule",
    "StepDecay",
    "WarmupCosine",
    "parse_schedule",
]

SCHEDULE_KINDS = ("constant", "step", "exponential", "cosine", "warmup_cosine")
SCHEDULE_HELP = (
    "constant | step:STEP_SIZE[:GAMMA] | exponential:GAMMA | cosine:T_MAX[:ETA_MIN] | "
    "warmup_cosine:WARMUP:T_MAX"
)


class Schedule:
    """Base class: ``lr`` is the rate for the next optimizer step; ``step()`` advances.

    Parameters
    ----------
    base_lr : float
        The optimizer's lr (torch's ``initial_lr``). :meth:`bind` sets it later when the
        schedule was made from a spec before the optimizer was known.
    """

    kind = "constant"

    def __init__(self, base_lr: float = 1.0) -> None:
        self.bind(base_lr)

    def bind(self, base_lr: float) -> Schedule:
        """Start again from ``base_lr`` (step 0); return self."""
        if not (isinstance(base_lr, int | float) and math.isfinite(base_lr) and base_lr >= 0):
            raise UsageError(f"a schedule's base lr must be a finite number >= 0, got {base_lr!r}")
        self.base_lr = float(base_lr)
        self.reset()
        return self

    def reset(self) -> None:
        """Back to step 0 (torch's scheduler just constructed)."""
        self.last_epoch = 0
        self.lr = self._initial()

    def _initial(self) -> float:
        return self.base_lr

    def step(self) -> float:
        """Advance one step (after an optimizer step); return the new rate."""
        self.last_epoch += 1
        self.lr = self._next(self.lr, self.last_epoch)
        return self.lr

    def _next(self, lr: float, epoch: int) -> float:
        return lr

    def rebased(self, base_lr: float) -> Schedule:
        """A copy with base rate ``base_lr`` at this one's step, as if it had had that
        base from the start (the lr slider moved during a scheduled run)."""
        twin = copy.copy(self).bind(base_lr)
        for _ in range(self.last_epoch):
            twin.step()
        return twin

    def rates(self, n: int) -> np.ndarray:
        """The rates of optimizer steps 1..n from here, without changing this schedule."""
        twin = copy.copy(self)
        out = np.empty(max(int(n), 0))
        for i in range(len(out)):
            out[i] = twin.lr
            twin.step()
        return out

    @classmethod
    def _arguments(cls) -> list[inspect.Parameter]:
        """The spec's values: the constructor's arguments but ``base_lr``, each kept as the
        attribute of its name."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [p for p in params if p.name not in ("self", "base_lr")]

    @property
    def spec(self) -> str:
        """The spec string that makes this schedule: ``kind:VALUE:...``, every value given."""
        values = (getattr(self, p.name) for p in self._arguments())
        return ":".join([self.kind, *(str(v) if isinstance(v, int) else f"{v:g}" for v in values)])

    def __repr__(self) -> str:
        return f"<Schedule {self.spec} base_lr={self.base_lr:g} step={self.last_epoch}>"


class Constant(Schedule):
    """No schedule: the base rate throughout."""


class StepDecay(Schedule):
    """``torch.optim.lr_scheduler.StepLR``: times ``gamma`` every ``step_size`` steps."""

    kind = "step"

    def __init__(self, step_size: int, gamma: float = 0.1, base_lr: float = 1.0) -> None:
        self.step_size = _positive_int(step_size, "step: STEP_SIZE")
        self.gamma = _nonnegative(gamma, "step: GAMMA")
        super().__init__(base_lr)

    def _next(self, lr, epoch):
        return lr * self.gamma if epoch % self.step_size == 0 else lr


class Exponential(Schedule):
    """``torch.optim.lr_scheduler.ExponentialLR``: times ``gamma`` after every step."""

    kind = "exponential"

    def __init__(self, gamma: float, base_lr: float = 1.0) -> None:
        self.gamma = _nonnegative(gamma, "exponential: GAMMA")
        super().__init__(base_lr)

    def _next(self, lr, epoch):
        return lr * self.gamma


class Cosine(Schedule):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` with its recursive update."""

    kind = "cosine"

    def __init__(self, t_max: int, eta_min: float = 0.0, base_lr: float = 1.0) -> None:
        self.t_max = _positive_int(t_max, "cosine: T_MAX")
        self.eta_min = _nonnegative(eta_min, "cosine: ETA_MIN")
        super().__init__(base_lr)

    def _next(self, lr, epoch):
        t, lo = self.t_max, self.eta_min
        if (epoch - 1 - t) % (2 * t) == 0:
            return lr + (self.base_lr - lo) * (1 - math.cos(math.pi / t)) / 2
        return (1 + math.cos(math.pi * epoch / t)) / (1 + math.cos(math.pi * (epoch - 1) / t)) * (
            lr - lo
        ) + lo


class WarmupCosine(Schedule):
    """Linear warm-up from 0 over ``warmup`` steps, then a half cosine to 0 at ``t_max``.

    torch's ``LambdaLR`` with :meth:`factor`: the rate is ``base_lr * factor(t)``.
    """

    kind = "warmup_cosine"

    def __init__(self, warmup: int, t_max: int, base_lr: float = 1.0) -> None:
        self.warmup = _nonnegative_int(warmup, "warmup_cosine: WARMUP")
        self.t_max = _positive_int(t_max, "warmup_cosine: T_MAX")
        if self.t_max <= self.warmup:
            raise UsageError(
                f"warmup_cosine: T_MAX ({self.t_max}) must be larger than WARMUP ({self.warmup})"
            )
        super().__init__(base_lr)

    def factor(self, t: int) -> float:
        """The multiplier of the base rate after ``t`` schedule steps."""
        if t < self.warmup:
            return t / self.warmup
        if t >= self.t_max:
            return 0.0
        return 0.5 * (1.0 + math.cos(math.pi * (t - self.warmup) / (self.t_max - self.warmup)))

    def _initial(self):
        return self.base_lr * self.factor(0)

    def _next(self, lr, epoch):
        return self.base_lr * self.factor(epoch)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"schedule {what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"schedule {what} must be finite, got {text!r}")
    return value


def _integer(text, what: str) -> int:
    if isinstance(text, str):
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"schedule {what} must be a whole number, got {text!r}") from None
    if isinstance(text, bool) or not isinstance(text, int | np.integer):
        raise UsageError(f"schedule {what} must be a whole number, got {text!r}")
    return int(text)


def _positive_int(value, what: str) -> int:
    n = _integer(value, what)
    if n < 1:
        raise UsageError(f"schedule {what} must be >= 1, got {n}")
    return n


def _nonnegative_int(value, what: str) -> int:
    n = _integer(value, what)
    if n < 0:
        raise UsageError(f"schedule {what} must be >= 0, got {n}")
    return n


def _nonnegative(value, what: str) -> float:
    v = _number(value, what) if isinstance(value, str) else value
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise UsageError(f"schedule {what} must be a finite number >= 0, got {value!r}")
    return float(v)


_CLASSES: dict[str, type[Schedule]] = {
    cls.kind: cls for cls in (Constant, StepDecay, Exponential, Cosine, WarmupCosine)
}


def parse_schedule(spec: str | Schedule | None, base_lr: float = 1.0) -> Schedule:
    """A :class:`Schedule` from a spec string (see the module docstring).

    ``None`` and ``"constant"`` give :class:`Constant`; a :class:`Schedule` is rebound to
    ``base_lr``. A bad spec raises :class:`~gradient_explorer.errors.UsageError` with one
    line that says what is wrong and the accepted forms.
    """
    if spec is None:
        return Constant(base_lr)
    if isinstance(spec, Schedule):
        return spec.bind(base_lr)
    if not isinstance(spec, str):
        raise UsageError(f"a schedule is a string like 'cosine:300', got {spec!r}")
    text = spec.strip()
    kind, *args = [part.strip() for part in text.split(":")] if text else [""]
    kind = kind.lower()
    if kind not in _CLASSES:
        raise UsageError(f"unknown schedule {kind!r}; use {SCHEDULE_HELP}")
    cls = _CLASSES[kind]
    arguments = cls._arguments()
    required = sum(p.default is p.empty for p in arguments)
    if not required <= len(args) <= len(arguments):
        raise UsageError(f"schedule {text!r} has {len(args)} values; use {SCHEDULE_HELP}")
    # Real numbers are read from the texts first (a bad one is named before a bad whole
    # number); the constructor checks the values and fills in its defaults.
    values = [
        _number(arg, f"{kind}: {p.name.upper()}") if p.annotation in ("float", float) else arg
        for p, arg in zip(arguments, args, strict=False)
    ]
    return cls(*values, base_lr=base_lr)
