"""max/min ties between signed zeros give numpy's answer on every path.

numpy.maximum(a, b) returns b when a == b (so max(-0.0, 0.0) is 0.0 and max(0.0, -0.0)
is -0.0); Python's max returns the first. The sign of a zero survives into 1/z, so the
one-ball scalar path, the numpy path and the compiled engine must agree on it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_explorer.surfaces.compiled import max_scalar, min_scalar
from gradient_explorer.surfaces.surface import Surface

ZEROS = [(-0.0, 0.0), (0.0, -0.0), (-0.0, -0.0), (0.0, 0.0), (1.0, 1.0), (-2.0, 3.0)]


def _bits(v) -> int:
    return int(np.float64(v).view(np.int64))


@pytest.mark.parametrize("a, b", ZEROS)
def test_scalar_max_and_min_are_numpys(a, b):
    assert _bits(max_scalar(a, b)) == _bits(np.maximum(np.array([a]), np.array([b]))[0])
    assert _bits(min_scalar(a, b)) == _bits(np.minimum(np.array([a]), np.array([b]))[0])


def test_three_arguments_nest_as_the_numpy_code_does():
    for args in [(-0.0, 0.0, -0.0), (0.0, -0.0, 0.0), (1.0, -0.0, 0.0), (-0.0, -1.0, 0.0)]:
        want = np.maximum(args[0], np.maximum(args[1], args[2]))
        assert _bits(max_scalar(*args)) == _bits(want)
        want = np.minimum(args[0], np.minimum(args[1], args[2]))
        assert _bits(min_scalar(*args)) == _bits(want)
    assert math.isnan(max_scalar(1.0, math.nan)) and math.isnan(min_scalar(math.nan, 1.0))


def test_the_one_point_code_keeps_the_sign_of_a_tied_zero():
    surface = Surface.from_expr("1 / (max(x, y) + 1e-300 * 0) + x")
    scalar = surface._functions["value_and_gradient_scalar"]
    for x, y in [(-0.0, 0.0), (0.0, -0.0)]:
        fv = scalar(x, y)[0]
        want = surface.f(np.array([[x, y]]))[0]
        assert _bits(fv) == _bits(want)


def test_the_engine_helpers_are_numpys():
    pytest.importorskip("numba")
    from gradient_explorer.surfaces import fastcode

    src = "def f(x, y):\n    return (numpy.maximum(x, y), numpy.minimum(x, y))\n"
    body = fastcode.point_function(src, "f", "_f")
    assert body is not None
    namespace: dict = {}
    exec(fastcode.module_text(body[0]).replace("cache=True", "cache=False"), namespace)
    for a, b in ZEROS:
        hi, lo = namespace["_f"](a, b)
        assert _bits(hi) == _bits(np.maximum(np.array([a]), np.array([b]))[0])
        assert _bits(lo) == _bits(np.minimum(np.array([a]), np.array([b]))[0])
