"""Discrete derivatives of sampled data: central differences, Sobel and Scharr.

Every operator is normalized so that a linear ramp ``I = a x + b y`` gives exactly
``(a, b)`` away from the border (Sobel's raw kernel gives ``8 a``, Scharr's ``32 a``). Each
is separable: a centred difference ``(I[i+1] - I[i-1]) / 2`` along the derivative's axis
and a smoothing ``[1, 2, 1] / 4`` (Sobel) or ``[3, 10, 3] / 16`` (Scharr) across it.
Borders are by reflection about the edge (``d c b a | a b c d``, scipy's and
scikit-image's ``mode="reflect"``), so a border pixel's derivative is half the one-sided
difference. The second derivatives apply the same operator twice.

Grids here are y-up: row ``j`` is ``y = y0 + j * dy``, column ``i`` is ``x = x0 + i * dx``.
NaN cells (holes) make NaN every derivative whose stencil touches them.
"""

from __future__ import annotations

import numpy as np

from gradient_explorer.errors import UsageError

#: Operator name -> the smoothing taps across the derivative's axis (they sum to 1).
OPERATORS: dict[str, tuple[float, float, float]] = {
    "central": (0.0, 1.0, 0.0),
    "sobel": (1.0 / 4.0, 2.0 / 4.0, 1.0 / 4.0),
    "scharr": (3.0 / 16.0, 10.0 / 16.0, 3.0 / 16.0),
}


def check_operator(name: str) -> str:
    if name not in OPERATORS:
        raise UsageError(f"unknown operator '{name}': use {', '.join(OPERATORS)}")
    return name


def _taps(grid: np.ndarray, axis: int, taps: tuple[float, float, float]) -> np.ndarray:
    """Correlate ``grid`` with three taps along ``axis``, reflecting at the borders."""
    n = grid.shape[axis]
    pad = [(0, 0)] * grid.ndim
    pad[axis] = (1, 1)
    padded = np.pad(grid, pad, mode="symmetric")

    def shifted(start: int) -> np.ndarray:  # a view, not a copy
        index = [slice(None)] * grid.ndim
        index[axis] = slice(start, start + n)
        return padded[tuple(index)]

    out = None
    for start, weight in enumerate(taps):
        if weight:
            term = weight * shifted(start)
            out = term if out is None else out + term
    return out if out is not None else np.zeros_like(grid)


def derivative(grid: np.ndarray, axis: int, operator: str, spacing: float = 1.0) -> np.ndarray:
    """d grid / d(axis coordinate) by ``operator``, per unit of the coordinate."""
    smooth = OPERATORS[check_operator(operator)]
    across = 1 - axis
    with np.errstate(invalid="ignore"):
        diff = _taps(grid, axis, (-0.5, 0.0, 0.5)) / spacing
        if smooth != (0.0, 1.0, 0.0):
            diff = _taps(diff, across, smooth)
    return diff


def gradient_field(
    heights: np.ndarray, operator: str = "sobel", spacing: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """(ny, nx, 2): df/dx, df/dy of a y-up grid with ``spacing`` (dx, dy)."""
    h = np.asarray(heights, dtype=np.float64)
    gx = derivative(h, 1, operator, spacing[0])
    gy = derivative(h, 0, operator, spacing[1])
    return np.stack([gx, gy], -1)


def hessian_field(
    heights: np.ndarray,
    operator: str = "sobel",
    spacing: tuple[float, float] = (1.0, 1.0),
    gradient: np.ndarray | None = None,
) -> np.ndarray:
    """(ny, nx, 3): f_xx, f_xy, f_yy, the operator applied twice (to ``gradient`` when
    given: the same operator's gradient field of these heights)."""
    if gradient is None:
        gradient = gradient_field(heights, operator, spacing)
    gx, gy = gradient[..., 0], gradient[..., 1]
    hxx = derivative(gx, 1, operator, spacing[0])
    hxy = derivative(gx, 0, operator, spacing[1])
    hyy = derivative(gy, 0, operator, spacing[1])
    return np.stack([hxx, hxy, hyy], -1)


#: The widest smoothing taken, in pixels: a Gaussian's kernel spans 8 sigma, and 1e9
#: asked for 60 GB (the session reader has the same bound).
MAX_SIGMA = 1000.0


def check_sigma(sigma, what: str = "sigma") -> float:
    """``sigma`` as a float from 0 to :data:`MAX_SIGMA`, or UsageError in one line."""
    value = float(sigma)
    if not (np.isfinite(value) and 0 <= value <= MAX_SIGMA):
        raise UsageError(f"{what} must be a number from 0 to {MAX_SIGMA:g} pixels, got {sigma:g}")
    return value


def smooth(heights: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (scipy.ndimage, reflecting borders) with NaN holes kept as holes.

    Holes are left out of the average (normalized convolution) rather than spreading NaN
    over three sigmas around them.
    """
    sigma = check_sigma(sigma)
    h = np.asarray(heights, dtype=np.float64)
    if sigma == 0:
        return h.copy()
    try:
        from scipy import ndimage
    except ImportError:  # pragma: no cover - scipy is a dependency
        raise UsageError("smoothing (sigma > 0) needs scipy: pip install scipy") from None
    holes = ~np.isfinite(h)
    if not holes.any():
        return ndimage.gaussian_filter(h, sigma, mode="reflect")
    filled = np.where(holes, 0.0, h)
    weight = ndimage.gaussian_filter((~holes).astype(np.float64), sigma, mode="reflect")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = ndimage.gaussian_filter(filled, sigma, mode="reflect") / weight
    out[holes] = np.nan
    return out
