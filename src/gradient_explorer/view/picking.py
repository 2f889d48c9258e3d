"""Mouse picking: screen <-> world rays, and rays against the height surface and floor.

Coordinate frames
-----------------
- Mouse: window points, origin top-left, y down (moderngl-window).
- Framebuffer: ``pixel_ratio`` pixels per point, origin bottom-left.
- Viewport ``(vx, vy, vw, vh)``: the GL viewport in framebuffer pixels (bottom-left
  origin); it may be a letterboxed sub-rectangle of the framebuffer.

Positions are continuous (no half-pixel shift): the point that maps to NDC (-1, -1) is the
viewport's bottom-left corner ``(vx, vy)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.view.camera import OrbitCamera, underflow_ok

__all__ = [
    "pick_floor",
    "pick_height_surface",
    "screen_to_ray",
    "world_to_screen",
]

HeightFn = Callable[[np.ndarray], np.ndarray]


def _viewport(viewport: Sequence[float]) -> tuple[float, float, float, float]:
    vx, vy, vw, vh = (float(v) for v in viewport)
    if not (vw > 0 and vh > 0):
        raise UsageError(f"viewport width and height must be positive, got {viewport}")
    return vx, vy, vw, vh


def _fb_height(framebuffer_size: Sequence[float]) -> float:
    fh = float(framebuffer_size[1])
    if not fh > 0:
        raise UsageError(f"framebuffer size must be positive, got {framebuffer_size}")
    return fh


@underflow_ok
def screen_to_ray(
    camera: OrbitCamera,
    mouse_xy: Sequence[float],
    viewport: Sequence[float],
    framebuffer_size: Sequence[float],
    pixel_ratio: float = 1.0,
    aspect: float | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """World ray through a mouse position, through the inverse view-projection.

    Parameters
    ----------
    camera : OrbitCamera
        Its current (drawn) state is used.
    mouse_xy : (float, float)
        Mouse position in window points, origin top-left.
    viewport : (vx, vy, vw, vh)
        GL viewport in framebuffer pixels, origin bottom-left.
    framebuffer_size : (width, height)
        Framebuffer size in pixels (its height flips y).
    pixel_ratio : float
        Framebuffer pixels per window point (2 on HiDPI).
    aspect : float, optional
        Aspect used for the projection; defaults to ``vw / vh``, as the renderer should.

    Returns
    -------
    (origin, direction) or None
        ``origin`` (3,) is on the near plane, so the ray starts where drawing starts;
        ``direction`` (3,) is a unit vector away from the camera. None when the mouse is
        outside the viewport (edges included as inside), e.g. over a letterbox bar.
    """
    vx, vy, vw, vh = _viewport(viewport)
    fh = _fb_height(framebuffer_size)
    mx, my = (float(v) for v in mouse_xy)
    px = mx * pixel_ratio
    py = fh - my * pixel_ratio  # top-left points -> bottom-left pixels
    if not (vx <= px <= vx + vw and vy <= py <= vy + vh):
        return None
    ndc_x = 2.0 * (px - vx) / vw - 1.0
    ndc_y = 2.0 * (py - vy) / vh - 1.0
    inv = camera.inverse_view_projection(vw / vh if aspect is None else aspect)
    ends = inv @ np.array([[ndc_x, ndc_x], [ndc_y, ndc_y], [-1.0, 1.0], [1.0, 1.0]])
    near = ends[:3, 0] / ends[3, 0]
    far = ends[:3, 1] / ends[3, 1]
    direction = far - near
    return near, direction / np.linalg.norm(direction)


@underflow_ok
def world_to_screen(
    camera: OrbitCamera,
    point: Sequence[float] | np.ndarray,
    viewport: Sequence[float],
    framebuffer_size: Sequence[float],
    pixel_ratio: float = 1.0,
    aspect: float | None = None,
) -> np.ndarray:
    """Window position of world points: the inverse of :func:`screen_to_ray`.

    Parameters
    ----------
    camera, viewport, framebuffer_size, pixel_ratio, aspect
        As for :func:`screen_to_ray`.
    point : array_like, shape (3,) or (N, 3)
        World points.

    Returns
    -------
    ndarray, shape (2,) or (N, 2)
        Mouse-style positions (window points, origin top-left). Points outside the viewport
        get positions outside it; points at or behind the eye plane (clip w <= 0) get NaN.
    """
    vx, vy, vw, vh = _viewport(viewport)
    fh = _fb_height(framebuffer_size)
    p = np.asarray(point, dtype=np.float64)
    single = p.ndim == 1
    p = np.atleast_2d(p)
    if p.shape[-1] != 3:
        raise UsageError(f"points must have 3 coordinates, got shape {np.shape(point)}")
    vp = camera.view_projection(vw / vh if aspect is None else aspect)
    clip = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ vp.T
    w = clip[:, 3]
    out = np.full((len(p), 2), np.nan)
    ok = w > 0
    ndc = clip[ok, :2] / w[ok, None]
    px = vx + (ndc[:, 0] + 1.0) * 0.5 * vw
    py = vy + (ndc[:, 1] + 1.0) * 0.5 * vh
    out[ok, 0] = px / pixel_ratio
    out[ok, 1] = (fh - py) / pixel_ratio
    return out[0] if single else out


def _domain(domain) -> tuple[np.ndarray, np.ndarray]:
    """``((xmin, xmax), (ymin, ymax)[, (zmin, zmax)])`` -> lo, hi arrays (length 2 or 3)."""
    box = np.asarray(domain, dtype=np.float64)
    if box.ndim != 2 or box.shape[1] != 2 or box.shape[0] not in (2, 3):
        raise UsageError(
            "domain must be ((xmin, xmax), (ymin, ymax)) with an optional (zmin, zmax)"
        )
    if not np.all(np.isfinite(box)) or np.any(box[:, 1] < box[:, 0]):
        raise UsageError(f"domain bounds must be finite and ordered, got {box.tolist()}")
    return box[:, 0], box[:, 1]


def _estimate_z_range(
    height_fn: HeightFn, lo: np.ndarray, hi: np.ndarray, n: int = 65
) -> tuple[float, float] | None:
    """Height range of the surface from an ``n`` x ``n`` grid, padded; None if all holes."""
    x = np.linspace(lo[0], hi[0], n)
    y = np.linspace(lo[1], hi[1], n)
    xy = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    h = np.asarray(height_fn(xy), dtype=np.float64).reshape(-1)  # caller ignores fp errors
    h = h[np.isfinite(h)]
    if h.size == 0:
        return None
    zmin, zmax = float(h.min()), float(h.max())
    # Peaks narrower than the grid spacing may poke above; the padding covers mild ones.
    pad = 0.05 * (zmax - zmin) + 1e-9 * (1.0 + max(abs(zmin), abs(zmax)) + float(np.max(hi - lo)))
    return zmin - pad, zmax + pad


def _clip_to_box(
    origin: np.ndarray, direction: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[float, float] | None:
    """Slab test: the ``t >= 0`` interval of the ray inside the box (may be unbounded).

    Runs under ``np.errstate(all="ignore")`` (from the caller): a tiny direction component
    gives +-inf slab bounds, which is right.
    """
    moving = direction != 0.0
    # Parallel to a slab: inside it everywhere or nowhere.
    if np.any(~moving & ((origin < lo) | (origin > hi))):
        return None
    o, d = origin[moving], direction[moving]
    ta, tb = (lo[moving] - o) / d, (hi[moving] - o) / d
    t0 = max(0.0, float(np.max(np.minimum(ta, tb))))
    t1 = float(np.min(np.maximum(ta, tb)))
    return None if t0 > t1 else (t0, t1)


def _ray_heights(
    height_fn: HeightFn, base: np.ndarray, direction: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """``ray_z - h(ray_xy)`` at parameters ``s``; NaN where the surface has a hole."""
    pts = base + s[:, None] * direction
    h = np.asarray(height_fn(pts[:, :2]), dtype=np.float64).reshape(len(s))
    g = pts[:, 2] - h
    g[~np.isfinite(g)] = np.nan
    return g


def _first_crossing(g: np.ndarray) -> tuple[int, bool] | None:
    """The first place where the samples ``g`` show the ray meeting the surface.

    Returns ``(i, True)`` if sample i is exactly on the surface, ``(i, False)`` if the pair
    (i, i+1), both defined, changes sign, whichever comes first along the ray; else None.
    NaN samples (holes) never count: NaN compares unequal to 0 and is not finite.
    """
    finite = np.isfinite(g)
    sign = np.signbit(g)
    pair = finite[:-1] & finite[1:] & (sign[:-1] != sign[1:])
    zero = g == 0.0
    i = int(pair.argmax())
    z = int(zero.argmax())
    has_pair, has_zero = bool(pair[i]), bool(zero[z])
    if has_zero and (not has_pair or z <= i):
        return z, True
    if has_pair:
        return i, False
    return None


def pick_height_surface(
    origin: Sequence[float] | np.ndarray,
    direction: Sequence[float] | np.ndarray,
    height_fn: HeightFn,
    domain,
    steps: int = 256,
    subdivisions: int = 16,
) -> np.ndarray | None:
    """First intersection of a ray with the displayed height surface ``z = height_fn(x, y)``.

    The ray segment inside the domain box is sampled at ``steps`` points in one vectorized
    call; the first sample pair where ``ray_z - h`` changes sign (both defined) brackets
    the hit, which is then refined until the bracket is a few ulps wide: each round is one
    vectorized call on ``subdivisions`` evenly spaced points (safeguard: bisection
    generalized) plus a ladder closing in on the regula falsi point (speed: secant-like
    convergence, typically 3 to 5 rounds on smooth surfaces).

    Parameters
    ----------
    origin, direction : array_like, shape (3,)
        The ray; only ``t >= 0`` counts. ``direction`` need not be unit length.
    height_fn : callable
        ``height_fn(xy)`` with ``xy`` of shape (M, 2) returns M displayed heights; NaN or
        inf marks a hole (no surface there). It runs under ``np.errstate(all="ignore")``.
    domain : ((xmin, xmax), (ymin, ymax)) or ((xmin, xmax), (ymin, ymax), (zmin, zmax))
        The surface's extent. Pass the displayed z range (e.g. the mesh's nanmin/nanmax):
        it bounds the marched segment. Without it, the range is estimated from a 65 x 65
        grid of heights (one more vectorized call, padded by 5 %; a spike narrower than
        the grid may then be cut off).
    steps : int
        Coarse samples along the segment. Features thinner than the sample spacing
        (``segment length / steps``) that the ray crosses twice can be missed.
    subdivisions : int
        Samples per refinement round (>= 2).

    Returns
    -------
    ndarray, shape (3,), or None
        The point ``(x, y, z)`` on the ray where it first meets the surface, or None if it
        misses (outside the domain, only through holes, or never crossing). A ray that
        starts below the surface hits its underside.
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    if not (np.all(np.isfinite(o)) and np.all(np.isfinite(d))) or not np.any(d):
        raise UsageError("ray origin and direction must be finite, direction non-zero")
    if steps < 2 or subdivisions < 2:
        raise UsageError(f"steps and subdivisions must be >= 2, got {steps}, {subdivisions}")
    lo, hi = _domain(domain)
    # One errstate for the whole pick: holes (NaN/inf from height_fn, raised however the
    # caller set np.seterr) are expected, and the code below handles non-finite values.
    with np.errstate(all="ignore"):
        return _pick(o, d, height_fn, lo, hi, steps, subdivisions)


def _pick(
    o: np.ndarray,
    d: np.ndarray,
    height_fn: HeightFn,
    lo: np.ndarray,
    hi: np.ndarray,
    steps: int,
    k: int,
) -> np.ndarray | None:
    if lo.size == 2:
        z_range = _estimate_z_range(height_fn, lo, hi)
        if z_range is None:
            return None  # no surface anywhere
        lo, hi = np.append(lo, z_range[0]), np.append(hi, z_range[1])
    # Widen the z range a hair: the surface's extremes lie exactly on it (the app passes the
    # mesh's min/max), and rounding at the segment ends must not lose those hits.
    pad = 1e-9 * (float(np.max(hi - lo)) + abs(float(lo[2])) + abs(float(hi[2])) + 1.0)
    lo, hi = lo.copy(), hi.copy()
    lo[2] -= pad
    hi[2] += pad
    span = _clip_to_box(o, d, lo, hi)
    if span is None:
        return None
    t0, t1 = span
    if not math.isfinite(t1 - t0):
        return None  # a direction so small that the segment overflows: no usable ray

    # Re-base the ray at the segment start so the refinement works in a parameter whose
    # size is the segment length: its ulps are then small compared with the surface.
    base = o + t0 * d
    # A sign change that stays this large down to an ulp-wide bracket is a jump (a pole,
    # a branch cut), not a crossing: the ray goes on past it.
    jump = 1e-3 * float(hi[2] - lo[2]) + 1e-9 * (1.0 + abs(float(lo[2])) + abs(float(hi[2])))
    s = np.linspace(0.0, t1 - t0, steps)
    g = _ray_heights(height_fn, base, d, s)
    event = _first_crossing(g)
    while event is not None:
        i, exact = event
        if exact:
            return base + s[i] * d
        found = _refine(
            height_fn,
            base,
            d,
            float(s[i]),
            float(s[i + 1]),
            float(g[i]),
            float(g[i + 1]),
            k,
            jump,
        )
        if found is not None:
            return base + found * d
        # The bracket only crossed through a hole or a jump: keep looking further along.
        nxt = _first_crossing(g[i + 1 :])
        event = None if nxt is None else (i + 1 + nxt[0], nxt[1])
    return None


# Offsets (fractions of the bracket) sampled on both sides of the regula falsi point: a
# geometric ladder, so the bracket collapses to about the secant error in one round.
_LADDER = 2.0 ** -np.arange(2.0, 53.0, 1.5)
_LADDER_BOTH = np.concatenate([-_LADDER, [0.0], _LADDER])


def _refine(
    height_fn: HeightFn,
    base: np.ndarray,
    d: np.ndarray,
    a: float,
    b: float,
    ga: float,
    gb: float,
    k: int,
    jump: float = math.inf,
) -> float | None:
    """Shrink a bracket ``[a, b]`` (``ga``, ``gb`` defined, opposite signs) to ulp size.

    Each round samples, in one vectorized call, ``k`` evenly spaced points (a guaranteed
    ``k``-fold shrink, even for kinks and plateaus) and a ladder of points closing in on
    the regula falsi estimate from both sides (which makes smooth surfaces converge like
    the secant method: 2 to 4 rounds). The first sign change among all samples is kept, so
    the root returned is still the first one the samples can see.

    Returns the parameter of the first root in it, or None if finer sampling shows that
    the sign change happened across a hole (undefined samples) or a jump (both sides of
    the final bracket still further than ``jump`` from the ray) rather than on the surface.
    """
    even = np.arange(1, k) / k
    for _ in range(64):  # k >= 2 at least halves the bracket: 64 rounds reach any ulp
        width = b - a
        if width <= 4.0 * math.ulp(max(abs(a), abs(b))):
            break
        guess = a + width * (ga / (ga - gb))
        s = np.concatenate([a + width * even, guess + width * _LADDER_BOTH])
        s = np.sort(s[(s > a) & (s < b)])
        g = np.concatenate([[ga], _ray_heights(height_fn, base, d, s), [gb]])
        s = np.concatenate([[a], s, [b]])
        event = _first_crossing(g)
        if event is None:
            return None
        j, exact = event
        if exact:
            return float(s[j])
        a, b, ga, gb = float(s[j]), float(s[j + 1]), float(g[j]), float(g[j + 1])
    if min(abs(ga), abs(gb)) > jump:
        return None  # 1/x at 0, tan at pi/2: the sign flips without meeting the ray
    # Secant point inside the final (ulp-wide) bracket; ga, gb have opposite signs here.
    w = ga / (ga - gb)
    return a + min(max(w, 0.0), 1.0) * (b - a)


@underflow_ok
def pick_floor(
    origin: Sequence[float] | np.ndarray,
    direction: Sequence[float] | np.ndarray,
    z_floor: float,
    domain,
) -> np.ndarray | None:
    """Where a ray meets the floor plane ``z = z_floor`` inside the domain rectangle.

    Parameters
    ----------
    origin, direction : array_like, shape (3,)
        The ray; only ``t >= 0`` counts.
    z_floor : float
        Height of the floor map plane.
    domain : ((xmin, xmax), (ymin, ymax)[, (zmin, zmax)])
        The z pair, if present, is ignored.

    Returns
    -------
    ndarray, shape (2,), or None
        The domain point ``(x, y)``, or None if the ray is parallel to the floor, points
        away from it, or meets it outside the rectangle (edges count as inside).
    """
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    lo, hi = _domain(domain)
    if d[2] == 0.0:
        return None
    t = (float(z_floor) - o[2]) / d[2]
    if t < 0.0:
        return None
    xy = o[:2] + t * d[:2]
    if np.any(xy < lo[:2]) or np.any(xy > hi[:2]):
        return None
    return xy
