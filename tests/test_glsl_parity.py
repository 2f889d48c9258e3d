"""The generated GLSL against numpy: compiled on the EGL context, read back as float32."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gradient_explorer.render.gpu_eval import GpuEvaluator
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface

pytestmark = pytest.mark.gl

TYPED = [
    "x^3 - 3*x*y^2 + a*y",
    "log(x) + 1/y",
    "sqrt(x^2 + y^2)",
    "atan2(y, x) * exp(-(x^2 + y^2)/4)",
    "tanh(5x) + asin(y/4)",
    "(x - 1)^-3 + y^(3/2)",
    "x^7 - 2^x + abs(y)^0.5",
    "sinh(x) * cosh(y) / 50",
    # What people type into Desmos or paste (kinks are met with probability 0).
    "|x| + ||y| - 1| + x·y",
    "relu(x) + max(x, y, 0.5) - min(x², y)",
    "sigmoid(3x) + softplus(2y) - sign(x - y)",
    "log10(x^2 + 1) + log(y^2 + 2, 3) + sin² x + e^{-x y}",
]

# The new functions' Hessians too: kink helpers and stable sigmoid and softplus.
TYPED_HESSIAN = [
    "relu(x) y^2 + max(x, y)^2 - |x - y| y",
    "sigmoid(x) softplus(y) + softplus(-x) sigmoid(-y)",
]


@pytest.fixture(scope="module")
def evaluator(gl_ctx):
    ev = GpuEvaluator(gl_ctx)
    yield ev
    ev.release()


def _points(surface, rng, n=128):
    lo = np.array([d[0] for d in surface.domain])
    hi = np.array([d[1] for d in surface.domain])
    pts = lo + (hi - lo) * rng.random((n, surface.dim))
    # The GPU sees float32 coordinates: hold numpy to the same points.
    pts = pts.astype(np.float32).astype(np.float64)
    return pts if surface.dim == 2 else pts[:, 0]


def _assert_float32_close(gpu, cpu, what):
    """Agreement to float32 precision, relative to the size of the values around."""
    finite = np.isfinite(cpu)
    assert np.array_equal(finite, np.isfinite(gpu)), f"{what}: holes differ"
    if not finite.any():
        return
    scale = np.median(np.abs(cpu[finite])) + 1e-30
    err = np.abs(gpu[finite] - cpu[finite]) / (np.abs(cpu[finite]) + scale)
    assert err.max() < 2e-4, f"{what}: worst relative error {err.max():.2e}"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_catalogue_glsl_matches_numpy(name, evaluator, rng):
    surface = Surface.named(name)
    pts = _points(surface, rng)
    out = evaluator.evaluate(surface, pts)
    _assert_float32_close(out["f"], surface.f(pts), f"{name} f")
    grad = surface.gradient(pts)
    hess = surface.hessian(pts)
    if surface.dim == 2:
        _assert_float32_close(out["gradient"], grad, f"{name} gradient")
        flat = np.stack([hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]], -1)
        _assert_float32_close(out["hessian"], flat, f"{name} hessian")
        _assert_float32_close(out["height"], surface.height(pts), f"{name} height")
    else:
        _assert_float32_close(out["gradient"][:, 0], grad, f"{name} f'")
        _assert_float32_close(out["hessian"][:, 0], hess, f"{name} f''")


@pytest.mark.parametrize("text", TYPED)
def test_typed_expressions_glsl_matches_numpy_including_holes(text, evaluator, rng):
    surface = Surface.from_expr(text)
    if "a" in surface.params:
        surface = surface.with_params(a=2.5)
    pts = _points(surface, rng, 200)
    out = evaluator.evaluate(surface, pts)
    _assert_float32_close(out["f"], surface.f(pts), f"{text} f")
    _assert_float32_close(out["gradient"], surface.gradient(pts), f"{text} gradient")


@pytest.mark.parametrize("text", TYPED_HESSIAN)
def test_typed_functions_hessians_match_numpy(text, evaluator, rng):
    surface = Surface.from_expr(text)
    pts = _points(surface, rng, 200)
    out = evaluator.evaluate(surface, pts)
    hess = surface.hessian(pts)
    flat = np.stack([hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]], -1)
    _assert_float32_close(out["gradient"], surface.gradient(pts), f"{text} gradient")
    _assert_float32_close(out["hessian"], flat, f"{text} hessian")


def test_sigmoid_and_softplus_stay_finite_in_float32(evaluator):
    # e^80 overflows float32 (max 3.4e38): the written-out forms would give inf and NaN.
    surface = Surface.from_expr("sigmoid(x) + softplus(y)")
    grid = np.array([-80.0, -30.0, -1.5, 0.0, 2.0, 30.0, 80.0])
    pts = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
    out = evaluator.evaluate(surface, pts)
    for key in ("f", "gradient", "hessian"):
        assert np.isfinite(out[key]).all(), key
    # Each part on its own scale: sigmoid(-80) = 1.8e-35 is relative to itself.
    with np.errstate(under="ignore"):
        np.testing.assert_allclose(out["f"], surface.f(pts), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out["gradient"], surface.gradient(pts), rtol=1e-5, atol=1e-38)
        hess = surface.hessian(pts)
    flat = np.stack([hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]], -1)
    np.testing.assert_allclose(out["hessian"], flat, rtol=1e-4, atol=1e-38)


def test_negative_base_integer_powers_are_exact_on_any_driver(evaluator):
    # pow(-2, 3) is NaN on llvmpipe and -8 on NVIDIA: generated code must not use it.
    surface = Surface.from_expr("x^3 + y^5")
    out = evaluator.evaluate(surface, np.array([[-2.0, -1.5], [-0.5, 2.0]]))
    np.testing.assert_allclose(out["f"], [-8 - 1.5**5, -0.125 + 32], rtol=1e-6)


def test_parameter_change_is_a_uniform_not_new_code(evaluator):
    base = Surface.named("banana")
    moved = base.with_params(b=10.0)
    assert moved.glsl == base.glsl
    pts = np.array([[0.3, 0.7], [-1.0, 2.0]])
    np.testing.assert_allclose(evaluator.evaluate(moved, pts)["f"], moved.f(pts), rtol=1e-6)
    assert evaluator.program(moved) is evaluator.program(base)


@pytest.mark.parametrize("name", ["banana", "ackley", "himmelblau", "gaussian_hills"])
def test_generated_glsl_is_portable(name):
    glsl = re.sub(r"//[^\n]*", "", Surface.named(name).glsl)  # code, not comments
    assert "pow(" not in glsl.replace("ge_pow(", "").replace("ge_powi_", "")
    assert not re.search(r"\b(for|while|do)\b", glsl)
    assert "inf" not in re.sub(r"ge_inf\(\)|ge_inf", "", glsl).replace("uintBitsToFloat", "")
    names = set(re.findall(r"\bparam_(\w+)", glsl))
    assert names == set(Surface.named(name).params)
