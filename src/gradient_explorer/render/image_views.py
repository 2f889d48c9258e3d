"""2D views of a sampled surface's data, as RGB pictures the size of the grid.

Each is an (H, W, 3) uint8 array, row 0 the top (the picture's own orientation), made in
numpy from the same float64 fields the 3D view draws:

- ``emboss``: the surface lit from above by a light at (azimuth, elevation), Lambert's
  cosine n . l with n = normalize(-s f_x, -s f_y, 1) and s the surface's height scale:
  the lit 3D surface seen from straight above, without its colour map. That is the
  emboss filter.
- ``edges``: |grad f| as brightness (white at the 99th percentile and above).
- ``direction``: the gradient's angle as hue (red = +x, counter-clockwise), its length
  as value.
- ``canny``: one stage of Canny's detector (:func:`gradient_explorer.surfaces.images.canny`):
  ``smoothed`` the smoothed gradient's length, ``nms`` what non-maximum suppression keeps,
  ``edges`` the edges after hysteresis.

Holes (NaN) are dark grey.
"""

from __future__ import annotations

import math

import numpy as np

from gradient_explorer.errors import UsageError

VIEWS_2D = ("emboss", "edges", "direction", "canny")
HOLE = np.array([40, 40, 40], dtype=np.uint8)
#: Default light: from the upper left, 45 degrees up, as emboss filters do.
LIGHT = (135.0, 45.0)


def light_vector(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector towards a light at ``azimuth`` (degrees from +x, counter-clockwise)
    and ``elevation`` (degrees above the xy plane)."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def _to_picture(values: np.ndarray) -> np.ndarray:
    """y-up float RGB in [0, 1] (NaN = hole) -> top-first uint8."""
    rgb = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0)
    out = np.round(rgb * 255).astype(np.uint8)
    holes = ~np.isfinite(values).all(-1)
    out[holes] = HOLE
    return np.ascontiguousarray(out[::-1])


def _unit(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    top = float(np.percentile(finite, 99.0)) if finite.size else 0.0
    if not top > 0:
        top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    with np.errstate(invalid="ignore"):
        return values / top


def emboss(surface, light=LIGHT, relief: float | None = None) -> np.ndarray:
    """Lambert shading of the surface under a light at (azimuth, elevation) degrees."""
    grad = surface.samples.gradient
    s = surface.height_scale if relief is None else float(relief)
    with np.errstate(invalid="ignore", over="ignore"):
        n = np.stack([-s * grad[..., 0], -s * grad[..., 1], np.ones(grad.shape[:2])], -1)
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        shade = n @ light_vector(*light)
    return _to_picture(np.repeat(shade[..., None], 3, -1))


def edges(surface) -> np.ndarray:
    grad = surface.samples.gradient
    with np.errstate(invalid="ignore"):
        magnitude = _unit(np.hypot(grad[..., 0], grad[..., 1]))
    return _to_picture(np.repeat(magnitude[..., None], 3, -1))


def direction(surface) -> np.ndarray:
    grad = surface.samples.gradient
    with np.errstate(invalid="ignore"):
        value = np.clip(_unit(np.hypot(grad[..., 0], grad[..., 1])), 0.0, 1.0)
        hue = np.mod(np.arctan2(grad[..., 1], grad[..., 0]), 2 * np.pi) / (2 * np.pi)
    return _to_picture(hsv_to_rgb(hue, np.ones_like(hue), value))


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Hue, saturation, value in [0, 1] -> RGB in [0, 1] (NaN stays NaN)."""
    with np.errstate(invalid="ignore"):
        k = np.stack([5.0, 3.0, 1.0])[(...,) + (None,) * h.ndim]
        t = np.mod(k + 6.0 * h, 6.0)
        rgb = v - v * s * np.clip(np.minimum(t, 4.0 - t), 0.0, 1.0)
    return np.moveaxis(rgb, 0, -1)


def canny_view(
    surface, stage: str = "edges", sigma: float = 1.0, low=None, high=None
) -> np.ndarray:
    from gradient_explorer.surfaces.images import CANNY_STAGES, canny

    if stage not in CANNY_STAGES:
        raise UsageError(f"unknown canny stage '{stage}': use {', '.join(CANNY_STAGES)}")
    result = canny(surface.samples.heights, sigma, low, high)
    holes = ~np.isfinite(surface.samples.heights)
    if stage == "edges":
        grey = result["edges"].astype(np.float64)
    else:
        grey = _unit(result["magnitude"])
        if stage == "nms":
            grey = np.where(result["nms"] > 0, np.clip(grey, 0.0, 1.0) * 0.7 + 0.3, 0.0)
    grey = np.where(holes, np.nan, grey)
    return _to_picture(np.repeat(grey[..., None], 3, -1))


def view_2d(surface, view: str, **options) -> np.ndarray:
    """The named 2D view (see the module docstring) of a sampled surface."""
    if not getattr(surface, "sampled", False):
        raise UsageError("2D views are for --image and --heights surfaces")
    if view == "emboss":
        return emboss(surface, options.get("light", LIGHT), options.get("relief"))
    if view == "edges":
        return edges(surface)
    if view == "direction":
        return direction(surface)
    if view == "canny":
        return canny_view(
            surface,
            options.get("stage", "edges"),
            options.get("sigma", 1.0),
            options.get("low"),
            options.get("high"),
        )
    raise UsageError(f"unknown 2D view '{view}': use {', '.join(VIEWS_2D)}")
