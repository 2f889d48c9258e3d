"""CPU geometry for the scene, in numpy (no GL): grids, arrows, spheres, ticks.

Each function returns float32 arrays ready to upload; all positions are world
coordinates (x, y are the domain's coordinates, z the displayed height).
"""

from __future__ import annotations

import math

import numpy as np

from gradient_explorer.view.formatting import format_number

#: The 3D axes' layout (scene.axes_geometry), shared with the home view's framing
#: (AppState.framing_points): a tick's length as a fraction of the domain's larger side,
#: and how many tick lengths out the tick labels and the axis names stand.
AXIS_TICK = 0.025
TICK_LABEL_OUT = 3.0
AXIS_NAME_OUT = 5.5


#: The index that ends one triangle strip and starts the next in the same draw: moderngl
#: makes every context with primitive restart on at the largest 32-bit index.
STRIP_RESTART = 0xFFFFFFFF


def surface_grid(n: int) -> np.ndarray:
    """An n x n grid of (u, v) in [0, 1]^2, u along each row (uploaded once)."""
    if n < 2:
        raise ValueError("a grid needs at least 2 vertices per side")
    u = np.linspace(0.0, 1.0, n, dtype=np.float32)
    return np.stack(np.meshgrid(u, u, indexing="xy"), -1).reshape(-1, 2)


def grid_strips(n: int, order: tuple[str, bool] = ("rows", True)) -> np.ndarray:
    """The cells of :func:`surface_grid` as triangle strips, one per row or column of cells,
    each ended by :data:`STRIP_RESTART`, walked in ``order``.

    ``order``: ``("rows", ascending)`` strips along rows of constant v (y), from low v
    when ``ascending``; ``("columns", ascending)`` along columns of constant u (x). Every
    order splits each cell along the same diagonal, from its (u + 1, v) corner to its
    (u, v + 1) corner, so the triangles are the same and so is the picture; only the
    order they reach the depth test changes. Strips cost a third of a triangle list's
    indices, and a software rasterizer draws them ~7% faster at 512 x 512 vertices.
    """
    if n < 2:
        raise ValueError("a grid needs at least 2 vertices per side")
    axis, ascending = order
    i = np.arange(n * n, dtype=np.uint32).reshape(n, n)  # [v (row), u (column)]
    if axis == "rows":  # (u, v), (u, v + 1), (u + 1, v), ...: the diagonal as above
        strips = np.stack([i[:-1, :], i[1:, :]], -1)
    else:  # (u, v), (u + 1, v), (u, v + 1), ...
        strips = np.stack([i[:, :-1].T, i[:, 1:].T], -1)
    strips = strips.reshape(n - 1, 2 * n)
    if not ascending:
        strips = strips[::-1]
    restart = np.full((n - 1, 1), STRIP_RESTART, dtype=np.uint32)
    return np.ascontiguousarray(np.concatenate([strips, restart], axis=1).reshape(-1))


def flat_arrow_template(head_length: float = 0.35, shaft_width: float = 0.08) -> np.ndarray:
    """Triangles of a 2D arrow: x from 0 (tail) to 1 (tip), y across (widths relative)."""
    s, h = shaft_width / 2, 1.0 - head_length
    w = 0.22
    return np.array(
        [[0, -s], [h, -s], [h, s], [0, -s], [h, s], [0, s], [h, -w], [1, 0], [h, w]],
        dtype=np.float32,
    )


def _frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to ``direction`` and to each other."""
    d = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(d, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(d, a)


def arrow_mesh(
    start, vector, radius: float, head_fraction: float = 0.3, sides: int = 10
) -> np.ndarray:
    """Triangles (k, 3) of a 3D arrow from ``start`` along ``vector``: a prism and a cone.

    Returns an empty array for a zero or non-finite vector.
    """
    start = np.asarray(start, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float64)
    length = float(np.linalg.norm(vector))
    if not np.isfinite(length) or length <= 0 or not np.all(np.isfinite(start)):
        return np.zeros((0, 3), dtype=np.float32)
    d = vector / length
    a, b = _frame(d)
    head = min(head_fraction * length, 6 * radius)
    neck = start + d * (length - head)
    tip = start + vector
    angles = np.linspace(0, 2 * math.pi, sides + 1)
    ring = np.cos(angles)[:, None] * a + np.sin(angles)[:, None] * b
    tris = []
    for k in range(sides):
        p0, p1 = ring[k] * radius, ring[k + 1] * radius
        q0, q1 = ring[k] * radius * 2.6, ring[k + 1] * radius * 2.6
        tris += [start + p0, neck + p0, neck + p1, start + p0, neck + p1, start + p1]
        tris += [neck + q0, tip, neck + q1, neck + q0, neck + q1, neck]
    return np.asarray(tris, dtype=np.float32)


def sphere_mesh(center, radius: float, rings: int = 10, segments: int = 16) -> np.ndarray:
    """Triangles (k, 3) of a UV sphere."""
    center = np.asarray(center, dtype=np.float64)
    theta = np.linspace(0, math.pi, rings + 1)
    phi = np.linspace(0, 2 * math.pi, segments + 1)
    pts = np.stack(
        [
            np.sin(theta)[:, None] * np.cos(phi)[None, :],
            np.sin(theta)[:, None] * np.sin(phi)[None, :],
            np.cos(theta)[:, None] * np.ones_like(phi)[None, :],
        ],
        -1,
    )
    a, b = pts[:-1, :-1], pts[:-1, 1:]
    c, d = pts[1:, :-1], pts[1:, 1:]
    quads = np.stack([a, c, b, b, c, d], 2).reshape(-1, 3)
    return (center + radius * quads).astype(np.float32)


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about ``count`` of them.

    Any finite range works, from spans near float64's smallest to ones whose width
    overflows (-1e308 to 1e308). A range narrower than float64 can tell apart at its
    magnitude gets one tick, at ``lo``. Non-finite ends give no ticks.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.zeros(0)
    if hi <= lo:
        return np.array([float(lo)])
    count = max(int(count), 1)
    raw = hi / count - lo / count  # hi - lo may overflow
    if not raw > 1e-12 * max(abs(lo), abs(hi)):  # below the float's resolution there
        return np.array([float(lo)])
    k = math.floor(math.log10(raw))
    # Decimal text, not 10 ** k: an int power turns arrays into objects, a float one
    # overflows or loses digits near the ends of the float range.
    step = next(s for m in (1, 2, 5, 10) if (s := float(f"{m}e{k}")) >= raw)
    if not (step > 0 and math.isfinite(step)):
        return np.array([float(lo), float(hi)])
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    # Multiples of the step (n * step): exact for integers n, and never "-0".
    return np.arange(first, last + 1, dtype=np.float64) * step + 0.0


def log_ticks(f_lo: float, f_hi: float, count: int = 5) -> np.ndarray:
    """Values of f to label on a log1p-scaled axis: 0 and decades (1, 10, 100, ...).

    With fewer than three decades in range the 2s and 5s between them join (0, 1, 2,
    5, 10); with many, every second or third decade, so about ``count`` remain.
    Negative decades (-1 < f < 0 is the only room log1p has below 0) are not labelled
    beyond 0.
    """
    if not (math.isfinite(f_lo) and math.isfinite(f_hi)) or f_hi <= f_lo:
        return nice_ticks(f_lo, f_hi, count)
    count = max(int(count), 2)
    # 0 where the range starts at or near it (a minimum of 0.02 still reads from 0).
    ticks = [0.0] if f_lo <= 0.5 and f_hi >= 0.0 else []
    if f_hi >= 1.0:
        k_lo = max(0, math.ceil(math.log10(max(f_lo, 1.0)) - 1e-9))
        k_hi = math.floor(math.log10(f_hi) + 1e-9)
        decades = list(range(k_lo, k_hi + 1))
        if len(ticks) + len(decades) < 3:
            candidates = [float(f"{m}e{k}") for k in range(k_lo, k_hi + 1) for m in (1, 2, 5)]
            ticks += [v for v in candidates if f_lo <= v <= f_hi]
        else:
            stride = max(1, math.ceil(len(decades) / (count - len(ticks))))
            ticks += [float(f"1e{k}") for k in decades[::stride]]
    if len(ticks) < 2:  # too narrow for decades: round numbers of f, linearly
        return nice_ticks(f_lo, f_hi, count)
    return np.array(sorted(set(ticks)), dtype=np.float64)


def format_tick(value: float) -> str:
    """A tick label: up to 6 significant digits, never "-0"."""
    return format_number(value, ".6g")


def declutter(
    boxes: np.ndarray,
    priorities,
    viewport: tuple[float, float],
    pad: float = 3.0,
    max_cover: float = 0.1,
) -> np.ndarray:
    """Which screen-space label boxes to draw so that none overlap: a mask.

    ``boxes`` is (n, 4): left, top, right, bottom in pixels. Labels are taken in order of
    ``priorities`` (highest first; ties in the given order) and kept when they lie inside
    the ``viewport`` (width, height), keep ``pad`` pixels from every label kept before,
    and the kept boxes cover at most ``max_cover`` of the viewport (a small picture gets
    few labels instead of being covered by them). Non-finite boxes are dropped.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    keep = np.zeros(n, dtype=bool)
    width, height = viewport
    budget = max_cover * width * height
    order = sorted(range(n), key=lambda i: -priorities[i])
    finite = np.isfinite(boxes).all(axis=1).tolist()
    rows = boxes.tolist()  # plain floats: a few dozen labels a frame, each tested in Python
    kept: list[list[float]] = []
    for i in order:
        if not finite[i]:
            continue
        left, top, right, bottom = rows[i]
        if left < 0 or top < 0 or right > width or bottom > height:
            continue
        area = (right - left) * (bottom - top)
        if area > budget:
            continue
        if any(
            left - pad < k[2] and k[0] < right + pad and top - pad < k[3] and k[1] < bottom + pad
            for k in kept
        ):
            continue
        kept.append(rows[i])
        keep[i] = True
        budget -= area
    return keep


def boxes_overlap(boxes: np.ndarray) -> bool:
    """Whether any two of the (n, 4) boxes (left, top, right, bottom) intersect."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    left, top, right, bottom = (b[:, j] for j in range(4))
    hit = (
        (left[:, None] < right[None, :])
        & (left[None, :] < right[:, None])
        & (top[:, None] < bottom[None, :])
        & (top[None, :] < bottom[:, None])
    )
    np.fill_diagonal(hit, False)
    return bool(hit.any())


def height_slope(surface, xy) -> np.ndarray:
    """d(displayed height)/df at ``xy``: the height scale, through log1p where the surface
    is shown on that scale (the chain rule the point, the balls and the slice share)."""
    if surface.display != "log1p":
        return np.full(np.shape(xy)[:-1], float(surface.height_scale))
    with np.errstate(all="ignore"):
        return surface.height_scale / (1.0 + surface.f(xy))


def height_gradient(surface, xy) -> tuple[np.ndarray, np.ndarray]:
    """The displayed height at ``xy`` and its gradient."""
    return surface.height(xy), height_slope(surface, xy)[..., None] * surface.gradient(xy)


def clip_steps(p0, p1, domain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments ``p0 -> p1`` (``(m, 2)``) cut to the rectangle ``domain`` ((x0, x1),
    (y0, y1)) (Liang-Barsky): the parts inside, and the mask of the segments that have
    one (a trail's steps in the domain; a line against a label's box). A step inside is returned
    as it was, bit for bit; a non-finite end leaves the step as it was (the trail
    drops it later)."""
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 2)
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 2)
    lo = np.array([domain[0][0], domain[1][0]], dtype=np.float64)
    hi = np.array([domain[0][1], domain[1][1]], dtype=np.float64)
    if np.all((p0 >= lo) & (p0 <= hi) & (p1 >= lo) & (p1 <= hi)):  # the usual trail
        return p0, p1, np.ones(len(p0), dtype=bool)
    d = p1 - p0
    with np.errstate(all="ignore"):
        # where each coordinate's line crosses its two edges, as t along the step
        ta, tb = (lo - p0) / d, (hi - p0) / d
        enter = np.where(
            d != 0, np.minimum(ta, tb), np.where((p0 >= lo) & (p0 <= hi), -np.inf, np.inf)
        )
        leave = np.where(
            d != 0, np.maximum(ta, tb), np.where((p0 >= lo) & (p0 <= hi), np.inf, -np.inf)
        )
        t0 = np.maximum(enter.max(axis=1), 0.0)
        t1 = np.minimum(leave.min(axis=1), 1.0)
        finite = np.all(np.isfinite(p0), axis=1) & np.all(np.isfinite(p1), axis=1)
        keep = (t0 <= t1) | ~finite
        a = np.where(((t0 > 0) & finite)[:, None], p0 + t0[:, None] * d, p0)
        b = np.where(((t1 < 1) & finite)[:, None], p0 + t1[:, None] * d, p1)
    return a[keep], b[keep], keep


def label_spot(candidates, half: tuple[float, float], segments, labels=(), pad: float = 3.0) -> int:
    """The first of ``candidates`` (label centres, pixels, in order of preference) whose
    box (``half`` = half its width and height) no segment crosses, else the one that
    overlaps no other label and fewest segments cross, else the first (where the
    overlay's declutter then keeps the label that matters more).
    ``segments``: (a, b) pairs of ``(m, 2)`` pixel arrays (a curve's polyline, a
    tangent, markers); ``labels``: the same for labels placed already (their edges and
    diagonals), kept ``pad`` pixels away as the overlay's declutter keeps them; NaN
    segments (breaks in a line) cross nothing."""
    hw, hh = half
    soft_set, hard_set = _segment_set(segments), _segment_set(labels)
    scores = []
    for cx, cy in candidates:
        soft = _crossings(soft_set, ((cx - hw, cx + hw), (cy - hh, cy + hh)))
        hard = _crossings(
            hard_set, ((cx - hw - pad, cx + hw + pad), (cy - hh - pad, cy + hh + pad))
        )
        if soft == hard == 0:
            return len(scores)
        scores.append(soft if hard == 0 else math.inf)
    return int(np.argmin(scores)) if min(scores) < math.inf else 0


def _segment_set(segments) -> tuple | None:
    """(a, b, lo, hi) of (a, b) pairs stacked once: ends and bounding boxes; None if none."""
    if not segments:
        return None
    a = np.concatenate([np.asarray(s[0], dtype=np.float64).reshape(-1, 2) for s in segments])
    b = np.concatenate([np.asarray(s[1], dtype=np.float64).reshape(-1, 2) for s in segments])
    return a, b, np.minimum(a, b), np.maximum(a, b)


def _crossings(stacked: tuple | None, box) -> int:
    """How many of the stacked segments (:func:`_segment_set`) cross the rectangle ``box``."""
    if stacked is None:
        return 0
    a, b, lo, hi = stacked
    (x0, x1), (y0, y1) = box
    with np.errstate(invalid="ignore"):  # NaN breaks compare False: never near
        near = (lo[:, 0] <= x1) & (hi[:, 0] >= x0) & (lo[:, 1] <= y1) & (hi[:, 1] >= y0)
    return int(clip_steps(a[near], b[near], box)[2].sum()) if near.any() else 0
