"""finite_percentiles equals np.percentile bit for bit (the height range and scale use it)."""

import numpy as np
import pytest

from gradient_explorer.surfaces.percentiles import finite_median, finite_percentiles

PERCENTS = [[1.0, 99.0], [2.0, 98.0], [75.0], [0.0, 100.0], [50.0], [33.3, 66.7, 12.5, 87.5]]


def _same(a, b) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 101, 4225, 16641])
@pytest.mark.parametrize("kind", ["normal", "ties", "wide", "tiny", "negative"])
def test_equals_numpy_bit_for_bit(n, kind):
    rng = np.random.default_rng(n * 31 + len(kind))
    with np.errstate(under="ignore"):
        values = {
            "normal": lambda: rng.normal(size=n),
            "ties": lambda: rng.integers(0, 4, size=n).astype(float),
            "wide": lambda: rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n),
            "tiny": lambda: rng.random(n) * 1e-308,
            "negative": lambda: -np.exp(rng.normal(size=n) * 20),
        }[kind]()
    for percents in PERCENTS:
        with np.errstate(under="ignore"):  # tiny values interpolate below the floats
            assert _same(finite_percentiles(values, percents), np.percentile(values, percents))
    with np.errstate(under="ignore", over="ignore"):
        assert _same(finite_median(values), np.median(values))


def test_input_untouched_and_empty_refused():
    values = np.array([3.0, 1.0, 2.0])
    finite_percentiles(values, [50.0])
    assert values.tolist() == [3.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        finite_percentiles(np.array([]), [50.0])
    with pytest.raises(ValueError):
        finite_median(np.array([]))
