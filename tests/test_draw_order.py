"""The surface's triangles drawn front to back for the eye: the same triangles, the same
picture, only the order (and so the cost on a software rasterizer) changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render.geometry import surface_grid
from gradient_explorer.render.visuals import surface_visual
from gradient_explorer.render.visuals.surface_visual import draw_order, ordered_indices
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


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_draws_the_same_triangles_nearest_first(order):
    n = 9
    uv, indices = surface_grid(n)
    walked = ordered_indices(indices, n, order)
    assert walked.dtype == indices.dtype and walked.flags.c_contiguous
    key = lambda tris: sorted(map(tuple, tris.reshape(-1, 3)))  # noqa: E731
    assert key(walked) == key(indices)
    # each cell's two triangles stay together, and the walk goes away from the eye
    x0, y0 = uv[walked.reshape(-1, 6)[:, 0]].T  # each cell's first corner
    axis, ascending = order
    along = x0 if axis == "columns" else y0
    steps = np.diff(along)
    assert (steps >= 0).all() if ascending else (steps <= 0).all()


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
        for order in ORDERS:
            monkeypatch.setattr(surface_visual, "draw_order", lambda eye, domain, o=order: o)
            image = renderer.render(state, (96, 72), 0, overlay=False)
            assert renderer.scene.surface_visual.order == order
            assert np.abs(image.astype(int) - chosen).max() <= 1
    finally:
        renderer.release()


@pytest.mark.gl
def test_a_grid_past_the_limit_keeps_its_one_index_buffer(gl_ctx, monkeypatch):
    """Past ORDERED_GRID_MAX each order would be another copy of the indices (25 MB at
    1024): such a grid is drawn in its own order from every side."""
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
