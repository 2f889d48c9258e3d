"""The surface's triangles drawn front to back for the eye: the same triangles, the same
picture, only the order (and so the cost on a software rasterizer) changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render.geometry import STRIP_RESTART, grid_strips, surface_grid
from gradient_explorer.render.visuals import surface_visual
from gradient_explorer.render.visuals.surface_visual import draw_order
from gradient_explorer.surfaces.surface import Surface

ORDERS = [(axis, up) for axis in ("rows", "columns") for up in (True, False)]
DOMAIN = ((-2.0, 2.0), (-1.0, 3.0))


@pytest.mark.parametrize(
    ("eye", "order"),
    [
        ((6.0, 1.2, 4.0), ("columns", False)),  # east of the domain: high x first
        ((-6.0, 0.5, 4.0), ("columns", True)),
        ((0.3, 7.0, 4.0), ("rows", False)),  # north: high y first
        ((0.1, -4.4, 3.0), ("rows", True)),  # the home view's side
        ((0.0, 1.0, 9.0), ("rows", True)),  # straight above the centre: any order
        ((math.nan, 0.0, 1.0), ("rows", True)),
    ],
)
def test_the_order_starts_on_the_eyes_side(eye, order):
    assert draw_order(eye, DOMAIN) == order


def test_an_elongated_domain_is_judged_in_its_own_proportions():
    # 3 units east of a domain 20 wide is well inside it; 3 units north of one 2 high is far
    assert draw_order((3.0, 3.0, 5.0), ((-10.0, 10.0), (-1.0, 1.0))) == ("rows", False)


def strip_triangles(indices: np.ndarray) -> list[tuple[int, int, int]]:
    """The triangles GL makes of restart-separated strips: (k, k+1, k+2) in each strip,
    the odd ones turned (k+1, k, k+2) so that all keep one winding."""
    triangles = []
    ends = np.flatnonzero(indices == STRIP_RESTART)
    start = 0
    for end in ends:
        strip = indices[start:end]
        for k in range(len(strip) - 2):
            a, b, c = strip[k], strip[k + 1], strip[k + 2]
            triangles.append((int(b), int(a), int(c)) if k % 2 else (int(a), int(b), int(c)))
        start = end + 1
    assert start == len(indices)  # every strip ended by a restart
    return triangles


def cell_triangles(n: int) -> set[frozenset[int]]:
    """Each cell of the n x n grid cut along the diagonal from (u + 1, v) to (u, v + 1)."""
    out = set()
    for v in range(n - 1):
        for u in range(n - 1):
            a, b, c, d = v * n + u, v * n + u + 1, (v + 1) * n + u, (v + 1) * n + u + 1
            out |= {frozenset((a, b, c)), frozenset((b, d, c))}
    return out


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("n", [2, 3, 9])
def test_every_order_draws_the_same_triangles_nearest_first(order, n):
    uv = surface_grid(n)
    strips = grid_strips(n, order)
    assert strips.dtype == np.uint32 and strips.flags.c_contiguous
    triangles = strip_triangles(strips)
    assert len(triangles) == 2 * (n - 1) ** 2  # no triangle twice, none degenerate
    assert {frozenset(t) for t in triangles} == cell_triangles(n)
    # one winding throughout the strips of an order (the rows' is the columns' mirror)
    corners = uv[np.array(triangles)]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    signs = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    assert abs(signs.sum()) == len(triangles)
    # the strips go away from the eye: each strip's first vertex steps one way
    starts = np.concatenate([[0], np.flatnonzero(strips == STRIP_RESTART)[:-1] + 1])
    x0, y0 = uv[strips[starts]].T
    axis, ascending = order
    along = x0 if axis == "columns" else y0
    steps = np.diff(along)
    assert (steps > 0).all() if ascending else (steps < 0).all()


@pytest.mark.gl
def test_the_picture_is_the_same_in_every_order(gl_ctx, monkeypatch):
    from gradient_explorer.render.headless import HeadlessRenderer

    surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=4 / 3, view=ViewOptions(grid=48))
    # from the east, where the ridge hides part of the valley: drawn front to back
    state.camera.set_state(
        {"target": (0.0, 1.0, 0.5), "azimuth": 0.0, "elevation": 30.0, "distance": 7.0},
        snap=True,
    )
    renderer = HeadlessRenderer(gl_ctx, grid=48)
    try:
        chosen = renderer.render(state, (96, 72), 0, overlay=False)
        assert renderer.scene.surface_visual.order == ("columns", False)
        assert list(renderer.scene.surface_visual._indices) == [("columns", False)]  # no other
        for order in ORDERS:
            monkeypatch.setattr(surface_visual, "draw_order", lambda eye, domain, o=order: o)
            image = renderer.render(state, (96, 72), 0, overlay=False)
            assert renderer.scene.surface_visual.order == order
            assert np.abs(image.astype(int) - chosen).max() <= 1
    finally:
        renderer.release()


@pytest.mark.gl
def test_a_grid_past_the_limit_keeps_its_one_index_buffer(gl_ctx, monkeypatch):
    """Past ORDERED_GRID_MAX each order would be another copy of the indices (33 MB at
    2048): such a grid is drawn in its own order from every side."""
    from gradient_explorer.render.headless import HeadlessRenderer

    monkeypatch.setattr(surface_visual, "ORDERED_GRID_MAX", 8)
    state = AppState.for_surface(Surface.named("banana"), aspect=1.0, view=ViewOptions(grid=9))
    state.camera.set_state(
        {"target": (0.0, 1.0, 0.5), "azimuth": 0.0, "elevation": 30.0, "distance": 7.0},
        snap=True,
    )
    renderer = HeadlessRenderer(gl_ctx, grid=9)
    try:
        renderer.render(state, (32, 32), 0, overlay=False)
        visual = renderer.scene.surface_visual
        assert visual.order == ("rows", True) and len(visual._indices) == 1
        state.view.grid = 8  # at the limit: ordered
        renderer.render(state, (32, 32), 0, overlay=False)
        assert renderer.scene.surface_visual.order == ("columns", False)
    finally:
        renderer.release()
