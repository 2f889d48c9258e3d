"""The 1D mode's numerics: f' = 0 with verdicts, the slice's chain rule, the sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_explorer.app.curve_mode import (
    CurveState,
    SliceCurve,
    active_curve,
    advance,
    readout,
    stationary_points,
    tangent_segment,
)
from gradient_explorer.app.state import AppState
from gradient_explorer.surfaces.surface import Surface


def _found(name_or_expr, named=True):
    curve = Surface.named(name_or_expr) if named else Surface.from_expr(name_or_expr)
    return [(p.x, p.kind) for p in stationary_points(curve)]


def test_cubic_has_a_maximum_at_minus_one_and_a_minimum_at_one():
    pts = _found("cubic")
    assert [k for _, k in pts] == ["maximum", "minimum"]
    assert np.allclose([x for x, _ in pts], [-1.0, 1.0], atol=1e-12)


def test_double_well_minima_and_the_hump():
    pts = _found("double_well")
    assert [k for _, k in pts] == ["minimum", "maximum", "minimum"]
    assert np.allclose([x for x, _ in pts], [-1.0, 0.0, 1.0], atol=1e-12)


def test_sine_crests_and_troughs_match_the_catalogue():
    curve = Surface.named("sine")
    found = {round(p.x, 9): p.kind for p in stationary_points(curve)}
    expected = {round(float(x[0]), 9): kind for x, kind in curve.critical_points}
    assert found == expected


def test_softplus_is_never_flat():
    assert _found("softplus") == []


def test_abs_is_not_differentiable_at_zero():
    (p,) = stationary_points(Surface.named("abs"))
    assert p.kind == "not differentiable"
    assert abs(p.x) < 1e-9
    assert p.slopes == pytest.approx((-1.0, 1.0))
    assert readout(Surface.named("abs"), 0.0).fp is None  # "does not exist"
    assert tangent_segment(Surface.named("abs"), 0.0, 1.0) is None


@pytest.mark.parametrize(
    ("expr", "x", "kind"),
    [
        ("x^3", 0.0, "degenerate critical point"),
        ("x^4", 0.0, "degenerate critical point"),
        ("abs(x - 0.3)", 0.3, "not differentiable"),
        ("abs(x) + 2*x", 0.0, "not differentiable"),  # a kink with no sign change
    ],
)
def test_touching_zeros_and_kinks(expr, x, kind):
    pts = _found(expr, named=False)
    assert len(pts) == 1
    assert pts[0][0] == pytest.approx(x, abs=1e-7)
    assert pts[0][1] == kind


def test_poles_are_not_reported():
    assert _found("1/x", named=False) == []


def test_slice_derivative_is_the_directional_derivative():
    surface = Surface.named("himmelblau")
    curve = SliceCurve(surface, (0.5, 1.0), 35.0)
    u = np.array([math.cos(math.radians(35)), math.sin(math.radians(35))])
    t = np.linspace(-2.0, 2.0, 9)
    h = 1e-5
    fd = (curve.f(t + h) - curve.f(t - h)) / (2 * h)
    assert np.allclose(curve.gradient(t), fd, rtol=1e-6, atol=1e-6)
    # g'(0) = grad f(p) . u, and g'' against finite differences of g'
    assert curve.gradient(np.array([0.0]))[0] == pytest.approx(surface.gradient((0.5, 1.0)) @ u)
    fd2 = (curve.gradient(t + h) - curve.gradient(t - h)) / (2 * h)
    assert np.allclose(curve.hessian(t), fd2, rtol=1e-5, atol=1e-5)
    # the t range is the chord inside [-5, 5]^2: at 35 degrees it leaves through x = -5 and
    # x = 5 (y stays inside), so t = (-5 - 0.5) / cos 35 and (5 - 0.5) / cos 35
    lo, hi = curve.domain[0]
    assert (lo, hi) == pytest.approx((-5.5 / u[0], 4.5 / u[0]), rel=1e-14)
    ends = curve.points(np.array([lo, hi]))
    assert ends[:, 0] == pytest.approx([-5.0, 5.0], abs=1e-12)
    assert (np.abs(ends[:, 1]) < 5.0).all()


def test_slice_follows_the_app_state_point_and_dial():
    state = AppState(surface=Surface.named("bowl"), point=(1.0, 0.0), direction=90.0)
    state.curve.source = "slice"
    curve = active_curve(state)
    assert isinstance(curve, SliceCurve)
    # along y through (1, 0): g(t) = 1 + t^2 with its minimum at t = 0
    (p,) = stationary_points(curve)
    assert p.kind == "minimum" and abs(p.x) < 1e-9 and p.f == pytest.approx(1.0)


def test_sweep_bounces_at_the_ends_and_wraps():
    # cubic's domain is -2.5 .. 2.5: 0.5 widths/s for 0.1 s moves 0.25
    cs = CurveState(name="cubic", x=2.4, speed=0.5, playing=True)
    advance(cs, 0.1)  # 0.1 up to the end, 0.15 back
    assert cs.x == pytest.approx(2.35) and cs.sweep_direction == -1
    advance(cs, 0.1)
    assert cs.x == pytest.approx(2.1) and cs.sweep_direction == -1
    cs = CurveState(name="cubic", x=2.4, speed=0.5, playing=True, wrap=True)
    advance(cs, 0.1)
    assert cs.x == pytest.approx(-2.35) and cs.sweep_direction == 1
    cs.playing = False
    assert advance(cs, 1.0) == pytest.approx(-2.35)


def test_a_refused_expression_keeps_the_old_curve():
    cs = CurveState()
    assert not cs.set_expression("x +* 2")
    assert cs.error and cs.source == "catalogue"
    assert cs.set_expression("x^2 - 2*x")
    (p,) = stationary_points(cs.own_curve())
    assert p.x == pytest.approx(1.0) and p.kind == "minimum"
