"""Generated code, compiled and run: the part of a surface that needs no sympy.

:mod:`gradient_explorer.surfaces.symbolic` prints numpy, plain-float and GLSL source from
sympy; this module turns the printed Python into functions (with the helpers it calls)
and runs builds in a child process with a time limit. A catalogue surface whose generated
code is cached (:mod:`gradient_explorer.surfaces.codecache`) needs only this module, so
drawing it never imports sympy.
"""

from __future__ import annotations

import math
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from gradient_explorer.errors import ExpressionError, GradientExplorerError
from gradient_explorer.limits import limit_cpu, lower_priority

#: The display transforms (their formulas are in symbolic.DISPLAY_TRANSFORMS).
DISPLAY_NAMES = ("none", "log1p")


@dataclass(frozen=True)
class DerivedSources:
    """Generated code for one surface: Python (numpy) source and GLSL source."""

    python: str
    glsl: str
    gradient: tuple[str, ...]  # sympy srepr of each partial derivative, for inspection


def _sign_or_nan(v):
    return np.where(v == 0, np.nan, np.sign(v))


def _step_or_nan(v):
    return np.where(v > 0, 1.0, np.where(v < 0, 0.0, np.nan))


def _zero_or_nan(v):
    return np.where((v > 0) | (v < 0), 0.0, np.nan)


def _sigmoid(v):
    # exp of a negative number only: no overflow at any v.
    t = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0, t) / (1.0 + t)


# Scalar forms of the kink and learning functions, for the one-point fast path (and for
# backprop's forward pass): NaN where numpy's forms give NaN.


def sign_or_nan_scalar(v):
    return math.nan if v == 0 or v != v else math.copysign(1.0, v)


def sign_scalar(v):
    return 1.0 if v > 0 else -1.0 if v < 0 else v * 0.0  # 0 at 0, NaN at NaN


def step_or_nan_scalar(v):
    return 1.0 if v > 0 else 0.0 if v < 0 else math.nan


def zero_or_nan_scalar(v):
    return 0.0 if v > 0 or v < 0 else math.nan


def sigmoid_scalar(v):
    t = math.exp(-abs(v))
    return (1.0 if v >= 0 else t) / (1.0 + t)


def softplus_scalar(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


# The generated one-point code's forms: numpy's rounding, the numpy path's bits.
def _sigmoid_numpy_scalar(v):
    t = np.exp(-abs(v))
    return (1.0 if v >= 0 else t) / (1.0 + t)


def _softplus_numpy_scalar(v):
    return np.logaddexp(0.0, v)


def square_scalar(v):
    return v * v


def max_scalar(*args):
    """numpy.maximum(a0, numpy.maximum(a1, ...)), as the numpy code nests it: NaN wins,
    and a tie gives the later argument (max of -0.0 and 0.0 is 0.0, of 0.0 and -0.0 -0.0)."""
    if any(a != a for a in args):
        return math.nan
    result = args[-1]
    for a in reversed(args[:-1]):
        result = a if a > result else result
    return result


def min_scalar(*args):
    if any(a != a for a in args):
        return math.nan
    result = args[-1]
    for a in reversed(args[:-1]):
        result = a if a < result else result
    return result


def compile_python(source: str) -> dict[str, object]:
    """Compile generated numpy source (printed by this module from sympy, never user text)."""
    namespace: dict[str, object] = {
        "numpy": np,
        "math": math,
        "_sign_or_nan": _sign_or_nan,
        "_step_or_nan": _step_or_nan,
        "_zero_or_nan": _zero_or_nan,
        "_sigmoid": _sigmoid,
        "_sign_or_nan_scalar": sign_or_nan_scalar,
        "_sign_scalar": sign_scalar,
        "_step_or_nan_scalar": step_or_nan_scalar,
        "_zero_or_nan_scalar": zero_or_nan_scalar,
        "_sigmoid_scalar": _sigmoid_numpy_scalar,
        "_softplus_scalar": _softplus_numpy_scalar,
        "_max_scalar": max_scalar,
        "_sq": square_scalar,
        "_min_scalar": min_scalar,
    }
    exec(compile(source, "<gradient-explorer generated>", "exec"), namespace)
    return namespace


T = TypeVar("T")


# The helpers every generated GLSL (and the sampled surfaces' shader) calls.
GLSL_HELPERS = """\
float ge_nan() { return uintBitsToFloat(0x7fc00000u); }
float ge_inf() { return uintBitsToFloat(0x7f800000u); }
// Bit tests, not isnan/isinf: fast-math compilers may fold those away.
bool ge_is_finite(float v) { return (floatBitsToUint(v) & 0x7f800000u) != 0x7f800000u; }
float ge_sqrt(float v) { return v < 0.0 ? ge_nan() : sqrt(v); }
float ge_log(float v) { return v < 0.0 ? ge_nan() : (v == 0.0 ? -ge_inf() : log(v)); }
float ge_asin(float v) { return abs(v) > 1.0 ? ge_nan() : asin(v); }
float ge_acos(float v) { return abs(v) > 1.0 ? ge_nan() : acos(v); }
float ge_atan2(float y, float x) { return (x == 0.0 && y == 0.0) ? 0.0 : atan(y, x); }
float ge_tanh(float v) { float t = exp(-2.0 * abs(v)); return sign(v) * (1.0 - t) / (1.0 + t); }
// Stable forms: exp() of a negative number only, so no overflow at any v.
float ge_sigmoid(float v) { float t = exp(-abs(v)); return (v >= 0.0 ? 1.0 : t) / (1.0 + t); }
float ge_softplus(float v) {
    float t = exp(-abs(v));
    float u = 1.0 + t;
    // log(1 + t) without the rounding of 1 + t for small t (no log1p in GLSL).
    return max(v, 0.0) + (u == 1.0 ? t : log(u) * t / (u - 1.0));
}
// At a kink (v = 0) the shading takes the average of the one-sided slopes; numpy says NaN.
float ge_step(float v) { return v > 0.0 ? 1.0 : (v < 0.0 ? 0.0 : 0.5); }
float ge_pow(float b, float e) {
    if (b > 0.0) return exp(e * log(b));
    if (b == 0.0) return e > 0.0 ? 0.0 : (e == 0.0 ? 1.0 : ge_inf());
    return ge_nan();
}
"""


def parameter_uniform(name: str) -> str:
    """The GLSL uniform that carries parameter ``name``."""
    return f"param_{name}"


#: A child may take this many times its CPU limit in wall time (a busy machine), plus 5 s.
WALL_FACTOR = 4.0


# How the kernel ends a child past its CPU limit: SIGXCPU, then SIGKILL at the hard limit.
_CPU_LIMIT_EXITS = {-getattr(signal, "SIGXCPU", 24), -getattr(signal, "SIGKILL", 9)}


def run_with_timeout(build: Callable[[], T], timeout: float | None) -> T:
    """``build()`` in a forked child, stopped after ``timeout`` seconds; ``None``: here.

    The limit counts the child's CPU time (rounded up to whole seconds), so an expression
    is judged the same on an idle and on a busy machine; a child that cannot even get
    the CPU is stopped after :data:`WALL_FACTOR` times the limit in wall time. The result
    comes back pickled. The project's own errors come back as themselves, anything else
    as one :class:`ExpressionError` line. The child runs at a lower priority and holds no
    lock of this process: the app's frames go on meanwhile.
    """
    if timeout is None or sys.platform == "win32":
        return build()
    import multiprocessing  # here: 40 ms of imports a drawing process never needs

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child():
        try:
            lower_priority()  # in the app, the window's frames come first
            limit_cpu(timeout)
            sender.send(("ok", build()))
        except GradientExplorerError as exc:
            sender.send(("error", type(exc), str(exc)))
        except Exception as exc:  # reported to the parent as one line
            reason = f"could not derive this expression ({type(exc).__name__})"
            sender.send(("error", ExpressionError, reason))
        finally:
            sender.close()

    too_slow = f"derivatives took longer than {timeout:g} s: simplify the expression"
    process = context.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(WALL_FACTOR * timeout + 5.0):
            raise ExpressionError(too_slow)
        try:
            message = receiver.recv()
        except EOFError:
            process.join(1.0)
            if process.exitcode in _CPU_LIMIT_EXITS:
                raise ExpressionError(too_slow) from None
            raise ExpressionError("deriving this expression failed: simplify it") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(1.0)
        receiver.close()
    if message[0] == "error":
        _, error_type, text = message
        raise error_type(text)
    return message[1]
