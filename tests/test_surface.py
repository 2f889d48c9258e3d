"""Numerics of every catalogue entry against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

from gradient_explorer.catalogue import CATALOGUE, CURVES, SURFACES
from gradient_explorer.errors import UsageError
from gradient_explorer.surface import SMALL_BATCH, Surface

NAMES_2D = [d.name for d in SURFACES]
NAMES_1D = [d.name for d in CURVES]


def _reference(definition, params):
    """An independent sympy derivation from the catalogue's text (trusted, not user input)."""
    x, y = sp.symbols("x y", real=True)
    local = {"x": x, "y": y, "e": sp.E, "pi": sp.pi}
    local.update({k: sp.Float(v) for k, v in params.items()})
    expr = parse_expr(definition.expression.replace("^", "**"), local_dict=local)
    vars_ = (x, y) if definition.dim != 1 else (x,)
    grad = [sp.diff(expr, v) for v in vars_]
    # Away from a kink, d/dx sign(x) = 2 DiracDelta(x) is 0.
    hess = [[sp.diff(g, v).replace(sp.DiracDelta, lambda *a: 0) for v in vars_] for g in grad]
    lam = lambda e: sp.lambdify(vars_, e, "mpmath")  # noqa: E731  (high-precision reference)
    return lam(expr), [lam(g) for g in grad], [[lam(h) for h in row] for row in hess]


def _sample(surface, rng, n):
    lo = np.array([d[0] for d in surface.domain])
    hi = np.array([d[1] for d in surface.domain])
    pts = lo + (hi - lo) * rng.random((n, surface.dim))
    return pts if surface.dim == 2 else pts[:, 0]


@pytest.mark.parametrize("name", NAMES_2D)
def test_surface_derivatives_match_sympy_and_finite_differences(name, rng):
    surface = Surface.named(name)
    f_ref, g_ref, h_ref = _reference(CATALOGUE[name], surface.param_values)
    pts = _sample(surface, rng, 40)
    f = surface.f(pts)
    g = surface.gradient(pts)
    h = surface.hessian(pts)
    assert f.shape == (40,) and g.shape == (40, 2) and h.shape == (40, 2, 2)
    for i, (px, py) in enumerate(pts):
        ref_f = float(f_ref(px, py))
        ref_g = np.array([float(r(px, py)) for r in g_ref])
        ref_h = np.array([[float(r(px, py)) for r in row] for row in h_ref])
        scale_g = max(1.0, np.abs(ref_g).max())
        scale_h = max(1.0, np.abs(ref_h).max())
        assert f[i] == pytest.approx(ref_f, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g[i], ref_g, rtol=1e-11, atol=1e-11 * scale_g)
        np.testing.assert_allclose(h[i], ref_h, rtol=1e-10, atol=1e-10 * scale_h)
    # Central differences: an independent check of the sympy pipeline's meaning.
    step = 1e-6 * max(hi - lo for lo, hi in surface.domain)
    ex, ey = np.array([step, 0.0]), np.array([0.0, step])
    fd_g = np.stack(
        [
            (surface.f(pts + ex) - surface.f(pts - ex)) / (2 * step),
            (surface.f(pts + ey) - surface.f(pts - ey)) / (2 * step),
        ],
        -1,
    )
    fd_h = np.stack(
        [
            (surface.gradient(pts + ex) - surface.gradient(pts - ex)) / (2 * step),
            (surface.gradient(pts + ey) - surface.gradient(pts - ey)) / (2 * step),
        ],
        -2,
    )
    # Rounding in f(p + h) - f(p - h) is about eps * |f| / h: scale the tolerance by it.
    fscale = np.maximum(1.0, np.abs(f))[:, None]
    assert np.all(np.abs(g - fd_g) <= 1e-5 * (np.abs(g) + fscale))
    gscale = np.maximum(1.0, np.abs(g).max(axis=1))[:, None, None]
    assert np.all(np.abs(h - fd_h) <= 1e-5 * (np.abs(h) + gscale))


@pytest.mark.parametrize("name", NAMES_1D)
def test_curve_derivatives_match_sympy(name, rng):
    curve = Surface.named(name)
    assert curve.dim == 1
    f_ref, (g_ref,), ((h_ref,),) = _reference(CATALOGUE[name], curve.param_values)
    xs = _sample(curve, rng, 40)
    f, g, h = curve.f(xs), curve.gradient(xs), curve.hessian(xs)
    assert f.shape == g.shape == h.shape == (40,)
    for i, x in enumerate(xs):
        assert f[i] == pytest.approx(float(f_ref(x)), rel=1e-12, abs=1e-12)
        assert g[i] == pytest.approx(float(g_ref(x)), rel=1e-11, abs=1e-11)
        assert h[i] == pytest.approx(float(sp.re(h_ref(x))), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_known_critical_points_have_zero_gradient_and_their_verdict(name):
    surface = Surface.named(name)
    for point, kind in surface.critical_points:
        grad = np.atleast_1d(surface.gradient(point if surface.dim == 2 else point[0]))
        assert np.linalg.norm(grad) < 1e-9
        arg = point if surface.dim == 2 else point[0]
        assert surface.classify(arg) == kind, (name, point)


def test_critical_points_follow_parameters():
    banana = Surface.named("banana", a=0.5, b=30)
    ((point, _),) = banana.critical_points
    np.testing.assert_allclose(point, [0.5, 0.25])
    assert banana.classify(point) == "minimum"
    assert np.all(banana.gradient(point) == 0)


def test_seed_examples():
    assert Surface.named("banana").classify([1, 1]) == "minimum"
    np.testing.assert_array_equal(Surface.named("banana").gradient([1.0, 1.0]), [0.0, 0.0])
    assert Surface.named("saddle").classify([0, 0]) == "saddle"
    cubic = Surface.from_expr("x^3 - 3*x")
    assert cubic.dim == 1 and cubic.gradient(1.0) == 0 and cubic.classify(1.0) == "minimum"
    assert cubic.classify(-1.0) == "maximum"
    assert Surface.named("monkey_saddle").classify([0, 0]) == "degenerate critical point"
    assert Surface.from_expr("x^3").classify(0.0) == "degenerate critical point"
    assert Surface.named("bowl").classify([1, 0]) == "not a critical point"


def test_abs_has_no_derivative_at_its_corner():
    curve = Surface.named("abs")
    assert np.isnan(curve.gradient(0.0))
    assert curve.gradient(-2.0) == -1 and curve.gradient(3.0) == 1
    assert curve.classify(0.0) == "not differentiable"
    ackley = Surface.named("ackley")
    assert ackley.classify([0.0, 0.0]) == "not differentiable"


def test_non_finite_points_return_nan_and_never_raise():
    s = Surface.from_expr("log(x) + 1/y")
    pts = np.array([[-1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    f = s.f(pts)
    assert np.isnan(f[:3]).all() and np.isfinite(f[3])
    assert s.classify([-1.0, 1.0]) == "undefined"
    big = Surface.from_expr("exp(exp(x))")
    assert np.isnan(big.f(np.array([10.0])))  # overflow is a hole, not an exception


def test_parameters_are_values_not_code(rng):
    s = Surface.from_expr("a*x^2 + b*y")
    assert set(s.params) == {"a", "b"}
    assert s.params["a"].default == 1 and (s.params["a"].lo, s.params["a"].hi) == (-10, 10)
    pts = rng.normal(size=(10, 2))
    s2 = s.with_params(a=3, b=-2)
    np.testing.assert_allclose(s2.f(pts), 3 * pts[:, 0] ** 2 - 2 * pts[:, 1])
    np.testing.assert_allclose(s2.gradient(pts)[:, 0], 6 * pts[:, 0])
    assert s2.sources is s.sources  # a slider move generates no code
    assert s2.uniforms() == {"param_a": 3.0, "param_b": -2.0}
    with pytest.raises(UsageError, match="unknown parameter 'c'"):
        s.with_params(c=1)
    with pytest.raises(UsageError, match="finite"):
        s.with_params(a=float("nan"))


def test_shapes_broadcast_for_constant_derivatives():
    s = Surface.from_expr("2*x + 3*y")
    g = s.gradient(np.zeros((4, 3, 2)))
    assert g.shape == (4, 3, 2) and np.all(g[..., 0] == 2) and np.all(g[..., 1] == 3)
    assert s.hessian(np.zeros((5, 2))).shape == (5, 2, 2)
    assert s.f([1.0, 1.0]).shape == ()


def test_unknown_surface_lists_the_catalogue():
    with pytest.raises(UsageError, match="unknown surface 'nope': choose one of bowl"):
        Surface.named("nope")


def test_height_uses_display_transform():
    banana = Surface.named("banana")
    pts = np.array([[0.0, 0.0], [-1.0, 2.0]])
    np.testing.assert_allclose(banana.height(pts), 0.25 * np.log1p(banana.f(pts)))


@pytest.mark.parametrize("name", NAMES_2D)
def test_scalar_fast_path_matches_numpy(name, rng):
    surface = Surface.named(name)
    pts = _sample(surface, rng, 12)
    big = surface.gradient(np.repeat(pts, 2, axis=0))[::2]  # > SMALL_BATCH: numpy path
    small = surface.gradient(pts[:4])  # <= SMALL_BATCH: scalar path
    np.testing.assert_allclose(small, big[:4], rtol=1e-13, atol=1e-13)
    for (x, y), f, g in zip(pts, surface.f(pts), big, strict=True):
        fs, gx, gy = surface.value_and_gradient_at(x, y)
        assert fs == pytest.approx(f, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose([gx, gy], g, rtol=1e-13, atol=1e-13)


def test_scalar_fast_path_gives_nan_where_undefined():
    s = Surface.from_expr("x^(1/3) + log(y) + 1/x")
    f, gx, gy = s.value_and_gradient_at(-1.0, 1.0)
    assert np.isnan(f) and np.isnan(gx) and gy == 1.0  # each component on its own, as numpy
    # 1/x raises in plain Python; the other components still come out, as numpy's do.
    f, gx, gy = s.value_and_gradient_at(0.0, 1.0)
    assert np.isnan(f) and np.isnan(gx) and gy == 1.0
    assert np.isnan(Surface.named("abs").value_and_gradient_at(0.0)[1])
    np.testing.assert_array_equal(s.gradient(np.array([[0.0, 1.0]])), [[np.nan, 1.0]])


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("sqrt(x^2 + y^2)", (0.0, 0.0)),  # the cone's apex: f = 0, no gradient
        ("x^(1/3) + y", (0.0, 0.5)),  # a vertical tangent: f defined, df/dx not
        ("sqrt(x) + y", (-1.0, 0.5)),  # outside the domain
        ("log(x*y) + x", (0.0, 2.0)),
    ],
)
def test_fast_paths_agree_with_numpy_where_a_term_is_undefined(text, point):
    s = Surface.from_expr(text)
    p = np.array([point])
    big = s.gradient(np.repeat(p, SMALL_BATCH + 1, axis=0))[0]
    np.testing.assert_array_equal(s.gradient(p)[0], big)
    np.testing.assert_array_equal(s.value_and_gradient_at(*point), [s.f(p)[0], *big])


def test_constant_gradient_on_a_few_points_is_float():
    g = Surface.from_expr("x + 2*y").gradient(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert g.dtype == np.float64 and g.tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_integer_constants_beyond_int64_evaluate_as_floats():
    # Found by the expression fuzzer: numpy refused tanh(10**30) as an object array.
    s = Surface.from_expr("tanh(1e3^10)*x + 10^20", timeout=None)
    np.testing.assert_allclose(s.f(np.array([1.0, 2.0])), [1.0 + 1e20, 2.0 + 1e20])
    assert s.value_and_gradient_at(1.0) == (1.0 + 1e20, 1.0)


def test_a_build_in_the_child_process_keeps_error_types_and_memos():
    from gradient_explorer.errors import ExpressionError, UsageError

    with pytest.raises(UsageError, match="display transform"):
        Surface.from_expr("x*y", display="cube")
    with pytest.raises(ExpressionError, match="column"):
        Surface.from_expr("x*/y")
    s = Surface.from_expr("x^2 + 3*y^2")  # built in a forked child, pickled back
    assert any(k.startswith("_memo_") for k in s._functions)  # its height range came along
    assert s.height_range() == Surface.from_expr("x^2 + 3*y^2", timeout=None).height_range()
    moved = s.with_params()
    assert moved.height_range() == s.height_range()
