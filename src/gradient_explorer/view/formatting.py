"""Numbers as people read them: one formatter for every number shown, and one parser for
numbers typed as text (no numpy, no GL).

Python's formatting keeps the sign of zero: ``f"{-0.0:g}"`` is ``"-0"`` and
``f"{-1e-9:.3f}"`` is ``"-0.000"``. A learner reads "-0" as a different number from
"0", so every number the panels, labels, status line and CLI text show goes through
:func:`format_number`, which drops the sign of any result that reads as zero.
"""

from __future__ import annotations

import math

from gradient_explorer.errors import UsageError

__all__ = ["format_number", "format_numbers", "json_number", "parse_floats", "unsigned_zero"]


def format_number(value: float, spec: str = ".4g") -> str:
    """``format(value, spec)``, with a result that reads as zero never signed.

    Parameters
    ----------
    value : float
        Any real number (NaN and infinities format as Python does).
    spec : str
        A format spec for floats (``".4g"``, ``".3f"``, ``"9.4g"``, ...).
    """
    value = float(value)
    text = format(value, spec)
    if math.isfinite(value) and value <= 0.0 and "-" in text and float(text.strip()) == 0.0:
        # Zero after rounding (-1e-9 at 3 decimals) or negative zero: format +0 instead,
        # which keeps the spec's width, padding and decimals.
        text = format(0.0, spec)
    return text


def format_numbers(values, spec: str = ".4g", brackets: str = "()") -> str:
    """A vector as ``(a, b)``, each part through :func:`format_number`."""
    inner = ", ".join(format_number(v, spec) for v in values)
    return f"{brackets[0]}{inner}{brackets[1]}"


def unsigned_zero(value: float) -> float:
    """``value`` with a negative zero made positive (``-0.0 + 0.0`` is ``+0.0``)."""
    return float(value) + 0.0


def json_number(value: float) -> float | None:
    """A number for the CLI's JSON: null where it does not exist (JSON has no NaN), and
    never -0.0."""
    value = float(value)
    return value + 0.0 if math.isfinite(value) else None


def parse_floats(text: str, what: str, counts: tuple[int, ...]) -> tuple[float, ...]:
    """'1,2' -> (1.0, 2.0), with a one-line error naming ``what``."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise UsageError(f"{what} must be numbers separated by commas, got '{text}'") from None
    if len(values) not in counts:
        expected = " or ".join(str(c) for c in counts)
        noun = "number" if counts == (1,) else "numbers"
        raise UsageError(f"{what} needs {expected} {noun}, got {len(values)} in '{text}'")
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{what} must be finite numbers, got '{text}'")
    return values
