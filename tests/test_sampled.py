"""The sampled-surface path: heights from data, numerics by interpolation or exact."""

import pickle

import numpy as np
import pytest

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import operators
from gradient_explorer.surfaces.sampled import Evaluator, SampledSurface, bilinear
from gradient_explorer.surfaces.surface import Surface


def _grid(nx=31, ny=21):
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    return x, y


@pytest.mark.parametrize("operator", sorted(operators.OPERATORS))
def test_ramp_gives_its_exact_slope_everywhere_inside(operator):
    x, y = _grid()
    s = Surface.from_samples(0.37 * x - 1.25 * y + 2.0, operator=operator)
    rng = np.random.default_rng(1)
    pts = rng.uniform([1, 1], [29, 19], size=(50, 2))
    np.testing.assert_allclose(s.gradient(pts), np.tile([0.37, -1.25], (50, 1)), atol=1e-12)
    np.testing.assert_allclose(s.f(pts), 0.37 * pts[:, 0] - 1.25 * pts[:, 1] + 2.0, atol=1e-12)
    # The operator twice reaches two cells: the reflected border shows up one cell further.
    inner = pts[(pts >= 2).all(-1) & (pts[:, 0] <= 28) & (pts[:, 1] <= 18)]
    np.testing.assert_allclose(s.hessian(inner), 0.0, atol=1e-12)


def test_quadratic_gives_its_exact_derivatives_with_central_differences():
    x, y = _grid()
    s = Surface.from_samples(0.5 * x**2 - 0.1 * x * y + 0.25 * y**2, operator="central")
    # At grid points two cells in from the border both stencils stay inside.
    xs, ys = np.meshgrid(np.arange(2, 29), np.arange(2, 19))
    pts = np.stack([xs, ys], -1).reshape(-1, 2).astype(float)
    expected = np.stack([pts[:, 0] - 0.1 * pts[:, 1], -0.1 * pts[:, 0] + 0.5 * pts[:, 1]], -1)
    np.testing.assert_allclose(s.gradient(pts), expected, atol=1e-12)
    np.testing.assert_allclose(
        s.hessian(pts), np.tile([[1.0, -0.1], [-0.1, 0.5]], (len(pts), 1, 1)), atol=1e-12
    )


def test_interpolation_between_samples_is_bilinear():
    grid = np.array([[0.0, 1.0], [2.0, 4.0]])  # y-up: row 0 at y = 0
    pts = np.array([[0.25, 0.5], [1.0, 1.0], [0.0, 0.0]])
    # Independently: f(u, v) = (1-u)(1-v) 0 + u(1-v) 1 + (1-u) v 2 + u v 4
    u, v = pts[:, 0], pts[:, 1]
    expected = u * (1 - v) + 2 * (1 - u) * v + 4 * u * v
    np.testing.assert_allclose(bilinear(grid, ((0, 1), (0, 1)), pts), expected)


def test_holes_are_nan_only_where_they_have_weight():
    h = np.ones((5, 5))
    h[2, 2] = np.nan
    s = Surface.from_samples(h, operator="central")
    assert np.isnan(s.f(np.array([2.0, 2.0])))
    assert np.isnan(s.f(np.array([2.5, 1.5])))
    assert s.f(np.array([1.0, 1.0])) == 1.0  # a grid point beside the hole
    assert s.f(np.array([0.5, 0.5])) == 1.0


def test_outside_the_domain_is_nan():
    s = Surface.from_samples(np.zeros((4, 6)))
    assert s.domain == ((0.0, 5.0), (0.0, 3.0))
    assert np.isnan(s.f(np.array([5.01, 1.0])))
    assert np.isnan(s.gradient(np.array([-0.1, 1.0]))).all()
    assert s.f(np.array([5.0, 3.0])) == 0.0


def test_origin_upper_puts_row_zero_at_the_top():
    h = np.zeros((3, 4))
    h[0] = 1.0  # bright top row
    s = Surface.from_samples(h, origin="upper")
    assert s.f(np.array([1.0, 2.0])) == 1.0
    assert s.f(np.array([1.0, 0.0])) == 0.0
    assert s.gradient(np.array([1.5, 1.0]))[1] > 0


def test_domain_and_spacing_scale_the_derivatives():
    x, y = _grid(11, 11)
    # Samples of f = 3 X + 2 Y over [0, 2] x [-1, 4]: X = x / 5, Y = -1 + y / 2.
    s = Surface.from_samples(3 * (x / 5) + 2 * (-1 + y / 2), ((0, 2), (-1, 4)), operator="sobel")
    np.testing.assert_allclose(s.gradient(np.array([1.0, 1.5])), [3.0, 2.0], atol=1e-12)


def test_exact_evaluator_replaces_interpolation():
    ev = Evaluator(
        f=lambda p: np.sin(p[..., 0]) * p[..., 1],
        gradient=lambda p: np.stack([np.cos(p[..., 0]) * p[..., 1], np.sin(p[..., 0])], -1),
    )
    s = Surface.from_function(ev, ((-2, 2), (-1, 1)), 17)
    p = np.array([[0.3, 0.7], [-1.1, 0.2]])
    np.testing.assert_allclose(s.f(p), np.sin(p[:, 0]) * p[:, 1])
    np.testing.assert_allclose(s.gradient(p)[:, 1], np.sin(p[:, 0]))
    assert s.hessian(p).shape == (2, 2, 2)  # from the grid: no exact Hessian given


def test_surface_methods_work_unchanged():
    x, y = _grid(41, 41)
    s = Surface.from_samples((x - 20.0) ** 2 + 2 * (y - 20.0) ** 2, operator="central")
    assert s.sampled and not Surface.from_expr("x", timeout=None).sampled
    assert s.classify(np.array([20.0, 20.0])) == "minimum"
    assert s.classify(np.array([10.0, 20.0])) == "not a critical point"
    f, gx, gy = s.value_and_gradient_at(10.0, 20.0)
    assert (f, gx, gy) == (100.0, -20.0, 0.0)
    assert s.height_range().lo < s.height_range().hi
    clone = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(
        clone.gradient(np.array([3.5, 4.5])), s.gradient(np.array([3.5, 4.5]))
    )
    assert s.with_params() is not s


@pytest.mark.parametrize(
    "heights, message",
    [
        (np.zeros((1, 5)), "at least 2 x 2"),
        (np.zeros(5), "2-dimensional"),
        (np.full((3, 3), np.nan), "no finite value"),
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
    ],
)
def test_bad_grids_are_refused_with_one_line(heights, message):
    with pytest.raises(UsageError, match=message):
        SampledSurface.from_samples(heights)


def test_unknown_operator_is_refused():
    with pytest.raises(UsageError, match="unknown operator"):
        Surface.from_samples(np.zeros((3, 3)), operator="prewitt")
