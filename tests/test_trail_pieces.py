"""A few balls' trails cut into pieces about a pixel long that follow the surface
(trail_pieces), and the merge of short pieces, which projects each shared joint once and
gives what projecting both ends of every piece gave, bit for bit."""

from __future__ import annotations

import numpy as np

from gradient_explorer.app.state import AppState
from gradient_explorer.render.visuals.balls_visual import (
    ScreenFrame,
    _along_surface,
    _to_pixels,
    merge_short_pieces,
    trail_pieces,
)
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import Surface

TS = np.arange(9) / 8  # a step cut in eight pieces, as a few balls' trails are


def _screen(surface, size=(1280, 720)):
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    uniforms = FrameUniforms.from_camera(state.camera, size, state.view.light_direction)
    return state, ScreenFrame(uniforms.mvp, uniforms.size, uniforms.pixels_per_unit_at_w1)


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


def test_each_step_is_cut_in_as_many_pieces_as_it_is_pixels_long_at_most_eight():
    surface = Surface.named("banana")
    _state, frame = _screen(surface)
    rng = np.random.default_rng(3)
    # tiny steps, steps of a few pixels and long ones (Newton's jumps), end to end
    moves = np.concatenate([rng.normal(scale=s, size=(40, 2)) for s in (0.0005, 0.01, 0.4)])
    (x0, x1), (y0, y1) = surface.domain
    path = np.clip(np.array([-1.0, 1.0]) + np.cumsum(moves, axis=0), [x0, y0], [x1, y1])
    p0, p1 = path[:-1], path[1:]
    lift = 0.01
    a, b, ok, count = trail_pieces(frame, surface, p0, p1, lift, 8)
    assert ok.all() and len(a) == len(b) == count.sum()
    # every point lies `lift` over the surface, where it is
    for pts in (a, b):
        np.testing.assert_array_equal(pts[:, 2], surface.height(pts[:, :2]) + lift)
    # each step's pieces run end to end from its start to its end, in order
    first = np.cumsum(count) - count
    last = first + count - 1
    np.testing.assert_array_equal(a[first, :2], p0)
    np.testing.assert_array_equal(b[last, :2], p1)
    np.testing.assert_array_equal(b[:-1], a[1:])  # and one step's end is the next's start
    # as many pieces as pixels on screen, at most 8
    ends = np.concatenate([p0, p1])
    lifted = np.column_stack([ends, surface.height(ends) + lift])
    px, _z, _ok = _to_pixels(frame, lifted)
    m = len(p0)
    pixels = np.linalg.norm(px[m:] - px[:m], axis=1)
    np.testing.assert_array_equal(count, np.clip(np.ceil(pixels), 1, 8))
    assert (
        (count == 1).sum() >= 30 and (count == 8).sum() >= 20 and ((count > 1) & (count < 8)).any()
    )
    # the cuts are _along_surface's, which cut every step in eight before
    long = np.flatnonzero(count == 8)
    wa, wb, _ = _along_surface(surface, p0[long], p1[long], TS, lift)
    rows = (first[long][:, None] + np.arange(8)).reshape(-1)
    np.testing.assert_array_equal(a[rows], wa)
    np.testing.assert_allclose(b[rows], wb, rtol=0, atol=1e-12)  # a step's end: p1 itself


def test_a_step_with_an_end_behind_the_eye_gets_the_most_pieces():
    surface = Surface.named("banana")
    state, frame = _screen(surface)
    eye = np.asarray(state.camera.eye, dtype=np.float64)
    behind = eye[:2] + 3.0 * (eye[:2] - np.array([0.0, 1.0]))  # beyond the eye, far out
    p0 = np.array([[0.0, 1.0], [0.1, 1.0]])
    p1 = np.array([[0.1, 1.0], behind])
    _a, _b, _ok, count = trail_pieces(frame, surface, p0, p1, 0.01, 8)
    assert count.tolist()[1] == 8


def test_no_steps_no_pieces():
    surface = Surface.named("banana")
    _state, frame = _screen(surface)
    a, b, ok, count = trail_pieces(frame, surface, np.zeros((0, 2)), np.zeros((0, 2)), 0.01, 8)
    assert a.shape == b.shape == (0, 3) and ok.shape == count.shape == (0,)
