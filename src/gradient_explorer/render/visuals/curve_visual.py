"""The 1D view: the curve, the orange tangent at the point, f' = 0 markers, f' beneath.

Everything is drawn in pixel space (an orthographic map of the framebuffer) as triangles,
so lines have a real width on every driver (core profiles refuse wide GL lines). The
layout (:class:`CurveLayout`) and the geometry are numpy and testable without GL; the
GL side is one :class:`~gradient_explorer.render.visuals.mesh_visual.MeshVisual`.

Text goes to the overlay as :class:`~gradient_explorer.render.label.Label` s placed in the
picture's pixels (``screen_size`` set), as the layout puts them: the overlay scales them to
the display and draws them, thinned by priority like the 3D axes' labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from gradient_explorer.app.curve_mode import curve_key, readout, stationary_points
from gradient_explorer.render.geometry import format_tick, label_spot, nice_ticks
from gradient_explorer.render.label import TEXT_COLOR, Label
from gradient_explorer.render.palette import (
    CURVE_COLOR,
    DERIVATIVE_COLOR,
    DIM_COLOR,
    GRID_COLOR,
    GUIDE_COLOR,
    HALO_COLOR,
    MARKER_RING_COLOR,
    PANEL_COLOR,
    POINT_COLOR,
    TANGENT_COLOR,
    VERDICT_COLORS,
)
from gradient_explorer.render.visuals._gl import gl_state
from gradient_explorer.render.visuals.mesh_visual import MeshVisual
from gradient_explorer.render.visuals.visual import FrameUniforms, Visual
from gradient_explorer.view.formatting import format_number

__all__ = [
    "KIND_COLORS",
    "TANGENT_COLOR",
    "CurveData",
    "CurveLayout",
    "CurveVisual",
    "curve_layout",
    "disc",
    "thick_polyline",
    "unshown_note",
]

# Which labels stay when they would overlap (Label.priority; ticks are 0): the
# moving slope, then the verdicts, then the band titles.
SLOPE_RANK, VERDICT_RANK, TITLE_RANK = 3, 2, 1
AXIS_COLOR = DIM_COLOR
#: The plotted y range stays within +-Y_LIMIT: f(x) can reach 1e308 (exp(exp(exp(x)))),
#: where a band's ticks and pixel arithmetic stop being exact. Values past the band are
#: clipped at its edge, and :func:`unshown_note` says so.
Y_LIMIT = 1e15
KIND_COLORS = VERDICT_COLORS


@dataclass(frozen=True)
class Band:
    """One plot area: a pixel rectangle (left, top, right, bottom) and its data ranges."""

    rect: tuple[float, float, float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def to_pixel(self, x, y) -> np.ndarray:
        """Data (x, y) to pixels (origin top-left, y down): shape ``(..., 2)``."""
        left, top, right, bottom = self.rect
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        x = np.asarray(x, dtype=np.float64)
        # Far outside the band a point only sets a line's direction: clamp it to a million
        # band heights, so pixels stay finite (a value of 1e300 over a band of 1e-9).
        span = y1 - y0
        y = np.clip(np.asarray(y, dtype=np.float64), y0 - 1e6 * span, y1 + 1e6 * span)
        px = left + (x - x0) / (x1 - x0) * (right - left)
        py = bottom - (y - y0) / (y1 - y0) * (bottom - top)
        return np.stack(np.broadcast_arrays(px, py), -1)


@dataclass(frozen=True)
class CurveLayout:
    """Where the 1D view draws: the curve's band and, optionally, the f' band under it."""

    size: tuple[int, int]
    main: Band
    derivative: Band | None


def _robust_range(values: np.ndarray, include_zero: bool = False) -> tuple[float, float]:
    v = np.clip(values[np.isfinite(values)], -Y_LIMIT, Y_LIMIT)
    if v.size == 0:
        return (-1.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    p_lo, p_hi = (float(p) for p in np.percentile(v, [2.0, 98.0]))
    if p_hi > p_lo and hi - lo > 12 * (p_hi - p_lo):  # a pole: show the curve, not the spike
        lo, hi = p_lo - 0.5 * (p_hi - p_lo), p_hi + 0.5 * (p_hi - p_lo)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.1 * (hi - lo)
    return (lo - pad, hi + pad)


def curve_layout(
    curve, size: tuple[int, int], show_derivative: bool, insets: tuple[float, float] = (0, 0)
) -> CurveLayout:
    """Bands for a ``size`` framebuffer: ranges from f (and f') sampled over the domain.

    ``insets`` (left, right, in pixels) keep the plot clear of side panels.
    """
    width, height = size
    (x0, x1) = curve.domain[0]
    xs = np.linspace(x0, x1, 801)
    inset_left, inset_right = (max(0.0, float(v)) for v in insets)
    if width - inset_left - inset_right < 240:  # too narrow: let the panels overlap
        inset_left = inset_right = 0.0
    left, right = 84.0 + inset_left, width - 36.0 - inset_right
    top, bottom = 46.0, height - 40.0
    if show_derivative:
        split = top + 0.64 * (bottom - top)
        main_rect = (left, top, right, split - 14.0)
        der_rect = (left, split + 14.0, right, bottom)
    else:
        main_rect = (left, top, right, bottom)
    main = Band(main_rect, (x0, x1), _robust_range(curve.f(xs)))
    derivative = None
    if show_derivative:
        derivative = Band(der_rect, (x0, x1), _robust_range(curve.gradient(xs), True))
    return CurveLayout((int(width), int(height)), main, derivative)


# ---------------------------------------------------------------------- geometry (pixels)


def thick_polyline(points: np.ndarray, width: float) -> np.ndarray:
    """Triangles (k, 3) of a polyline ``(n, 2)`` in pixels, ``width`` pixels wide.

    Non-finite points split the line; each segment is a quad, joints get a small square
    cap so turns have no gaps.
    """
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 2:
        return np.zeros((0, 3), dtype=np.float32)
    a, b = p[:-1], p[1:]
    ok = np.all(np.isfinite(a), 1) & np.all(np.isfinite(b), 1)
    a, b = a[ok], b[ok]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 1e-9
    a, b, d, length = a[keep], b[keep], d[keep], length[keep]
    if len(a) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    t = d / length[:, None]
    n = np.column_stack([-t[:, 1], t[:, 0]]) * (0.5 * width)
    ext = t * (0.5 * width * 0.5)  # overlap consecutive quads a little at the joints
    a2, b2 = a - ext, b + ext
    quads = np.stack([a2 - n, b2 - n, b2 + n, a2 - n, b2 + n, a2 + n], 1).reshape(-1, 2)
    return np.column_stack([quads, np.zeros(len(quads))]).astype(np.float32)


def disc(center, radius: float, segments: int = 24) -> np.ndarray:
    """Triangles (k, 3) of a filled circle in pixels."""
    cx, cy = (float(v) for v in center)
    ang = np.linspace(0, 2 * math.pi, segments + 1)
    ring = np.column_stack([cx + radius * np.cos(ang), cy + radius * np.sin(ang)])
    c = np.array([cx, cy])
    tris = np.stack([np.broadcast_to(c, ring[:-1].shape), ring[:-1], ring[1:]], 1)
    tris = tris.reshape(-1, 2)
    return np.column_stack([tris, np.zeros(len(tris))]).astype(np.float32)


def rect(left: float, top: float, right: float, bottom: float) -> np.ndarray:
    q = np.array([[left, top], [right, top], [right, bottom], [left, top], [right, bottom],
                  [left, bottom]])  # fmt: skip
    return np.column_stack([q, np.zeros(6)]).astype(np.float32)


def _ortho_pixels(width: int, height: int) -> bytes:
    """Pixels (origin top-left, y down) to clip space, packed for a mat4 uniform."""
    m = np.array(
        [
            [2.0 / width, 0.0, 0.0, -1.0],
            [0.0, -2.0 / height, 0.0, 1.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    return np.ascontiguousarray(m.T, dtype=np.float32).tobytes()


# ---------------------------------------------------------------------- GL


@dataclass(frozen=True)
class CurveData:
    """The 1D view's data: the curve drawn, the 1D mode's state (its point ``x``, what is
    shown), the side panels' insets in pixels, and whether the axes are shown."""

    curve: Any  # a Surface with dim == 1
    mode: Any  # CurveState (app/curve_mode.py): x, show_derivative, show_stationary
    insets: tuple[float, float] = (0.0, 0.0)
    axes: bool = True


class CurveVisual(Visual):
    """Draws the 1D mode into the bound framebuffer, in pixels. ``update(CurveData)``,
    ``draw(frame)``; :attr:`labels` then holds its labels (in the picture's pixels)."""

    data: CurveData | None = None

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.mesh = MeshVisual(ctx)
        self.layout: CurveLayout | None = None  # the last layout drawn (tests, picking)
        self.screen_labels: list[tuple[tuple[float, float], str, tuple]] = []
        self.labels: list[Label] = []
        self._memo: dict[str, tuple] = {}

    def _cached(self, name: str, key, build):
        """``build()`` once per ``key``: the samples and the bands depend on the curve
        (and the size), not on the frame."""
        hit = self._memo.get(name)
        if hit is None or hit[0] != key:
            hit = (key, build())
            self._memo[name] = hit
        return hit[1]

    def update(self, data: CurveData) -> None:
        """Take the curve; the point's x is kept inside the curve's domain."""
        (x0, x1) = data.curve.domain[0]
        data.mode.x = float(min(max(data.mode.x, x0), x1))
        self.data = data

    def draw(self, frame: FrameUniforms) -> None:
        """Draw the bands, the curve, f', the tangent and the markers; set :attr:`labels`."""
        width, height = frame.size
        d = self.data
        key = (curve_key(d.curve), (width, height), d.mode.show_derivative, tuple(d.insets))
        layout = self._cached(
            "layout",
            key,
            lambda: curve_layout(d.curve, (width, height), d.mode.show_derivative, d.insets),
        )
        self.layout = layout
        mvp = _ortho_pixels(width, height)
        labels: list[tuple[tuple[float, float], str, tuple]] = []
        # flat, in pixels: no depth test; antialiased edges and the guide blend
        with gl_state(self.ctx, depth_test=False, blend=True):
            try:
                self._draw(d.curve, d.mode, layout, mvp, labels, height, d.axes)
            finally:
                self.ctx.scissor = None
        self.screen_labels = [item[:3] for item in labels]
        self.labels = [
            Label(tuple(float(v) for v in pos), text, color, *rank, screen_size=(width, height))
            for pos, text, color, *rank in labels
        ]

    def release(self) -> None:
        if self.mesh is not None:
            self.mesh.release()
            self.mesh = None

    # -- pieces -------------------------------------------------------------------------

    def _band_frame(
        self, band: Band, mvp: bytes, labels: list, title: str, color, axes_shown: bool
    ) -> None:
        left, top, right, bottom = band.rect
        self.mesh.draw(mvp, rect(left, top, right, bottom), PANEL_COLOR)
        labels.append(((left + 8 + 3.6 * len(title), top - 14), title, color, TITLE_RANK))
        if not axes_shown:  # --no-axes: the bands, the curves and their labels only
            return
        (x0, x1), (y0, y1) = band.x_range, band.y_range
        grid = []
        for v in nice_ticks(x0, x1, 8):
            px = band.to_pixel(v, y0)[0]
            grid.append(thick_polyline(np.array([[px, top], [px, bottom]]), 1.0))
        # about one tick per 28 pixels, so a short band (a small picture) stays legible
        for v in nice_ticks(y0, y1, max(2, min(5, int((bottom - top) / 28)))):
            py = band.to_pixel(x0, v)[1]
            grid.append(thick_polyline(np.array([[left, py], [right, py]]), 1.0))
            text = format_tick(float(f"{v:.4g}"))
            labels.append(((left - 10 - 3.6 * len(text), py), text, TEXT_COLOR))
        self.mesh.draw(mvp, np.concatenate(grid), GRID_COLOR)
        axes = []
        if y0 <= 0 <= y1:  # the x axis (y = 0)
            py = band.to_pixel(x0, 0.0)[1]
            axes.append(thick_polyline(np.array([[left, py], [right, py]]), 1.5))
        if x0 <= 0 <= x1:  # the y axis (x = 0)
            px = band.to_pixel(0.0, y0)[0]
            axes.append(thick_polyline(np.array([[px, top], [px, bottom]]), 1.5))
        box = np.array([[left, top], [right, top], [right, bottom], [left, bottom], [left, top]])
        axes.append(thick_polyline(box, 1.0))
        self.mesh.draw(mvp, np.concatenate(axes), AXIS_COLOR)

    def _scissor(self, band: Band, height: int) -> None:
        left, top, right, bottom = band.rect
        # A tiny target can leave a band with no room: a negative box is a GL error.
        self.ctx.scissor = (
            max(0, math.floor(left)),
            max(0, math.floor(height - bottom)),
            max(0, math.ceil(right - left)),
            max(0, math.ceil(bottom - top)),
        )

    def _draw(
        self, curve, cs, layout: CurveLayout, mvp, labels: list, height: int, axes_shown: bool
    ) -> None:
        main, der = layout.main, layout.derivative
        (x0, x1) = curve.domain[0]
        formula = curve.formula()
        self._band_frame(main, mvp, labels, f"f(x) = {formula}", CURVE_COLOR, axes_shown)
        if der is not None:
            self._band_frame(der, mvp, labels, "f'(x)", DERIVATIVE_COLOR, axes_shown)
        bottom_band = der or main
        for v in nice_ticks(x0, x1, 8) if axes_shown else ():
            px, py = bottom_band.to_pixel(v, bottom_band.y_range[0])
            labels.append(((px, py + 14), format_tick(float(f"{v:.4g}")), TEXT_COLOR))
        xs = curve_samples(curve)
        fv = self._cached("f", curve_key(curve), lambda: curve.f(xs))
        r = readout(curve, cs.x)
        stationary = stationary_points(curve) if cs.show_stationary else []
        point_px = main.to_pixel(cs.x, r.f) if math.isfinite(r.f) else None

        # the curve, clipped to its band
        self._scissor(main, height)
        line = main.to_pixel(*break_at_poles(xs, fv, main.y_range))
        self.mesh.draw(mvp, thick_polyline(line, 2.5), CURVE_COLOR)
        # a guide from the point down through the bands
        if point_px is not None:
            guide_bottom = (der or main).rect[3]
            # from the band's edge when the point is off it (f = 1e38: a million dashes)
            guide_top = min(max(point_px[1], main.rect[1]), main.rect[3])
            self.ctx.scissor = None
            self.mesh.draw(
                mvp,
                _dashed((point_px[0], guide_top), (point_px[0], guide_bottom), 1.0, 6.0),
                GUIDE_COLOR,
            )
            self._scissor(main, height)
        # what a label must not cover: the curve, the tangent, the markers, other labels
        # (segments in pixels; a label's box by its edges and diagonals)
        keep_clear = [(line[:-1], line[1:])]
        placed: list = []  # the verdicts' boxes, for the slope label to keep clear of
        # the tangent line in orange, across the whole band
        if point_px is not None and r.fp is not None:
            seg = tangent_in_band(main, cs.x, r.f, r.fp)
            if seg is not None:
                self.mesh.draw(mvp, thick_polyline(np.array(seg), 3.0), TANGENT_COLOR)
                keep_clear.append((np.array([seg[0]]), np.array([seg[1]])))
        if point_px is not None:
            keep_clear.append(_cross(point_px, 8.0))
        for sp in stationary:
            if math.isfinite(sp.f):
                keep_clear.append(_cross(main.to_pixel(sp.x, sp.f), 7.0))
        self.ctx.scissor = None
        # markers where f' = 0 (or does not exist), with their verdicts
        for sp in stationary:
            if not math.isfinite(sp.f):
                continue
            color = KIND_COLORS[sp.kind]
            px, py = main.to_pixel(sp.x, sp.f)
            if not (main.rect[1] - 2 <= py <= main.rect[3] + 2):
                continue
            self.mesh.draw(mvp, disc((px, py), 7.0), MARKER_RING_COLOR)
            self.mesh.draw(mvp, disc((px, py), 5.0), color)
            up = sp.kind in ("maximum",) or (sp.slopes[0] > 0 > sp.slopes[1])
            half = (3.6 * len(sp.label), 8.0)
            side = 14 + half[0]
            spots = [(px, py + (-18 if up else 18)), (px, py + (18 if up else -18)),
                     (px + side, py), (px - side, py)]  # fmt: skip
            spot = spots[label_spot(spots, half, keep_clear, placed)]
            placed.append(_box(spot, half))
            labels.append((spot, sp.label, color, VERDICT_RANK))
            if der is not None:
                qx, qy = der.to_pixel(sp.x, 0.0)
                self.mesh.draw(mvp, disc((qx, qy), 4.0), color)
        # the point
        if point_px is not None:
            self.mesh.draw(mvp, disc(point_px, 8.0), HALO_COLOR)
            self.mesh.draw(mvp, disc(point_px, 6.0), POINT_COLOR)
            slope = "f' does not exist" if r.fp is None else f"slope {format_number(r.fp, '.3g')}"
            half = 3.6 * len(slope)  # labels are centred; a character is about 7 px
            spots = []
            # beside the point, above or below it, clear of the curve, the tangent and
            # the verdicts; on the band, and right of the point unless past its edge
            for dy in (-16, 16, -32, 32, -48, 48):
                for lx in (point_px[0] + 14 + half, point_px[0] - 14 - half):
                    if lx + half > main.rect[2] + 30 or lx - half < main.rect[0] - 30:
                        continue
                    ly = min(max(point_px[1] + dy, main.rect[1] + 10), main.rect[3] - 10)
                    spots.append((lx, ly))
            if not spots:
                spots = [
                    (point_px[0], min(max(point_px[1] - 16, main.rect[1] + 10), main.rect[3] - 10))
                ]
            spot = spots[label_spot(spots, (half, 8.0), keep_clear, placed)]
            labels.append((spot, slope, TANGENT_COLOR, SLOPE_RANK))

        if der is not None:
            d = self._cached("f'", curve_key(curve), lambda: curve.gradient(xs))
            d[~np.isfinite(fv)] = np.nan  # no f' where f itself is undefined (log(x), x < 0)
            # break the f' line at corners: f' jumps there, it does not pass through
            for sp in stationary_points(curve):
                if sp.kind == "not differentiable":
                    d[min(np.searchsorted(xs, sp.x), len(d) - 1)] = np.nan
            self._scissor(der, height)
            line = der.to_pixel(*break_at_poles(xs, d, der.y_range))
            self.mesh.draw(mvp, thick_polyline(line, 2.0), DERIVATIVE_COLOR)
            self.ctx.scissor = None
            if r.fp is not None:
                q = der.to_pixel(cs.x, r.fp)
                if der.rect[1] <= q[1] <= der.rect[3]:
                    self.mesh.draw(mvp, disc(q, 6.0), HALO_COLOR)
                    self.mesh.draw(mvp, disc(q, 4.5), TANGENT_COLOR)


def _cross(centre, r: float) -> tuple[np.ndarray, np.ndarray]:
    """A marker of radius ``r`` as two segments, for :func:`label_spot`."""
    x, y = float(centre[0]), float(centre[1])
    return np.array([[x - r, y], [x, y - r]]), np.array([[x + r, y], [x, y + r]])


def _box(centre, half) -> tuple[np.ndarray, np.ndarray]:
    """A placed label's box as its four edges and two diagonals, for :func:`label_spot`."""
    x, y = float(centre[0]), float(centre[1])
    w, h = half
    c = np.array([[x - w, y - h], [x + w, y - h], [x + w, y + h], [x - w, y + h]])
    return np.concatenate([c, c[:2]]), np.concatenate([np.roll(c, -1, axis=0), c[2:]])


def break_at_poles(xs, values, y_range) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, values)`` with a NaN sample put between two samples past opposite edges.

    From past one edge of the band to past the other (tan(x), 1/x at a pole) the line
    would cross the whole band: a vertical stroke the function never draws.
    """
    y0, y1 = y_range
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        above, below = v > y1, v < y0
    jump = np.flatnonzero((above[:-1] & below[1:]) | (below[:-1] & above[1:])) + 1
    return np.insert(np.asarray(xs, dtype=np.float64), jump, np.nan), np.insert(v, jump, np.nan)


def curve_samples(curve) -> np.ndarray:
    """The x values the curve is drawn through (and :func:`unshown_note` checks)."""
    (x0, x1) = curve.domain[0]
    return np.linspace(x0, x1, 1200)


def tangent_in_band(band: Band, x: float, f: float, slope: float, pad: float = 4.0):
    """Pixel end points of the tangent y = f + slope (t - x) inside the band, or None.

    Clipped in data units (Python floats: a slope of 1e40 or a point at 1e38, far above
    the band, stay exact where the line meets the band's edges: t = x + (edge - f) /
    slope), then mapped to pixels. ``pad`` pixels of slack on each side.
    """
    left, top, right, bottom = band.rect
    (x0, x1), (y0, y1) = band.x_range, band.y_range
    px, py = pad * (x1 - x0) / (right - left), pad * (y1 - y0) / (bottom - top)
    lo, hi = x0 - px, x1 + px
    e0, e1 = y0 - py, y1 + py
    f, slope = float(f), float(slope)

    def height(t: float) -> float:
        return min(max(f + slope * (t - x), e0), e1)

    if slope == 0.0:
        if not e0 <= f <= e1:
            return None
        ends = [(lo, f), (hi, f)]
    else:
        # where the line meets the bottom and top edges: exact even when the line is
        # vertical to the last bit (both at one t), so the ends keep the edges' heights
        (ta, ya), (tb, yb) = sorted([(x + (e0 - f) / slope, e0), (x + (e1 - f) / slope, e1)])
        if tb < lo or ta > hi:
            return None
        if ta < lo:
            ta, ya = lo, height(lo)
        if tb > hi:
            tb, yb = hi, height(hi)
        ends = [(ta, ya), (tb, yb)]
    return band.to_pixel([t for t, _ in ends], [y for _, y in ends])


def _intervals(xs: np.ndarray, mask: np.ndarray, limit: int = 3) -> str:
    """'[a, b], [c, d]' for the runs of ``mask`` along ``xs`` (at most ``limit``)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs = [(float(xs[i]), float(xs[j - 1])) for i, j in zip(edges[::2], edges[1::2], strict=True)]
    g3 = ".3g"
    text = ", ".join(
        f"[{format_number(a, g3)}, {format_number(b, g3)}]" if b > a else format_number(a, g3)
        for a, b in runs[:limit]
    )
    return text + (f" and {len(runs) - limit} more" if len(runs) > limit else "")


def unshown_note(curve, size: tuple[int, int], show_derivative: bool = True) -> str:
    """One line saying which part of f the 1D view cannot show, or "" when it shows all.

    Two things are left out: x where f is not a finite float64 (overflow, or outside f's
    domain: log(x) for x <= 0), and x where f lies beyond the plotted y range, which is
    chosen from the bulk of the values and never exceeds +-:data:`Y_LIMIT` (poles of 1/x,
    tan(x); exp(exp(exp(x))) past 1e15). Those are clipped at the band's edge.
    """
    layout = curve_layout(curve, size, show_derivative)
    xs = curve_samples(curve)
    fv = curve.f(xs)
    finite = np.isfinite(fv)
    (y0, y1) = layout.main.y_range
    with np.errstate(invalid="ignore"):
        beyond = finite & ((fv < y0) | (fv > y1))
    parts = []
    if not finite.all():
        parts.append(f"f is not a finite number for x in {_intervals(xs, ~finite)} "
                     "(overflow, or outside its domain): not drawn there")  # fmt: skip
    if beyond.any():
        shown = ", ".join(format_number(v, ".3g") for v in (y0, y1))
        parts.append(f"f leaves the plotted range [{shown}] for x in "
                     f"{_intervals(xs, beyond)}: clipped at the edge")  # fmt: skip
    if not parts:
        return ""
    return f"{curve.formula()}: " + "; ".join(parts)


def _dashed(p0, p1, width: float, dash: float) -> np.ndarray:
    p0, p1 = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    length = float(np.hypot(*(p1 - p0)))
    if not length > 0:
        return np.zeros((0, 3), dtype=np.float32)
    n = max(int(length // (2 * dash)), 1)
    t0 = np.arange(n) * 2 * dash / length
    t1 = np.minimum(t0 + dash / length, 1.0)
    parts = [thick_polyline(np.array([p0 + a * (p1 - p0), p0 + b * (p1 - p0)]), width)
             for a, b in zip(t0, t1, strict=True)]  # fmt: skip
    return np.concatenate(parts)
