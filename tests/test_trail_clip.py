"""A trail that leaves the domain is drawn up to the domain's edge, not as a line across
the picture to where the ball went (Newton's first steps on the banana)."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState
from gradient_explorer.surfaces.surface import Surface

pytest.importorskip("moderngl")

from gradient_explorer.render.geometry import clip_steps
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.visuals import balls_visual

DOMAIN = ((-2.0, 2.0), (-1.0, 3.0))


@pytest.fixture
def renderer(ctx):
    r = HeadlessRenderer(ctx, grid=64)
    yield r
    r.release()


def _inside_by_sampling(p0, p1, samples=200_001):
    """The first and last points of the step inside the domain, by brute force."""
    t = np.linspace(0.0, 1.0, samples)
    pts = p0 + t[:, None] * (p1 - p0)
    (x0, x1), (y0, y1) = DOMAIN
    inside = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
    if not inside.any():
        return None
    return pts[inside][0], pts[inside][-1]


def test_steps_inside_the_domain_are_returned_bit_for_bit(rng):
    p0 = rng.uniform((-2, -1), (2, 3), size=(500, 2))
    p1 = rng.uniform((-2, -1), (2, 3), size=(500, 2))
    p1[:5] = p0[:5]  # steps of length zero
    p1[5:10, 0] = p0[5:10, 0]  # along an axis
    a, b, keep = clip_steps(p0, p1, DOMAIN)
    assert keep.all()
    np.testing.assert_array_equal(a, p0)
    np.testing.assert_array_equal(b, p1)


def test_steps_that_cross_the_edge_are_cut_where_sampling_finds_the_edge(rng):
    p0 = rng.uniform((-6, -5), (6, 7), size=(400, 2))
    p1 = rng.uniform((-6, -5), (6, 7), size=(400, 2))
    p1[:20, 1] = p0[:20, 1]  # horizontal steps, some of them outside in y
    a, b, keep = clip_steps(p0, p1, DOMAIN)
    got = iter(zip(a, b, strict=True))
    for i in range(len(p0)):
        expected = _inside_by_sampling(p0[i], p1[i])
        assert keep[i] == (expected is not None) or _barely(p0[i], p1[i]), i
        if keep[i]:
            ai, bi = next(got)
            if expected is not None:
                step = np.linalg.norm(p1[i] - p0[i]) / 200_000
                assert np.linalg.norm(ai - expected[0]) <= step + 1e-12
                assert np.linalg.norm(bi - expected[1]) <= step + 1e-12
            (x0, x1), (y0, y1) = DOMAIN
            for q in (ai, bi):
                assert x0 - 1e-12 <= q[0] <= x1 + 1e-12 and y0 - 1e-12 <= q[1] <= y1 + 1e-12


def _barely(p0, p1) -> bool:
    # a step grazing a corner can touch the domain between two samples
    a, b, keep = clip_steps(p0[None], p1[None], DOMAIN)
    return bool(keep[0]) and np.linalg.norm(b[0] - a[0]) < np.linalg.norm(p1 - p0) / 1e5


def test_steps_wholly_outside_are_dropped_and_non_finite_ones_kept_for_the_trail_to_drop():
    p0 = np.array([[3.0, 0.0], [-5.0, -5.0], [0.0, 4.0], [np.nan, 0.0], [0.0, 0.0]])
    p1 = np.array([[4.0, 1.0], [-5.0, 5.0], [1.0, 5.0], [0.0, 0.0], [np.inf, 0.0]])
    a, b, keep = clip_steps(p0, p1, DOMAIN)
    assert keep.tolist() == [False, False, False, True, True]
    np.testing.assert_array_equal(a, p0[3:])
    np.testing.assert_array_equal(b, p1[3:])


@pytest.mark.gl
def test_newtons_jump_out_of_the_banana_is_not_drawn_outside_its_domain(renderer, monkeypatch):
    banana = Surface.named("banana")
    state = AppState.for_surface(banana, aspect=4 / 3)
    ds = state.descent
    ds.optimizer = "newton"
    ds.start_run(banana, (-1.2, 1.0))
    ds.step(3)
    pts, _ = ds.descents[0].trails()
    (x0, x1), (y0, y1) = banana.domain
    path = pts[0][np.all(np.isfinite(pts[0]), axis=1)]
    outside = (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    assert outside.any(), "the case needs a step out of the domain"
    drawn = []
    pack = balls_visual.RibbonMesh.pack  # the trails' vertices, before they are uploaded

    def spy(a, b, colors, pieces=None):
        drawn.append((np.array(a), np.array(b)))
        return pack(a, b, colors, pieces)

    monkeypatch.setattr(balls_visual.RibbonMesh, "pack", staticmethod(spy))
    renderer.render(state, (160, 120), samples=0, overlay=False)
    ends = np.concatenate([np.concatenate([a, b]) for a, b in drawn])
    assert len(ends) > 2
    tol = 1e-9
    assert np.all((ends[:, 0] >= x0 - tol) & (ends[:, 0] <= x1 + tol))
    assert np.all((ends[:, 1] >= y0 - tol) & (ends[:, 1] <= y1 + tol))
