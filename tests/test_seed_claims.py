"""The seed's three experiments, checked as numbers.

(2) At the saddle's centre the gradient is zero and the verdict is "saddle".
(3) On the banana, the gradient is perpendicular to the level curve through the point,
    wherever the point goes: the level curve is traced here numerically (Newton steps
    back onto f = c), independently of the gradient's formula.
(1) In 1D, the tangent goes flat (f' = 0) exactly at the peaks and valleys.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.curve_mode import stationary_points
from gradient_explorer.surfaces.surface import Surface


def _on_level(surface, point, level, direction):
    """The point of f = level reached from ``point`` along ``direction`` (secant steps)."""
    t0, t1 = 0.0, 1e-4
    g0 = float(surface.f(point + t0 * direction)) - level
    g1 = float(surface.f(point + t1 * direction)) - level
    for _ in range(60):
        if g1 == g0:
            break
        t0, t1 = t1, t1 - g1 * (t1 - t0) / (g1 - g0)
        g0, g1 = g1, float(surface.f(point + t1 * direction)) - level
        if abs(g1) <= 1e-15 * max(1.0, abs(level)):
            break
    return point + t1 * direction


@pytest.mark.parametrize(
    "point", [(-1.0, 1.5), (0.5, 1.5), (1.5, 1.0), (-1.5, 2.5), (0.2, -0.5), (1.2, 1.44)]
)
def test_banana_gradient_is_perpendicular_to_the_level_curve(point):
    banana = Surface.named("banana")
    p = np.array(point, dtype=np.float64)
    level = float(banana.f(p))
    grad = banana.gradient(p)
    if np.linalg.norm(grad) == 0:
        pytest.skip("the minimum: no level curve through it")

    # Walk a little either way roughly along the curve (20 degrees off), then come back
    # onto f = c along a fixed slanted line: the points found depend on f values only.
    def turn(v, degrees):
        a = np.radians(degrees)
        return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ v

    unit_gradient = grad / np.linalg.norm(grad)
    walk = turn(np.array([-unit_gradient[1], unit_gradient[0]]), 20.0)
    back = turn(unit_gradient, 10.0)

    def chord(h):
        a = _on_level(banana, p + h * walk, level, back)
        b = _on_level(banana, p - h * walk, level, back)
        assert abs(float(banana.f(a)) - level) < 1e-12 * max(1.0, level)
        return (a - b) / np.linalg.norm(a - b)

    # Chord directions err by O(h^2 curvature^2), large at the tip of a thin level
    # curve: Richardson extrapolation over h and 2h cancels that term.
    h = 1e-6
    tangent = 4 * chord(h) - chord(2 * h)
    tangent /= np.linalg.norm(tangent)
    assert abs(tangent @ unit_gradient) < 1e-9


def test_saddle_centre_has_zero_gradient_and_is_a_saddle():
    saddle = Surface.named("saddle")
    np.testing.assert_array_equal(saddle.gradient(np.array([0.0, 0.0])), [0.0, 0.0])
    assert saddle.classify([0.0, 0.0]) == "saddle"
    # The arrow shrinks to nothing on the way in: |grad| is proportional to the distance.
    for r in (1.0, 0.1, 0.01):
        assert np.linalg.norm(saddle.gradient(np.array([r, r]))) == pytest.approx(
            2 * np.sqrt(2) * r
        )


def test_tangent_goes_flat_at_every_peak_and_valley():
    cubic = Surface.named("cubic")
    found = {round(p.x, 9): p.kind for p in stationary_points(cubic)}
    assert found == {-1.0: "maximum", 1.0: "minimum"}
    for x in found:
        assert abs(float(cubic.gradient(np.float64(x)))) < 1e-9
