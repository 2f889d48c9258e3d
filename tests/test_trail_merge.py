"""The merge of a trail's short pieces projects each shared joint once: it gives what
projecting both ends of every piece gave, bit for bit."""

from __future__ import annotations

import numpy as np

from gradient_explorer.app.state import AppState
from gradient_explorer.render.visuals.balls_visual import (
    ScreenFrame,
    _along_surface,
    _to_pixels,
    merge_short_pieces,
)
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import Surface

TS = np.arange(9) / 8  # a step cut in eight pieces, as a few balls' trails are


def _walk(rng, surface, steps, size=0.02):
    (x0, x1), (y0, y1) = surface.domain
    start = rng.uniform([x0, y0], [x1, y1])
    moves = rng.normal(scale=size * (x1 - x0), size=(steps, 2))
    return np.clip(start + np.cumsum(moves, axis=0), [x0, y0], [x1, y1])


def _merge_projecting_every_end(frame, a, b, colors, min_px=1.0):
    """merge_short_pieces as it was: both ends of every piece projected."""
    m = len(a)
    ends = np.concatenate([a, b])
    p, _z, ok_ends = _to_pixels(frame, ends)
    ok = ok_ends[:m] & ok_ends[m:]
    length = np.where(ok, np.linalg.norm(p[m:] - p[:m], axis=1), 0.0)
    scale = max(float(np.max(np.abs(ends))), 1e-300)
    joined = np.all(np.abs(a[1:] - b[:-1]) <= 1e-9 * scale, axis=1) & ok[1:] & ok[:-1]
    total = np.cumsum(length)
    starts = np.concatenate([[True], ~joined])
    chain_origin = np.maximum.accumulate(np.where(starts, total - length, 0.0))
    bins = np.floor((total - 0.5 * length - chain_origin) / max(min_px, 1e-9))
    new = starts.copy()
    new[1:] |= bins[1:] != bins[:-1]
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [m - 1]])
    return a[first], b[last], colors[last], (last - first + 1).astype(np.float64)


def test_the_merge_is_what_projecting_every_end_gives():
    surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=16 / 9)
    uniforms = FrameUniforms.from_camera(state.camera, (1280, 720), state.view.light_direction)
    frame = ScreenFrame(uniforms.mvp, uniforms.size, uniforms.pixels_per_unit_at_w1)
    rng = np.random.default_rng(11)
    path = _walk(rng, surface, 300, size=0.002)  # pieces under a pixel: merged
    a, b, _ok = _along_surface(surface, path[:-1], path[1:], TS, 0.01)
    # breaks of every kind: a gap, a joint off by a rounding error (still joined), a
    # point behind the eye (the trails hand in finite pieces only)
    b[100] += 1e-3
    a[201] = b[200] * (1 + 1e-15)
    eye = np.asarray(state.camera.eye, dtype=np.float64)
    a[300] = eye + 5.0 * (eye - a[300])
    b[299] = a[300]
    colors = np.column_stack([rng.uniform(size=(len(a), 3)), np.linspace(0.3, 1, len(a))])
    got = merge_short_pieces(frame, a, b, colors)
    want = _merge_projecting_every_end(frame, a, b, colors)
    assert len(got[0]) < len(a) // 4  # it did merge
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
