"""What defines a surface or curve, as plain data: its text, domain, parameters, lesson
and teaching defaults. The catalogue is a table of these; :class:`~gradient_explorer.
surfaces.surface.Surface` compiles one. Kept apart from both so neither imports the other
back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradient_explorer.errors import UsageError

__all__ = ["Parameter", "SurfaceDefinition", "Teaching"]


@dataclass(frozen=True)
class Parameter:
    """A named constant of a surface that the user can move with a slider."""

    name: str
    default: float = 1.0
    lo: float = -10.0
    hi: float = 10.0

    def __post_init__(self):
        if not (math.isfinite(self.default) and math.isfinite(self.lo) and math.isfinite(self.hi)):
            raise UsageError(f"parameter {self.name}: default and range must be finite numbers")
        if self.lo >= self.hi:
            raise UsageError(f"parameter {self.name}: range {self.lo}..{self.hi} is empty")


@dataclass(frozen=True)
class Teaching:
    """Defaults chosen so that a learner sees each optimizer's character in 10 seconds.

    ``start`` is where one ball (and a race) starts (``(x,)`` on a curve), away from
    every critical point; a swarm spreads over the whole domain. ``lr`` and ``momentum`` hold
    ``(optimizer, value)`` pairs; an optimizer not named keeps torch's default. The
    values come from ``benchmarks/teaching_table.py``; ``tests/test_teaching.py`` checks
    them.
    """

    start: tuple[float, ...]
    lr: tuple[tuple[str, float], ...] = ()
    momentum: tuple[tuple[str, float], ...] = ()

    def hyper(self, optimizer: str) -> dict[str, float]:
        """The hyperparameters to set for ``optimizer``: ``lr`` and maybe ``momentum``."""
        out = {}
        for key, pairs in (("lr", self.lr), ("momentum", self.momentum)):
            for name, value in pairs:
                if name == optimizer:
                    out[key] = float(value)
        return out

    def to_json(self) -> dict:
        """``{"start": [...], "lr": {...}}`` plus ``momentum`` where set; ``start`` is a
        list on curves too (``[x]``)."""
        doc: dict = {"start": [float(v) for v in self.start], "lr": dict(self.lr)}
        if self.momentum:
            doc["momentum"] = dict(self.momentum)
        return doc


@dataclass(frozen=True)
class SurfaceDefinition:
    """Everything that defines a surface; everything else is derived from it."""

    name: str
    expression: str
    domain: tuple[tuple[float, float], ...] | None = None
    parameters: tuple[Parameter, ...] = ()
    height_scale: float | None = None  # None: chosen from the range of f over the domain
    display: str = "none"
    lesson: str = ""
    # (point as expression texts, kind), e.g. (("a", "a^2"), "minimum"); may use parameters.
    critical_points: tuple[tuple[tuple[str, ...], str], ...] = ()
    dim: int | None = None  # None: 2 if y appears in the expression, else 1
    teaching: Teaching | None = None  # catalogue entries: start and lr per optimizer
