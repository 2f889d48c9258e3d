"""Numerics of every catalogue entry against independent references."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces.catalogue import CATALOGUE, CURVES, SURFACES
from gradient_explorer.surfaces.surface import SMALL_BATCH, Surface
from gradient_explorer.surfaces.symbolic import compile_python

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


# --------------------------------------------------------------------------- typed functions

# What people type, with a function that is 0 on its kinks (points next to one are skipped).
TYPED_WITH_KINKS = [
    ("relu(x) + y^2", lambda x, y: x),
    ("max(x, y) + min(x, y^2)/2", lambda x, y: (x - y) * (x - y**2)),
    ("|x| + |y|", lambda x, y: x * y),
    ("||x| - 1| + |y - x|", lambda x, y: x * (abs(x) - 1) * (y - x)),
    ("max(x, y, 0.5) - relu(y - 1)", lambda x, y: (x - y) * (x - 0.5) * (y - 0.5) * (y - 1)),
    ("sign(x - 1) + x y", lambda x, y: x - 1),
    ("|sqrt(x + 3)| x + sign(log(y + 4)) y", lambda x, y: y + 3),
    ("sigmoid(2x) softplus(y) + log10(x^2 + 1) + log(y^2 + 2, 3)", lambda x, y: 1.0),
    ("sin^2 x + cos² y + x·y − π", lambda x, y: 1.0),
]


def _fd_gradient(f, p, h=1e-6):
    return np.array([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(2)])


def _fd_hessian(f, p, h=1e-4):
    ex, ey = np.eye(2) * h
    fxx = (f(p + ex) - 2 * f(p) + f(p - ex)) / h**2
    fyy = (f(p + ey) - 2 * f(p) + f(p - ey)) / h**2
    fxy = (f(p + ex + ey) - f(p + ex - ey) - f(p - ex + ey) + f(p - ex - ey)) / (4 * h**2)
    return np.array([[fxx, fxy], [fxy, fyy]])


@pytest.mark.parametrize(("text", "kink"), TYPED_WITH_KINKS, ids=[t for t, _ in TYPED_WITH_KINKS])
def test_typed_functions_match_finite_differences_away_from_kinks(text, kink, rng):
    surface = Surface.from_expr(text)
    pts = [p for p in _sample(surface, rng, 60) if abs(kink(*p)) > 0.05][:25]
    assert len(pts) >= 10
    grad = surface.gradient(np.array(pts))
    hess = surface.hessian(np.array(pts))
    for p, g, h in zip(pts, grad, hess, strict=True):
        np.testing.assert_allclose(g, _fd_gradient(surface.f, p), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(h, _fd_hessian(surface.f, p), rtol=1e-4, atol=1e-4)
        # The one-point fast path (plain floats) gives the same numbers.
        np.testing.assert_allclose(surface.value_and_gradient_at(*p)[1:], g, rtol=1e-13)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("relu(x) + y^2", (0.0, 0.0)),
        ("relu(x) + y^2", (0.0, 1.5)),
        ("max(x, y)", (0.7, 0.7)),
        ("max(x, y, 1) + x^2", (1.0, -2.0)),
        ("min(x, y) + x^2", (-1.0, -1.0)),
        ("|x| + |y|", (0.0, 0.0)),
        ("|x| + |y|", (0.0, 2.0)),
        ("sign(x) + y^2", (0.0, 0.0)),
        ("||x| - 1| + y^2", (1.0, 0.0)),
        ("||x| - 1| + y^2", (0.0, 0.0)),
    ],
)
def test_kinks_of_typed_functions_are_not_differentiable(text, point):
    surface = Surface.from_expr(text)
    assert surface.classify(point) == "not differentiable"
    f, *gradient = surface.value_and_gradient_at(*point)
    assert np.isfinite(f) and np.isnan(gradient).any()


@pytest.mark.parametrize(
    ("text", "point", "verdict"),
    [
        ("relu(x) + y^2", (-1.0, 0.0), "degenerate critical point"),  # flat in x there
        ("max(x, y) + y^2", (2.0, 0.0), "not a critical point"),
        ("|x| + |y|", (1.0, -1.0), "not a critical point"),
        ("softplus(x) + softplus(-x) + y^2", (0.0, 0.0), "minimum"),
        ("sigmoid(x) sigmoid(-x) - y^2", (0.0, 0.0), "maximum"),
        ("sign(x) + y^2 - 4y", (-3.0, 2.0), "degenerate critical point"),
    ],
)
def test_typed_functions_classify_away_from_kinks(text, point, verdict):
    assert Surface.from_expr(text).classify(point) == verdict


def test_sign_is_zero_at_zero_only_its_derivative_is_undefined():
    s = Surface.from_expr("sign(x) + 0y")
    np.testing.assert_array_equal(s.f(np.array([[-2.0, 0], [0.0, 0], [3.0, 0]])), [-1, 0, 1])
    assert np.isnan(s.gradient(np.array([0.0, 0.0]))[0])


def _mp_sigmoid(v, order=0):
    """sigmoid and its derivatives in 400-digit arithmetic (1 - s is exact there)."""
    import mpmath

    with mpmath.workdps(400):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(v)))
        return float([s, s * (1 - s), s * (1 - s) * (1 - 2 * s)][order])


def test_sigmoid_and_softplus_never_overflow_in_float64():
    import mpmath

    s = Surface.from_expr("sigmoid(x) + softplus(y)")
    code = compile_python(s.sources.python)
    pts = np.array([[800.0, 800.0], [-800.0, -800.0], [800.0, -800.0], [-40.0, 37.0], [0.3, -2]])
    x, y = pts[:, 0], pts[:, 1]
    # e^-800 is 0 in float64 (an underflow); an overflow or an invalid value still raises.
    with np.errstate(under="ignore"):
        (f,) = code["f"](x, y)
        gx, gy = code["gradient"](x, y)
        hxx, hxy, hyy = np.broadcast_arrays(*code["hessian"](x, y))
    with mpmath.workdps(400):
        softplus = [float(mpmath.log(1 + mpmath.exp(mpmath.mpf(v)))) for v in y]
    expected_f = [_mp_sigmoid(a) + b for a, b in zip(x, softplus, strict=True)]
    np.testing.assert_allclose(f, expected_f, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(gx, [_mp_sigmoid(v, 1) for v in x], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(gy, [_mp_sigmoid(v) for v in y], rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(hxx, [_mp_sigmoid(v, 2) for v in x], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(hyy, [_mp_sigmoid(v, 1) for v in y], rtol=1e-12, atol=1e-300)
    assert not hxy.any()
    for (px, py), fv, g in zip(pts, f, np.stack([gx, gy], -1), strict=True):
        np.testing.assert_allclose(s.value_and_gradient_at(px, py), [fv, *g], rtol=1e-13)


@pytest.mark.parametrize(
    ("text", "point", "gradient"),
    [
        # Found by fuzzing the typed syntax; each failed to build before.
        ("|sqrt(x)| + y", (0.25, 1.0), (1.0, 1.0)),  # sympy's Abs of a non-real: Derivative
        ("sign(log(y)) + x", (1.0, 2.0), (1.0, 0.0)),
        ("|relu(y)/|x||", (0.5, 2.0), (-8.0, 2.0)),  # a rebuilt |1/|x||: a second Abs
        ("|e^{2 atan2(y, ln(x))}|", (2.0, 0.0), (0.0, 2 / np.log(2.0))),  # |e^u| is e^re(u)
    ],
)
def test_abs_and_sign_of_terms_not_known_real_derive(text, point, gradient):
    surface = Surface.from_expr(text)
    np.testing.assert_allclose(surface.gradient(np.array(point)), gradient, rtol=1e-12)


def test_a_term_of_parameters_alone_overflows_to_nan_not_an_exception():
    # Found by the fuzzer: 10^(1000^t) in Python floats raised OverflowError.
    s = Surface.from_expr("x + 10^(1e3^t)/k", timeout=None)
    assert np.isnan(s.f(0.5)) and s.gradient(0.5) == 1.0
    assert s.with_params(t=0.1).f(0.5) == pytest.approx(0.5 + 10**10**0.3)


def test_sampled_quantities_follow_the_height_scale_and_domain():
    # the height slider changes height_scale in place: the memoised height range (and
    # what hangs off it: clip box, floor, axes) must follow, not keep the old scale's
    s = Surface.named("saddle")
    before = s.height_range()
    s.height_scale *= 10
    after = s.height_range()
    assert after.clip_hi == pytest.approx(10 * before.clip_hi)
    wide = dataclasses.replace(s, domain=((-4.0, 4.0), (-4.0, 4.0)))
    assert wide.height_range().clip_hi > s.height_range().clip_hi
