"""One point of a surface or curve, measured: f, the gradient (its length and angle), the
Hessian and the verdict. The CLI's ``probe`` and the app's Point panel both show this."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradient_explorer.surfaces.surface import GRADIENT_TOLERANCE, Surface, Verdict

__all__ = ["PointProbe", "probe_point"]


@dataclass(frozen=True)
class PointProbe:
    """The numbers at one point, as float64 (NaN where they do not exist).

    ``gradient`` and ``hessian`` are as :meth:`Surface.gradient` and
    :meth:`Surface.hessian` return them (``(2,)`` and ``(2, 2)`` on a surface, scalars on
    a curve); ``angle`` is the gradient's direction in degrees from +x (surfaces only:
    None on a curve; NaN where the gradient is not finite).
    """

    point: np.ndarray
    f: float
    gradient: np.ndarray
    length: float
    angle: float | None
    hessian: np.ndarray
    verdict: Verdict


def probe_point(surface: Surface, point, tol: float = GRADIENT_TOLERANCE) -> PointProbe:
    """Measure ``surface`` at ``point`` (``(x, y)``, or ``x`` on a curve)."""
    pt = np.asarray(point, dtype=np.float64)
    verdict = surface.verdicts(pt, tol)
    fv = float(surface.f(pt))
    grad = surface.gradient(pt)
    if surface.dim == 2:
        gx, gy = (float(v) for v in grad)
        length = math.hypot(gx, gy)
        angle: float | None = math.degrees(math.atan2(gy, gx))
    else:
        length, angle = abs(float(grad)), None
    return PointProbe(pt, fv, grad, length, angle, surface.hessian(pt), verdict)
