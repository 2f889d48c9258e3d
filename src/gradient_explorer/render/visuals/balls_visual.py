"""Balls on the surface: instanced lit spheres, trails, per-ball glyphs, basin maps.

Every ball is one instance of a unit-sphere mesh; its centre and colour live in one
buffer written once per frame, so 10,000 balls cost one upload and one draw call (two
with the floor map's discs). Centres sit on the displayed surface (world z =
``surface.height``), lifted by the radius along the surface normal so a ball touches it.
Nothing non-finite reaches a buffer: balls whose height is undefined are left out.

Readable at a glance, at any size: every ball has a dark rim, so it stands out on any
colour of the surface; balls, trails and glyphs are drawn twice, first faded with no
depth test (what the surface hides shows through, dimmed: a depth cue) and then
normally. Trails and glyphs are screen-space ribbons a few pixels wide (core-profile GL
lines are one pixel) built on the CPU from the frame's view-projection.

Glyphs (toggled in the descent panel) are numpy geometry from :func:`glyph_geometry`:
the gradient's x and y components as arrows, the velocity (momentum), the step actually
taken, and for adaptive methods the per-axis second moment as a rectangle whose sides are
``scale * sqrt(accumulator)``, the same scale as the gradient arrows (both are gradient
sizes). Each kind has its palette colour; one shorter than ``MIN_GLYPH_PX`` on screen is
drawn at that length (the direction still reads), unless it is under a thousandth of the
longest of its kind (then it does not matter and is left out).

A swarm colours each ball by the basin it is in (the known minimum it is reaching,
:meth:`~gradient_explorer.app.descent_mode.DescentState.basins`) and paints each ball's start
on the floor map in that colour: the basins of attraction appear as a map.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import moderngl
import numpy as np

from gradient_explorer.render.geometry import clip_steps, height_gradient, sphere_mesh
from gradient_explorer.render.palette import (
    GLYPH_COLORS,
    OUTLINE_COLOR,
    STATUS_COLORS,
    basin_colors,
)
from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.render.visuals._gl import GrowableBuffer, gl_state, set_uniforms
from gradient_explorer.render.visuals.field_visual import field_length_scale
from gradient_explorer.render.visuals.mesh_visual import MeshVisual
from gradient_explorer.render.visuals.ribbon_mesh import RibbonMesh
from gradient_explorer.render.visuals.visual import FrameUniforms, Visual
from gradient_explorer.view.camera import gl_bytes

__all__ = [
    "STATUS_RGB",
    "BallsData",
    "BallsVisual",
    "GlyphGeometry",
    "ScreenFrame",
    "ball_centers",
    "ball_colors",
    "ball_radius",
    "edge_marks",
    "glyph_geometry",
    "glyph_scale",
    "merge_short_pieces",
    "rectangles",
    "ribbon_ends",
    "ribbon_triangles",
    "screen_arrows",
    "screen_ribbons",
    "start_splats",
]

#: running, converged, diverged (the order of ``Descent.status_codes``)
STATUS_RGB = np.array(
    [STATUS_COLORS[s][:3] for s in ("running", "converged", "diverged")], dtype=np.float64
)
MAX_GLYPH_BALLS = 2000
COARSE_ABOVE = 200  # balls drawn with the coarse sphere beyond this many
TRAIL_BUDGET = 60_000  # trail points per frame, shared by all balls (a swarm: 6 each)
OCCLUDED_ALPHA = 0.4  # what the surface hides shows through this faded
BALL_OCCLUDED_ALPHA = 0.65  # a hidden ball is what matters most: less faded
TRAIL_SUBDIVISIONS = 8  # pieces per step of a few balls' trails
MIN_PIECE_PX = 1.0  # shorter trail pieces on screen are merged (merge_short_pieces)
EDGE_MARK = 0.02  # half-length of the bar where a trail leaves the domain (x extent)
TRAIL_PX = 3.0  # trail width for a few balls (a swarm's: one-pixel lines)
GLYPH_PX = 3.0  # arrow shaft and rectangle line width
HEAD_PX = 11.0  # arrowhead length
MIN_GLYPH_PX = 14.0  # the shortest glyph that matters is drawn at least this long
OUTLINE_PX = 1.0  # dark border around trails and glyphs
BALL_OUTLINE_PX = 1.5  # the dark shell around each ball
FLOOR_BIAS = 2e-4  # NDC depth: paint on the floor map is drawn over the floor
IDENTITY = gl_bytes(np.eye(4))  # ribbons are built in clip space (NDC) already


def ball_radius(surface, n: int) -> float:
    """World radius: big for a few balls, smaller for a swarm so the surface shows."""
    extent = surface.extent
    if n <= 10:
        return 0.02 * extent
    return max(0.004, 0.02 * (10.0 / n) ** 0.25) * extent


def ball_centers(surface, positions: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """World centres ``(n, 3)`` of balls resting on the displayed surface, and a mask.

    The mask is False where the height or the normal is not finite (those balls are not
    drawn); their rows hold zeros, never NaN.
    """
    xy = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    h, gh = height_gradient(surface, xy)
    with np.errstate(all="ignore"):
        normal = np.column_stack([-gh, np.ones(len(xy))])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        centers = np.column_stack([xy, h]) + radius * normal
    ok = np.all(np.isfinite(centers), axis=1)
    centers[~ok] = 0.0
    return centers, ok


def glyph_scale(surface) -> float:
    """Domain units per unit of gradient: typical gradients get about 1/8 of the domain."""
    scale, _cap = field_length_scale(surface, 8)
    return scale


@dataclass(frozen=True)
class ScreenFrame:
    """The frame's world-to-clip matrix ``M`` (``clip = M @ [p, 1]``) and pixel size."""

    matrix: np.ndarray
    size: tuple[int, int]
    pixels_per_unit_at_w1: float  # viewport height * P[1, 1] / 2

    def clip(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        m = self.matrix
        out = np.empty((len(p), 4))
        for j in range(4):  # by columns: a (n, 3) @ (3, 4) matmul was 10x slower here
            out[:, j] = p[:, 0] * m[j, 0] + p[:, 1] * m[j, 1] + p[:, 2] * m[j, 2] + m[j, 3]
        return out

    def biased(self, bias: float) -> bytes:
        """The matrix as a uniform, with NDC depth pulled ``bias`` toward the eye.

        Paint on the floor map (``FLOOR_BIAS``) then wins the depth test against the
        floor it lies on; a lift in world units is lost to depth precision far away.
        """
        m = self.matrix.copy()
        m[2] -= bias * m[3]  # z_clip - bias * w: NDC z - bias
        return gl_bytes(m)

    def world_per_pixel(self, points: np.ndarray) -> np.ndarray:
        """World length of one pixel at ``points`` (across the line of sight)."""
        w = self.clip(points)[:, 3]
        return np.abs(w) / max(self.pixels_per_unit_at_w1, 1e-12)


def _to_pixels(frame: ScreenFrame, points):
    """Pixel xy (origin at the centre, y up), NDC depth, and a mask of usable points."""
    c = frame.clip(points)
    with np.errstate(all="ignore"):
        ok = np.all(np.isfinite(c), axis=1) & (c[:, 3] > 1e-9)
        w = np.where(ok, c[:, 3], 1.0)
        half = 0.5 * np.asarray(frame.size, dtype=np.float64)
        return c[:, :2] / w[:, None] * half, c[:, 2] / w, ok


def _from_pixels(frame: ScreenFrame, xy: np.ndarray, z: np.ndarray) -> np.ndarray:
    half = 0.5 * np.asarray(frame.size, dtype=np.float64)
    return np.concatenate([xy / half, z[..., None]], axis=-1)


def screen_ribbons(frame: ScreenFrame, a, b, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Segments ``a -> b`` (world) as ribbons ``width`` pixels wide, in NDC.

    Returns triangles ``(m * 6, 3)`` float32 and the mask of segments kept (both ends in
    front of the eye). Each ribbon runs half a width past its ends, so a polyline's
    segments overlap at the joints instead of leaving notches.
    """
    ends = ribbon_ends(frame, a, b)
    return ribbon_triangles(frame, ends, width), ends[-1]


def ribbon_ends(frame: ScreenFrame, a, b) -> tuple:
    """The pixel ends of segments ``a -> b`` (world), for :func:`ribbon_triangles`: the
    projection a trail's outline and fill share. The last item is the mask of segments
    kept (both ends in front of the eye)."""
    pa, za, oka = _to_pixels(frame, a)
    pb, zb, okb = _to_pixels(frame, b)
    keep = oka & okb
    return pa[keep], pb[keep], za[keep], zb[keep], keep


def ribbon_triangles(frame: ScreenFrame, ends: tuple, width: float) -> np.ndarray:
    """:func:`screen_ribbons`' triangles from :func:`ribbon_ends`."""
    pa, pb, za, zb, _ = ends
    d = pb - pa
    length = np.linalg.norm(d, axis=1)
    u = np.where(length[:, None] > 1e-9, d / np.maximum(length, 1e-9)[:, None], [[1.0, 0.0]])
    h = 0.5 * width
    n = np.column_stack([-u[:, 1], u[:, 0]]) * h
    pa, pb = pa - u * h, pb + u * h
    # depth runs on along the segment past its ends: a wider outline and its fill then
    # have the same depth at every pixel (the fill is never refused by its outline)
    dz = (zb - za) * h / np.maximum(length, 1e-9)
    za, zb = za - dz, zb + dz
    xy = np.stack([pa + n, pa - n, pb - n, pa + n, pb - n, pb + n], axis=1)
    z = np.stack([za, za, zb, za, zb, zb], axis=1)
    return _from_pixels(frame, xy, z).reshape(-1, 3).astype(np.float32)


def _along_surface(surface, p0, p1, ts, lift: float) -> tuple:
    """Segments ``p0 -> p1`` (domain ``(m, 2)``) cut at ``ts`` along each and lifted
    ``lift`` over the surface: the pieces' world ends ``a``, ``b`` (``(m * (len(ts) - 1),
    3)``) and which are finite."""
    dense = p0[:, None] + (p1 - p0)[:, None] * ts[None, :, None]  # (m, len(ts), 2)
    world = np.concatenate([dense, surface.height(dense)[..., None] + lift], axis=2)
    a, b = world[:, :-1].reshape(-1, 3), world[:, 1:].reshape(-1, 3)
    return a, b, np.all(np.isfinite(a), 1) & np.all(np.isfinite(b), 1)


def trail_pieces(frame: ScreenFrame, surface, p0, p1, lift: float, most: int) -> tuple:
    """Steps ``p0 -> p1`` (domain ``(m, 2)``) lifted ``lift`` over the surface, each cut
    in as many pieces as it is pixels long on screen, at most ``most``: a long step
    follows the surface between its ends (a chord would cut into it), while a step
    under a pixel stays one piece (its cuts would be merged again:
    :func:`merge_short_pieces`). A step with an end behind the eye gets ``most``.

    Returns the pieces' world ends ``a``, ``b`` (``(k, 3)``; a step's pieces in order,
    its first starting at ``p0``'s point and its last ending at ``p1``'s), which are
    finite, and each step's number of pieces ``(m,)``. The cut points are
    ``p0 + (p1 - p0) * j / n`` as :func:`_along_surface` cuts them.
    """
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 2)
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 2)
    m = len(p0)
    ends_xy = np.concatenate([p0, p1])
    ends = np.column_stack([ends_xy, surface.height(ends_xy) + lift])
    px, _z, ok = _to_pixels(frame, ends)
    with np.errstate(invalid="ignore"):
        length = np.linalg.norm(px[m:] - px[:m], axis=1)
        seen = ok[:m] & ok[m:] & np.isfinite(length)
        count = np.where(seen, np.ceil(length / MIN_PIECE_PX), most)
    count = np.clip(count, 1, most).astype(np.int64)
    if m == 0 or count.max() == 1:  # a slow ball: every step under a pixel, one piece each
        finite = np.all(np.isfinite(ends), 1)
        return ends[:m], ends[m:], finite[:m] & finite[m:], count
    # each step's points in order: its start, its inner cuts, its end
    first = np.cumsum(count + 1) - (count + 1)
    last = first + count
    points = np.empty((int(last[-1]) + 1, 3))
    points[first] = ends[:m]
    points[last] = ends[m:]
    starts = np.ones(len(points), dtype=bool)  # the points a piece starts at
    starts[last] = False
    inner = count - 1
    if inner.any():
        step = np.repeat(np.arange(m), inner)
        cut = starts.copy()
        cut[first] = False
        where = np.flatnonzero(cut)
        xy = p0[step] + (p1 - p0)[step] * ((where - first[step]) / count[step])[:, None]
        points[where] = np.column_stack([xy, surface.height(xy) + lift])
    rows = np.flatnonzero(starts)
    finite = np.all(np.isfinite(points), 1)
    return points[rows], points[rows + 1], finite[rows] & finite[rows + 1], count


def edge_marks(p0, p1, a, b, domain, half: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Short bars along the domain's edge where a trail leaves or comes back.

    ``p0 -> p1`` are steps and ``a -> b`` the same steps cut to the domain
    (:func:`clip_steps`): where ``b`` is not ``p1`` the ball left there, where ``a`` is
    not ``p0`` it came back. Each such point gets a bar ``2 * half`` long along the edge
    it lies on (inside the domain), so that a trail ending at the edge reads as "the ball
    went on, out of the picture". Returns the bars' ends ``(k, 2)`` and the index of the
    step each belongs to.
    """
    p0, p1 = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    box = np.asarray(domain, dtype=np.float64).reshape(-1, 2)
    finite = np.all(np.isfinite(p0), axis=1) & np.all(np.isfinite(p1), axis=1)
    points = np.concatenate([b, a])
    crossed = np.concatenate([np.any(b != p1, axis=1), np.any(a != p0, axis=1)])
    crossed &= np.concatenate([finite, finite])
    step = np.concatenate([np.arange(len(b)), np.arange(len(a))])[crossed]
    e = points[crossed]
    if len(e) == 0 or box.shape != (2, 2):
        empty = np.zeros((0, 2))
        return empty, empty, np.zeros(0, dtype=np.int64)
    span = box[:, 1] - box[:, 0]
    tol = 1e-9 * span
    on_x_edge = (np.abs(e[:, 0] - box[0, 0]) <= tol[0]) | (np.abs(e[:, 0] - box[0, 1]) <= tol[0])
    along = np.where(on_x_edge[:, None], [0.0, 1.0], [1.0, 0.0])  # the edge's direction
    lo = np.clip(e - half * along, box[:, 0], box[:, 1])
    hi = np.clip(e + half * along, box[:, 0], box[:, 1])
    return lo, hi, step


def merge_short_pieces(frame: ScreenFrame, a, b, colors, min_px: float = MIN_PIECE_PX):
    """Consecutive trail pieces ``a -> b`` (world ``(m, 3)``, finite) shorter than ``min_px`` on
    screen, merged into segments about ``min_px`` long.

    A trail's pieces overlap by a ribbon's width at every joint, so where a ball moves
    slowly dozens of them cover each pixel, each one more small triangle and one more
    blend. Pieces join a group while the group is under ``min_px`` long on screen; a
    chain breaks where one piece does not start at the previous one's end, and pieces
    with an end behind the eye stay alone. Returns the segments' ``a``, ``b``, the
    colour of each group's last piece and each segment's number of pieces ``k``: drawn
    with alpha 1 - (1 - alpha)^k, as opaque as the k blends it stands for
    (``ribbons.glsl``). Segments of at least ``min_px`` come out as they went in.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 3)
    colors = np.asarray(colors)
    m = len(a)
    if m < 2:
        return a, b, colors, np.ones(m)
    # a piece's end is mostly the next one's start: each such joint is projected once
    # (row by row, so its pixels are the same either way)
    shared = np.zeros(m, dtype=bool)
    shared[:-1] = np.all(b[:-1] == a[1:], axis=1)
    alone = np.flatnonzero(~shared)
    p, _z, ok_points = _to_pixels(frame, np.concatenate([a, b[alone]]))
    end_row = np.arange(1, m + 1)
    end_row[alone] = m + np.arange(len(alone))
    ok = ok_points[:m] & ok_points[end_row]
    length = np.where(ok, np.linalg.norm(p[end_row] - p[:m], axis=1), 0.0)
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1e-300)
    joined = np.all(np.abs(a[1:] - b[:-1]) <= 1e-9 * scale, axis=1) & ok[1:] & ok[:-1]
    # each chain's length so far at the middle of each piece, in steps of min_px: a new
    # group starts where that step changes, or a chain starts
    total = np.cumsum(length)
    starts = np.concatenate([[True], ~joined])
    chain_origin = np.maximum.accumulate(np.where(starts, total - length, 0.0))
    bins = np.floor((total - 0.5 * length - chain_origin) / max(min_px, 1e-9))
    new = starts.copy()
    new[1:] |= bins[1:] != bins[:-1]
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [m - 1]])
    return a[first], b[last], colors[last], (last - first + 1).astype(np.float64)


def screen_arrows(
    frame: ScreenFrame, starts, vectors, width: float, head: float, grow: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Arrows from ``starts`` along ``vectors`` (world), drawn flat on the screen, in NDC.

    A shaft ``width`` pixels wide and a head ``head`` pixels long (at most 60% of the
    arrow); ``grow`` pixels all round make the dark outline drawn underneath. Returns
    triangles ``(m * 9, 3)`` float32 and the mask of arrows kept (finite, non-zero, in
    front of the eye).
    """
    s = np.asarray(starts, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    ps, zs, oks = _to_pixels(frame, s)
    pt, zt, okt = _to_pixels(frame, s + v)
    d = pt - ps
    length = np.linalg.norm(d, axis=1)
    keep = oks & okt & (length > 1e-6)
    ps, pt, zs, zt, d, length = ps[keep], pt[keep], zs[keep], zt[keep], d[keep], length[keep]
    u = d / length[:, None]
    n = np.column_stack([-u[:, 1], u[:, 0]])
    head_len = np.minimum(head, 0.6 * length)
    tip = pt + u * 2.0 * grow
    base = pt - u * head_len[:, None]
    start = ps - u * grow
    zb = zs + (zt - zs) * (1.0 - head_len / length)
    sh = (0.5 * width + grow) * n
    hw = (0.45 * head_len[:, None] + 1.6 * grow) * n
    xy = np.stack(
        [start + sh, start - sh, base - sh, start + sh, base - sh, base + sh,
         tip, base + hw, base - hw],
        axis=1,
    )  # fmt: skip
    z = np.stack([zs, zs, zb, zs, zb, zb, zt, zb, zb], axis=1)
    return _from_pixels(frame, xy, z).reshape(-1, 3).astype(np.float32), keep


def at_least(vectors: np.ndarray, min_length: np.ndarray, relative: float = 1e-3) -> np.ndarray:
    """``vectors (m, k)`` lengthened to ``min_length (m,)`` where shorter; those under
    ``relative`` times the longest are zeroed (too small to matter: not drawn)."""
    v = np.asarray(vectors, dtype=np.float64)
    with np.errstate(all="ignore"):
        length = np.linalg.norm(v, axis=1)
    finite = np.isfinite(length)
    longest = length[finite].max() if finite.any() else 0.0
    matters = finite & (length > max(relative * longest, 1e-300))
    factor = np.where(
        matters & (length < min_length), min_length / np.where(matters, length, 1.0), 1.0
    )
    return np.where(matters[:, None], v * factor[:, None], 0.0)


@dataclass(frozen=True)
class GlyphGeometry:
    """World geometry of the glyphs of one run (numpy; tested without GL).

    Arrows are ``(starts, vectors)`` pairs of ``(m, 3)`` arrays; ``rectangles`` is
    ``(m, 4, 3)`` corners (counter-clockwise) of the second-moment rectangles.
    """

    gradient_x: tuple[np.ndarray, np.ndarray] | None
    gradient_y: tuple[np.ndarray, np.ndarray] | None
    momentum: tuple[np.ndarray, np.ndarray] | None
    step: tuple[np.ndarray, np.ndarray] | None
    rectangles: np.ndarray | None
    scale: float
    # on a model surface with mini-batches: the whole gradient of this batch and of all data
    batch_gradient: tuple[np.ndarray, np.ndarray] | None = None
    full_gradient: tuple[np.ndarray, np.ndarray] | None = None


def glyph_geometry(descent, centers, ok, options, scale: float, last_step=None) -> GlyphGeometry:
    """Glyphs for the balls of ``descent`` at world ``centers`` (mask ``ok``).

    Parameters
    ----------
    descent : Descent
    centers, ok : ndarray
        From :func:`ball_centers`.
    options : GlyphOptions
        Which glyphs to build.
    scale : float
        Domain units per unit of gradient (:func:`glyph_scale`).
    last_step : ndarray, optional
        ``(n, 2)`` the step each ball took last.
    """
    idx = np.flatnonzero(ok)[:MAX_GLYPH_BALLS]
    c = centers[idx]
    zero = np.zeros(len(idx))

    def flat(vec2: np.ndarray) -> np.ndarray:
        return np.column_stack([vec2[:, 0], vec2[:, 1], zero])

    gx = gy = mom = step = rects = batch = full = None
    if options.gradient and getattr(descent, "batches", None) is not None:
        # SGD's noise: the batch's gradient beside the whole data's, as whole vectors
        batch = (c, flat(descent.gradient[idx] * scale))
        full = (c, flat(descent.full_gradient()[idx] * scale))
    elif options.gradient:
        g = descent.gradient[idx] * scale
        gx = (c, np.column_stack([g[:, 0], zero, zero]))
        gy = (c, np.column_stack([zero, g[:, 1], zero]))
    glyphs = descent.optimizer.glyphs()
    if options.momentum and glyphs["velocity"] is not None:
        v = np.asarray(glyphs["velocity"]).reshape(descent.n, -1)[idx]
        mom = (c, flat(v * scale))
    if options.step and last_step is not None:
        step = (c, flat(np.asarray(last_step).reshape(descent.n, -1)[idx]))
    if options.second_moment and glyphs["second_moment"] is not None:
        v = np.asarray(glyphs["second_moment"]).reshape(descent.n, -1)[idx]
        half = 0.5 * scale * np.sqrt(np.maximum(v, 0.0))
        rects = rectangles(c, half)
    return GlyphGeometry(gx, gy, mom, step, rects, scale, batch, full)


def rectangles(centers: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Corners ``(m, 4, 3)`` of axis-aligned rectangles with half sides ``half (m, 2)``."""
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    xy = centers[:, None, :2] + signs[None] * half[:, None, :]
    z = np.broadcast_to(centers[:, None, 2:3], (len(centers), 4, 1))
    return np.concatenate([xy, z], axis=2)


def ball_colors(ds, i: int) -> np.ndarray:
    """RGB ``(n, 3)`` of the balls of run ``i``: a racer's colour; in a swarm, the colour
    of the basin each ball is in (undecided grey, diverged red); else its status."""
    d = ds.descents[i]
    if ds.kind == "race":
        return np.broadcast_to(np.asarray(ds.colors[i], dtype=np.float64), (d.n, 3))
    if ds.kind == "swarm":
        return basin_colors(ds.basins(i))
    return STATUS_RGB[d.status_codes]


def start_splats(starts: np.ndarray, rgb: np.ndarray, surface, z: float, cover: float = 1.0):
    """Squares ``(n * 6, 3)`` tiling the floor map at ``starts``, with colours ``(n*6, 4)``.

    Each side is ``cover`` times the mean spacing of the starts (domain area / n): 1
    tiles a grid swarm's floor exactly; a random spread needs more to close its gaps
    (later starts then overlap earlier ones).
    """
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    ok = np.all(np.isfinite(starts), axis=1)
    starts, rgb = starts[ok], np.asarray(rgb, dtype=np.float64).reshape(-1, 3)[ok]
    n = len(starts)
    (x0, x1), (y0, y1) = surface.domain
    h = 0.5 * cover * np.sqrt((x1 - x0) * (y1 - y0) / max(n, 1))
    corners = np.array([[-h, -h], [h, -h], [h, h], [-h, -h], [h, h], [-h, h]])
    xy = starts[:, None, :] + corners[None]
    xy[..., 0] = np.clip(xy[..., 0], x0, x1)  # nothing hangs over the floor's edge
    xy[..., 1] = np.clip(xy[..., 1], y0, y1)
    verts = np.concatenate([xy, np.full((n, 6, 1), z)], axis=2).reshape(-1, 3)
    colors = np.column_stack([np.repeat(rgb, 6, axis=0), np.ones(6 * n)])
    return verts.astype(np.float32), colors


class StartMap:
    """A swarm's start map, kept in a vertex buffer of its own: built (:func:`start_splats`)
    and written only when what it shows changes (the starts, their basin colours, the
    surface's drawn shape, the floor's height, the spread), drawn from the buffer on the
    frames between. ``builds`` counts the builds (tests)."""

    def __init__(self, ctx: moderngl.Context, program: moderngl.Program):
        self.ctx = ctx
        self.program = program  # the shared mesh's "lines" program: not ours to release
        self._vertices = GrowableBuffer(ctx, 28, 1024)  # (x, y, z, r, g, b, a) float32
        self._vao = None
        self._vao_for = 0
        self._key = None
        self.count = 0
        self.builds = 0

    def update(self, key, runs, surface, floor_z: float, cover: float) -> None:
        """Build the map of ``runs`` ((starts, rgb) per run) unless ``key`` is the last."""
        if key == self._key:
            return
        parts = [start_splats(starts, rgb, surface, floor_z, cover) for starts, rgb in runs]
        verts = np.concatenate([v for v, _ in parts]) if parts else np.zeros((0, 3))
        colors = np.concatenate([c for _, c in parts]) if parts else np.zeros((0, 4))
        keep = np.all(np.isfinite(verts), axis=1)  # no NaN reaches a GPU buffer
        data = np.hstack([verts[keep], colors[keep]]).astype(np.float32)
        self.count = len(data)
        if self.count:
            self._vertices.write(data)
        if self._vao_for != self._vertices.generation:  # the buffer grew: a new one
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(
                self.program, [(self._vertices.buffer, "3f 4f", "in_position", "in_color")]
            )
            self._vao_for = self._vertices.generation
        self._key = key
        self.builds += 1

    def draw(self, mvp: bytes) -> None:
        if self.count:
            set_uniforms(self.program, {"u_mvp": mvp})
            self._vao.render(moderngl.TRIANGLES, vertices=self.count)

    def release(self) -> None:
        if self._vao is not None:
            self._vao.release()
            self._vao = None
        self._vertices.release()
        self._key = None


def _tangent(surface, centres: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Domain vectors ``(m, 3)`` (z ignored) lifted into the displayed surface's tangent
    plane under each centre: their floor shadow is the vector, and they lie along the
    surface instead of cutting into a slope."""
    _, gh = height_gradient(surface, centres[:, :2])
    out = np.array(vectors, dtype=np.float64)
    out[:, 2] = np.where(np.all(np.isfinite(gh), axis=1), np.sum(gh * out[:, :2], axis=1), 0.0)
    return out


def _rect_edges(rects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four sides of each rectangle as segment ends ``(m * 4, 3)``, ``(m * 4, 3)``."""
    return rects.reshape(-1, 3), np.roll(rects, -1, axis=1).reshape(-1, 3)


@dataclass(frozen=True)
class BallsData:
    """The balls' data: the descent runs, the surface they roll on, its height range,
    and whether the floor map is shown (balls then cast discs on it)."""

    descent: Any  # DescentState (app/descent_mode.py): runs, glyph toggles, basins
    surface: Any
    heights: Any
    floor: bool = False


class BallsVisual(Visual):
    """Draws a :class:`~gradient_explorer.app.descent_mode.DescentState`'s balls and glyphs.

    ``update(BallsData)``, ``draw(frame)``.
    """

    data: BallsData | None = None

    def __init__(self, ctx: moderngl.Context, capacity: int = 1024):
        self.ctx = ctx
        self.program = load_program(ctx, "balls")
        # two levels of detail: a swarm's balls are a few pixels wide
        fine = sphere_mesh((0.0, 0.0, 0.0), 1.0, rings=10, segments=16)
        coarse = sphere_mesh((0.0, 0.0, 0.0), 1.0, rings=4, segments=6)
        self._sphere = ctx.buffer(np.concatenate([fine, coarse]).astype(np.float32).tobytes())
        self._lod = {"fine": (0, len(fine)), "coarse": (len(fine), len(coarse))}
        # per ball: centre and colour, (x, y, z, r, g, b, a) float32
        self._instances = GrowableBuffer(ctx, 28, capacity)
        self._vao = None
        self._vao_for = 0  # the instance buffer generation each vertex array reads
        self._points_program = None
        self._points_vao = None
        self._points_for = 0
        self.mesh = MeshVisual(ctx)
        self.start_map = StartMap(ctx, self.mesh.program)
        self.ribbons = RibbonMesh(ctx)  # trails
        self.drawn = 0  # balls drawn in the last frame (tests, the panel)
        self.last_centers = np.zeros((0, 3))
        self._prepared = None  # (frame, GL calls) from prepare(), for draw(frame)
        self._ops = None  # the GL calls being collected by _build

    def _instanced(self) -> moderngl.VertexArray:
        """The spheres' vertex array, rebuilt when the instance buffer grew."""
        if self._vao_for != self._instances.generation:
            if self._vao is not None:
                self._vao.release()
            self._vao = self.ctx.vertex_array(
                self.program,
                [
                    (self._sphere, "3f", "in_vert"),
                    (self._instances.buffer, "3f 4f/i", "in_center", "in_color"),
                ],
            )
            self._vao_for = self._instances.generation
        return self._vao

    def _depth_cued(self, draw, faded: float = OCCLUDED_ALPHA) -> None:
        """``draw(alpha)`` twice: faded over everything, then at full strength where
        nothing hides it. What the surface hides shows through, dimmed."""
        with gl_state(self.ctx, blend=True):
            with gl_state(self.ctx, depth_test=False):
                draw(faded)
            with gl_state(self.ctx, depth_func="<="):
                draw(1.0)

    def _outlines(self):
        """Dark outlines write no depth: the fill drawn after, a little narrower, is never
        refused by its own outline."""
        return gl_state(self.ctx, depth_mask=False)

    def prepare(self, frame: FrameUniforms) -> None:
        """The numpy work of the next :meth:`draw` of ``frame`` (the balls' centres, the
        trails' segments, the glyphs' triangles), done now, on any thread: it makes no GL
        call. The scene runs it on a helper thread while a software rasterizer's draw
        call of the surface holds the GL thread (:mod:`~gradient_explorer.render.gl_direct`)."""
        self._prepared = (frame, self._build(frame))

    def draw(self, frame: FrameUniforms) -> None:
        """Draw the balls of ``data.descent`` on ``data.surface``."""
        prepared, self._prepared = self._prepared, None
        ops = prepared[1] if prepared is not None and prepared[0] is frame else self._build(frame)
        for op in ops:  # the GL calls, in the order they were made
            op()

    def _build(self, frame: FrameUniforms) -> list:
        """Everything :meth:`draw` does but its GL calls, which come back in order."""
        self._ops = ops = []
        try:
            self._draw(frame)
        finally:
            self._ops = None
        return ops

    def _gl(self, fn, *args, **kwargs) -> None:
        """``fn(*args, **kwargs)`` made GL calls: kept for :meth:`draw` to make in order."""
        self._ops.append(partial(fn, *args, **kwargs))

    def _draw(self, frame: FrameUniforms) -> None:
        data = self.data
        ds = data.descent
        surface = data.surface
        heights = data.heights
        if surface.dim != 2 or ds.surface is not surface:
            self.drawn = 0
            return
        screen = ScreenFrame(frame.mvp, frame.size, frame.pixels_per_unit_at_w1)
        total = sum(d.n for d in ds.descents)
        radius = ball_radius(surface, total)
        all_centers, all_colors = [], []
        per_run = []
        for i, d in enumerate(ds.descents):
            centers, ok = ball_centers(surface, d.finite_positions(), radius)
            rgb = ball_colors(ds, i)
            colors = np.column_stack([rgb, np.ones(d.n)])
            all_centers.append(centers[ok])
            all_colors.append(colors[ok])
            per_run.append((d, centers, ok, rgb))
        centers = np.concatenate(all_centers) if all_centers else np.zeros((0, 3))
        colors = np.concatenate(all_colors) if all_colors else np.zeros((0, 4))
        self.last_centers = centers
        n = len(centers)
        self.drawn = n
        # A swarm's floor is its basin map, at the floor's level even with no floor; its
        # balls' floor shadows and trails would lie in that plane (hidden, or speckled).
        swarm = ds.kind == "swarm"
        if swarm:  # its cached floor geometry lives in GL buffers: made where it is drawn
            self._gl(self._start_map, ds, surface, per_run, screen, heights)
        on_floor = data.floor and not swarm
        if ds.glyphs.trails:
            self._trails(ds, surface, per_run, screen, heights, on_floor and ds.glyphs.floor_trails)
        # under the balls: arrows leave each ball
        self._glyphs(ds, surface, per_run, screen, radius)
        if n:
            data32 = np.hstack([centers, colors]).astype(np.float32)
            self._gl(self._spheres, frame, data32, radius, heights.floor_z, on_floor)

    def _spheres(self, frame, data32: np.ndarray, radius: float, floor_z: float, on_floor: bool):
        """The balls whose centres and colours are ``data32``: lit spheres with a dark rim
        (point sprites for a swarm), depth-cued."""
        n = len(data32)
        self._instances.write(data32)  # the one buffer write per frame
        set_uniforms(
            self.program,
            {
                **frame.uniforms(),
                "u_radius": radius,
                "u_on_floor": 0,
                "u_alpha": 1.0,
                "u_outline_px": 0.0,
                "u_pixels_per_unit_at_w1": frame.pixels_per_unit_at_w1,
                "u_floor_z": floor_z,
            },
        )
        if n > COARSE_ABOVE:
            self._render_points(frame, radius, n, on_floor)
            return
        vao = self._instanced()
        first, count = self._lod["fine"]
        if on_floor:
            set_uniforms(self.program, {"u_on_floor": 1, "u_radius": 0.8 * radius})
            vao.render(moderngl.TRIANGLES, vertices=count, first=first, instances=n)
            set_uniforms(self.program, {"u_on_floor": 0, "u_radius": radius})

        def spheres(alpha: float) -> None:
            # the dark rim: a shell a few pixels wider first, then the ball
            set_uniforms(self.program, {"u_alpha": alpha, "u_outline_px": BALL_OUTLINE_PX})
            with self._outlines():
                vao.render(moderngl.TRIANGLES, vertices=count, first=first, instances=n)
            set_uniforms(self.program, {"u_outline_px": 0.0})
            vao.render(moderngl.TRIANGLES, vertices=count, first=first, instances=n)

        self._depth_cued(spheres, BALL_OCCLUDED_ALPHA)

    def _render_points(self, frame: FrameUniforms, radius: float, n: int, on_floor: bool) -> None:
        """A swarm: sphere-shaded point sprites, one vertex per ball."""
        if self._points_vao is None or self._points_for != self._instances.generation:
            if self._points_vao is not None:  # the instance buffer grew
                self._points_vao.release()
            self._points_program = self._points_program or load_program(self.ctx, "ball_points")
            self._points_vao = self.ctx.vertex_array(
                self._points_program,
                [(self._instances.buffer, "3f 4f", "in_center", "in_color")],
            )
            self._points_for = self._instances.generation
        program = self._points_program
        set_uniforms(
            program,
            {
                "u_mvp": frame.mvp_bytes,
                "u_radius": radius,
                "u_pixels_per_unit_at_w1": frame.pixels_per_unit_at_w1,
                "u_on_floor": 0,
                "u_alpha": 1.0,
                "u_floor_z": self.data.heights.floor_z,
                "u_light_view": tuple(float(v) for v in frame.light_view),
            },
        )
        with gl_state(self.ctx, program_point_size=True):
            if on_floor:  # see draw(): a swarm's floor is its basin map
                set_uniforms(program, {"u_on_floor": 1, "u_radius": 0.8 * radius})
                self._points_vao.render(moderngl.POINTS, vertices=n)
                set_uniforms(program, {"u_on_floor": 0, "u_radius": radius})

            def points(alpha: float) -> None:
                set_uniforms(program, {"u_alpha": alpha})
                self._points_vao.render(moderngl.POINTS, vertices=n)

            self._depth_cued(points, BALL_OCCLUDED_ALPHA)

    def _start_map(self, ds, surface, per_run, frame: ScreenFrame, heights) -> None:
        """A swarm: each start painted on the floor in its ball's basin colour."""
        cover = 1.0 if ds.swarm_grid else 2.5  # random: holes in ~0.2 % of the area
        runs = [(ds.start_positions(i), rgb) for i, (_d, _c, _ok, rgb) in enumerate(per_run)]
        # comparing the bytes costs a copy of them; building costs 6 vertices a ball
        key = (
            surface.draw_key(),
            float(heights.floor_z),
            cover,
            tuple((starts.tobytes(), np.asarray(rgb).tobytes()) for starts, rgb in runs),
        )
        self.start_map.update(key, runs, surface, heights.floor_z, cover)
        self.start_map.draw(frame.biased(FLOOR_BIAS))

    def _trails(self, ds, surface, per_run, frame: ScreenFrame, heights, floor: bool) -> None:
        total = sum(d.n for d in ds.descents)
        if total == 0:
            return
        keep = int(max(2, min(TRAIL_BUDGET // total, 512)))
        few = total <= 20
        width = TRAIL_PX if few else 1.0
        segs_a, segs_b, cols, floor_a, floor_b, floor_cols = [], [], [], [], [], []
        lift = 0.003 * surface.extent
        # a few balls' trails follow the surface along their long steps (trail_pieces);
        # a swarm's steps are chords; the edge marks are cut in TRAIL_SUBDIVISIONS
        sub = TRAIL_SUBDIVISIONS if few else 1
        ts = np.arange(sub + 1) / sub
        for d, _centers, _ok, rgb in per_run:
            pts, lengths = d.trails()
            length = pts.shape[1]
            k = min(keep, length)
            if k < 2:
                continue
            pts = pts[:, length - k :]
            valid = np.arange(length - k, length)[None, :] >= (length - lengths)[:, None]
            pair = valid[:, :-1] & valid[:, 1:]
            p0, p1 = pts[:, :-1][pair], pts[:, 1:][pair]  # (m, 2) step ends
            # a step out of the domain (Newton's first jumps) is drawn up to its edge:
            # beyond it there is no surface to follow, only a line across the picture
            q0, q1 = p0, p1
            p0, p1, inside = clip_steps(p0, p1, surface.domain)
            seg_rgb = np.broadcast_to(np.asarray(rgb)[:, None, :], (d.n, k - 1, 3))[pair]
            marks = None
            cut = not inside.all() or np.any(p0 != q0[inside]) or np.any(p1 != q1[inside])
            if few and cut:
                # where a trail leaves the domain or comes back: a bar along the edge
                m0, m1, which = edge_marks(
                    q0[inside], q1[inside], p0, p1, surface.domain, EDGE_MARK * surface.extent
                )
                marks = (m0, m1, np.column_stack([seg_rgb[inside][which], np.ones(len(which))]))
            if few:
                a, b, good, pieces = trail_pieces(frame, surface, p0, p1, lift, sub)
            else:
                a, b, good = _along_surface(surface, p0, p1, ts, lift)
                pieces = 1
            # older segments fade out
            fade = np.broadcast_to(np.linspace(0.3, 1.0, k - 1)[None, :], pair.shape)[pair]
            seg_col = np.column_stack([seg_rgb, fade])[inside]
            sub_col = np.repeat(seg_col, pieces, axis=0)
            segs_a.append(a[good])
            segs_b.append(b[good])
            cols.append(sub_col[good])
            if marks is not None:  # on the surface along the edge, as the trails are
                m0, m1, mcol = marks
                ma, mb, ok = _along_surface(surface, m0, m1, ts, lift)
                segs_a.append(ma[ok])
                segs_b.append(mb[ok])
                cols.append(np.repeat(mcol, sub, axis=0)[ok])
            if floor:
                z = np.full(len(p0), heights.floor_z)
                floor_a.append(np.column_stack([p0, z]))
                floor_b.append(np.column_stack([p1, z]))
                floor_cols.append(seg_col)
                if marks is not None:
                    zm = np.full(len(marks[0]), heights.floor_z)
                    floor_a.append(np.column_stack([marks[0], zm]))
                    floor_b.append(np.column_stack([marks[1], zm]))
                    floor_cols.append(marks[2])
        if floor_a:
            self._ribbons(frame, floor_a, floor_b, floor_cols, width, few, cued=False, floor=True)
        if segs_a:
            # a swarm's trails are not worth a second pass through the surface
            self._ribbons(frame, segs_a, segs_b, cols, width, outline=few, cued=few)

    def _ribbons(self, frame, a, b, colors, width, outline: bool, cued: bool, floor=False):
        """Trails as ribbons; ``cued``: depth-cued; ``floor``: on the floor map."""
        a, b, colors = np.concatenate(a), np.concatenate(b), np.concatenate(colors)
        if width <= 1.0:  # a swarm's many trails: one-pixel GL lines are enough, and cheap
            ends = np.stack([a, b], axis=1).reshape(-1, 3)
            mvp = frame.biased(FLOOR_BIAS if floor else 0.0)
            self._gl(self._lines, mvp, ends, np.repeat(colors, 2, axis=0))
            return
        # widened on the GPU (ribbons.glsl, as screen_ribbons would): uploaded once for
        # the outline and the fill of both passes; sub-pixel pieces merged
        self._gl(self.ribbons.write, RibbonMesh.pack(*merge_short_pieces(frame, a, b, colors)))
        mvp, bias = gl_bytes(frame.matrix), FLOOR_BIAS if floor else 0.0

        def draw(alpha: float) -> None:
            if outline:
                with self._outlines():
                    self.ribbons.draw(
                        mvp, frame.size, width + 2 * OUTLINE_PX, alpha, OUTLINE_COLOR, bias
                    )
            self.ribbons.draw(mvp, frame.size, width, alpha, None, bias)

        self._gl(self._depth_cued if cued else self._blended, draw)

    def _lines(self, mvp: bytes, ends: np.ndarray, colors: np.ndarray) -> None:
        with gl_state(self.ctx, blend=True):
            self.mesh.draw(mvp, ends, colors, moderngl.LINES)

    def _blended(self, draw) -> None:
        with gl_state(self.ctx, blend=True):
            draw(1.0)

    def _glyphs(self, ds, surface, per_run, frame: ScreenFrame, radius: float) -> None:
        g = ds.glyphs
        phase = ds.current_phase()
        if not (g.gradient or g.momentum or g.step or g.second_moment or phase):
            return
        scale = glyph_scale(surface)
        arrows: dict[str, list] = {}
        rects: dict[str, list] = {}
        for i, (d, centers, ok, _rgb) in enumerate(per_run):
            geo = glyph_geometry(d, centers, ok, g, scale, ds.last_steps(i))
            for kind in (
                "gradient_x",
                "gradient_y",
                "full_gradient",
                "batch_gradient",
                "momentum",
                "step",
            ):
                pair = getattr(geo, kind)
                if pair is not None:
                    arrows.setdefault(kind, []).append(pair)
            if geo.rectangles is not None:
                rects.setdefault("second_moment", []).append(geo.rectangles)
            if phase is not None and phase.vectors[i] is not None:
                self._phase_glyphs(phase, i, centers, ok, scale, arrows, rects)
        parts = []  # (outline triangles, fill triangles, colour)
        for kind, pairs in arrows.items():
            centres = np.concatenate([p[0] for p in pairs])
            vectors = np.concatenate([p[1] for p in pairs])
            # at least MIN_GLYPH_PX on screen, drawn from the ball's rim so none hides in it
            vectors = at_least(vectors, MIN_GLYPH_PX * frame.world_per_pixel(centres))
            vectors = _tangent(surface, centres, vectors)
            with np.errstate(all="ignore"):
                unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            starts = centres + np.nan_to_num(unit) * radius
            outline, _ = screen_arrows(frame, starts, vectors, GLYPH_PX, HEAD_PX, OUTLINE_PX)
            fill, _ = screen_arrows(frame, starts, vectors, GLYPH_PX, HEAD_PX)
            parts.append((outline, fill, GLYPH_COLORS[kind]))
        for kind, groups in rects.items():
            r = np.concatenate(groups)
            centre = r.mean(axis=1)
            half = 0.5 * (r[:, 2, :2] - r[:, 0, :2])
            # half sides reach at least MIN_GLYPH_PX / 2 past the ball
            smallest = radius + 0.5 * MIN_GLYPH_PX * frame.world_per_pixel(centre)
            size = np.abs(half).max(axis=1)
            matters = size > 1e-3 * (size.max() if len(size) else 0.0)
            half = np.maximum(np.abs(half), smallest[:, None])
            corners = rectangles(centre, half)[matters]
            c = centre[matters]
            offsets = corners - c[:, None]
            corners[..., 2] += _tangent(surface, c.repeat(4, 0), offsets.reshape(-1, 3))[
                :, 2
            ].reshape(-1, 4)
            a, b = _rect_edges(corners)
            ends = ribbon_ends(frame, a, b)
            outline = ribbon_triangles(frame, ends, GLYPH_PX + 2 * OUTLINE_PX)
            fill = ribbon_triangles(frame, ends, GLYPH_PX)
            parts.append((outline, fill, GLYPH_COLORS[kind]))
        if not parts:
            return

        def draw(alpha: float) -> None:
            with self._outlines():  # as for the trails'
                for outline, _fill, _color in parts:
                    self.mesh.draw(IDENTITY, outline, (*OUTLINE_COLOR, 0.7 * alpha))
            for _outline, fill, color in parts:
                self.mesh.draw(IDENTITY, fill, (*color[:3], alpha))

        self._gl(self._depth_cued, draw)

    @staticmethod
    def _phase_glyphs(phase, i, centers, ok, scale, arrows, rects) -> None:
        """Step by step: the phase's vectors at each ball, in the phase colour."""
        rows = phase.indices[i]
        vec = phase.vectors[i]
        keep = ok[rows]
        c, v = centers[rows][keep], vec[keep]
        if v.shape[1] != 2:
            return
        if phase.name in ("accumulate", "rescaling"):
            half = 0.5 * scale * (np.sqrt(np.maximum(v, 0)) if phase.name == "accumulate" else v)
            half = np.where(np.isfinite(half), np.abs(half), 0.0)
            rects.setdefault("phase", []).append(rectangles(c, half))
            return
        k = 1.0 if phase.name == "step" else scale
        arrows.setdefault("phase", []).append((c, np.column_stack([v * k, np.zeros(len(v))])))

    def release(self) -> None:
        for vao in (self._vao, self._points_vao):  # vertex arrays first, then buffers
            if vao is not None:
                vao.release()
        self._vao = self._points_vao = None
        self._instances.release()
        if self.start_map is not None:
            self.start_map.release()
            self.start_map = None
        if self._sphere is not None:
            self._sphere.release()
            self._sphere = None
        for program in (self.program, self._points_program):
            if program is not None:
                program.release()
        self.program = self._points_program = None
        if self.mesh is not None:
            self.mesh.release()
            self.mesh = None
        if self.ribbons is not None:
            self.ribbons.release()
            self.ribbons = None
