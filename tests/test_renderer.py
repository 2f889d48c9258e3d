"""The renderer against numpy predictions, on small offscreen targets."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.scene import SceneRenderer, point_geometry
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.picking import world_to_screen

pytestmark = pytest.mark.gl

SIZE = (96, 96)
BACKGROUND = np.array(ViewOptions().background) * 255


def viridis(t):
    """The shaders' colormap polynomial, in numpy (the test's prediction)."""
    c = np.array(
        [
            [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
            [0.1050930431085774, 1.404613529898575, 1.384590162594685],
            [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
            [-4.634230498983486, -5.799100973351585, -19.33244095627987],
            [6.228269936347081, 14.17993336680509, 56.69055260068105],
            [4.776384997670288, -13.74514537774601, -65.35303263337234],
            [-5.435455855934631, 4.645852612178535, 26.3124352495832],
        ]
    )
    t = np.clip(np.asarray(t, dtype=np.float64), 0, 1)[..., None]
    out = c[6]
    for k in range(5, -1, -1):
        out = c[k] + t * out
    return out


@pytest.fixture(scope="module")
def renderer(gl_ctx):
    r = HeadlessRenderer(gl_ctx, grid=64)
    yield r
    r.release()


def _state(surface, preset="top", **view):
    options = dict(lighting="unlit", contours=0, floor=False, axes=False, grid=64)
    options.update(view)
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1], view=ViewOptions(**options))
    if preset:
        state.camera.preset(preset, SIZE[0] / SIZE[1], snap=True)
    return state


def _pixel(state, world):
    """Row and column of a world point in the rendered image."""
    sx, sy = world_to_screen(state.camera, np.asarray(world, float), (0, 0, *SIZE), SIZE)
    return int(sy), int(sx)


def _is_background(rgb):
    return np.all(np.abs(rgb.astype(float) - BACKGROUND) <= 2, axis=-1)


def test_top_down_bowl_has_the_lowest_colour_at_the_centre(renderer):
    state = _state(Surface.named("bowl"))
    image = renderer.render(state, SIZE, overlay=False)
    assert not _is_background(image).all(), "blank frame"
    lowest = viridis(0.0) * 255
    dist = np.linalg.norm(image.astype(float) - lowest, axis=-1)
    row, col = np.unravel_index(np.argmin(dist), dist.shape)
    centre = _pixel(state, (0.0, 0.0, 0.0))
    assert abs(row - centre[0]) <= 2 and abs(col - centre[1]) <= 2
    assert dist[row, col] < 6
    # Colour grows with height: a corner of the domain is near the top of the colormap.
    # Predicted at the centre of the pixel that shows (1.9, 1.9), where the colormap
    # changes fast (a pixel is 0.045 wide: its own corner may read 14 levels off).
    hr = state.surface.height_range()
    row, col = _pixel(state, (1.9, 1.9, float(state.surface.height(np.array([1.9, 1.9])))))
    ndc_xy = (2 * (col + 0.5) / SIZE[0] - 1, 1 - 2 * (row + 0.5) / SIZE[1])
    world = state.camera.inverse_view_projection(SIZE[0] / SIZE[1]) @ [*ndc_xy, 0.0, 1.0]
    xy = world[:2] / world[3]  # straight down: the pixel's centre in the domain
    expected = viridis((float(state.surface.height(xy)) - hr.lo) / (hr.hi - hr.lo)) * 255
    assert float(state.surface.height(xy)) > 0.8 * hr.hi
    np.testing.assert_allclose(image[row, col], expected, atol=6)


@pytest.mark.parametrize(("a", "b"), [(0.7, -0.4), (-1.5, 0.25), (0.0, 0.0)])
def test_normals_view_of_a_tilted_plane_is_the_predicted_colour(renderer, a, b):
    surface = Surface.from_expr(f"{a}*x + {b}*y", height_scale=0.5, domain=((-1, 1), (-1, 1)))
    state = _state(surface, preset="three_quarter", lighting="normals")
    image = renderer.render(state, SIZE, overlay=False)
    n = np.array([-0.5 * a, -0.5 * b, 1.0])
    expected = (0.5 * n / np.linalg.norm(n) + 0.5) * 255
    for point in [(0.0, 0.0), (0.4, -0.3), (-0.5, 0.5)]:
        world = (*point, float(surface.height(np.array(point))))
        np.testing.assert_allclose(image[_pixel(state, world)], expected, atol=2)


def test_lit_and_unlit_differ_where_the_surface_curves(renderer):
    surface = Surface.named("bowl")
    unlit = renderer.render(_state(surface, "three_quarter"), SIZE, overlay=False).astype(float)
    lit = renderer.render(
        _state(surface, "three_quarter", lighting="lit"), SIZE, overlay=False
    ).astype(float)
    on_surface = ~_is_background(unlit.astype(np.uint8))
    assert on_surface.mean() > 0.1
    diff = np.abs(lit - unlit).sum(-1)[on_surface]
    assert np.median(diff) > 20
    # Shading varies with the normal: lit brightness is not a function of height alone.
    assert lit[on_surface].std() > 10


def test_contour_lines_sit_where_f_crosses_the_levels(renderer):
    surface = Surface.from_expr("x", height_scale=0.5, domain=((-2, 2), (-2, 2)))
    n = 5
    state = _state(surface, contours=n, line_width=2.0)
    image = renderer.render(state, SIZE, overlay=False).astype(float)
    hr = surface.height_range()
    spacing = (hr.hi - hr.lo) / (n + 1)
    for k in range(1, n + 1):
        h = hr.lo + k * spacing
        on_line = _pixel(state, (h / 0.5, 0.3, h))
        between = _pixel(state, ((h + spacing / 2) / 0.5, 0.3, h + spacing / 2))
        line_brightness = image[on_line].sum()
        assert line_brightness < 0.6 * image[between].sum(), (k, image[on_line], image[between])


def test_log_hole_is_left_empty(renderer):
    surface = Surface.from_expr("log(x) + y/4", domain=((-2, 2), (-2, 2)))
    state = _state(surface)
    image = renderer.render(state, SIZE, overlay=False)
    for x in (-1.5, -0.8, -0.3):
        assert _is_background(image[_pixel(state, (x, 0.0, 0.0))]), x
    assert not _is_background(image[_pixel(state, (1.0, 0.0, float(surface.height([1.0, 0.0]))))])
    assert np.isfinite(image).all()


def test_a_hole_ends_where_f_does_not_at_the_grid_cells_around_it(renderer):
    # sqrt(1 - x^2 - y^2): undefined outside the unit circle. A grid cell with a corner
    # outside is drawn up to the circle itself (the pixels where f is undefined left
    # out), so a ring just inside the circle is drawn all round; dropping those cells
    # whole left a staircase of background up to a cell (0.075 here) inside.
    surface = Surface.from_expr("sqrt(1 - x^2 - y^2)", domain=((-1.2, 1.2), (-1.2, 1.2)))
    state = _state(surface, grid=32)
    size = (192, 192)
    state.camera.preset("top", 1.0, snap=True)
    image = renderer.render(state, size, overlay=False)
    angles = np.linspace(0.0, 2 * np.pi, 400, endpoint=False)
    r = 0.985  # a fifth of a grid cell inside the circle
    ring = np.column_stack([r * np.cos(angles), r * np.sin(angles)])
    world = np.column_stack([ring, surface.height(ring)])
    sx, sy = world_to_screen(state.camera, world, (0, 0, *size), size).T
    drawn = ~_is_background(image[sy.astype(int), sx.astype(int)])
    assert drawn.mean() > 0.97
    # and outside the circle nothing is drawn
    out = np.column_stack([1.03 * np.cos(angles), 1.03 * np.sin(angles), np.zeros(400)])
    ox, oy = world_to_screen(state.camera, out, (0, 0, *size), size).T
    assert _is_background(image[oy.astype(int), ox.astype(int)]).mean() > 0.97


def test_pole_is_clipped_not_a_spike():
    hr = Surface.from_expr("1/(x^2 + y^2)", domain=((-2, 2), (-2, 2))).height_range()
    bowl_span = hr.hi - hr.lo
    assert np.isfinite([hr.lo, hr.hi, hr.clip_lo, hr.clip_hi]).all()
    assert hr.clip_hi - hr.clip_lo < 3 * bowl_span


def test_floor_map_and_gradient_field_draw(renderer):
    surface = Surface.named("saddle")
    base = renderer.render(_state(surface, "three_quarter", floor=True), SIZE, overlay=False)
    field = renderer.render(
        _state(surface, "three_quarter", floor=True, field=True), SIZE, overlay=False
    )
    assert (np.abs(base.astype(int) - field.astype(int)).sum(-1) > 60).sum() > 30


def test_point_geometry_matches_numerics():
    surface = Surface.named("banana")
    g = point_geometry(surface, (0.5, 1.5), floor_z=-1.0)
    grad = surface.gradient(np.array([0.5, 1.5]))
    np.testing.assert_allclose(g.gradient, grad)
    start, vec = g.floor_arrow
    assert start[2] == -1.0  # the floor arrow lies in the floor plane
    assert vec[2] == 0 and np.dot(vec[:2], grad) > 0
    cross = vec[0] * grad[1] - vec[1] * grad[0]
    assert abs(cross) < 1e-9 * np.linalg.norm(vec) * np.linalg.norm(grad)
    # Tangent plane corners lie on the first-order Taylor plane of the displayed height.
    f = float(surface.f(np.array([0.5, 1.5])))
    grad_h = surface.height_scale / (1 + f) * grad
    for corner in g.tangent_plane:
        dz = corner[2] - g.position[2]
        assert dz == pytest.approx(grad_h @ (corner[:2] - g.position[:2]), abs=1e-9)


def test_point_undefined_has_no_geometry():
    assert point_geometry(Surface.from_expr("log(x) + y"), (-1.0, 0.0), -1.0) is None


def _tracking(ctx, monkeypatch):
    created = []
    for name in (
        "buffer",
        "program",
        "vertex_array",
        "texture",
        "framebuffer",
        "renderbuffer",
        "depth_renderbuffer",
        "simple_vertex_array",
    ):
        original = getattr(ctx, name)

        def make(*args, _original=original, **kwargs):
            obj = _original(*args, **kwargs)
            created.append(obj)
            return obj

        monkeypatch.setattr(ctx, name, make)
    import moderngl

    return lambda: sum(not isinstance(o.mglo, moderngl.InvalidObject) for o in created)


def test_switching_surfaces_500_times_keeps_live_gl_objects_flat(ctx, monkeypatch):
    fbo = ctx.simple_framebuffer((16, 16))
    live = _tracking(ctx, monkeypatch)  # counts what the scene creates, not the target
    names = ["bowl", "saddle", "banana", "himmelblau", "waves", "beale", "plateau", "ackley"]
    surfaces = [Surface.named(n) for n in names]
    scene = SceneRenderer(ctx, grid=8)
    state = _state(surfaces[0], floor=True, field=True, axes=True, contours=4)
    state.point = (0.1, 0.1)
    counts = []
    fbo.use()
    for i in range(500):
        state.surface = surfaces[i % len(surfaces)]
        scene.render(state, (16, 16))
        if i % 50 == 49:
            counts.append(live())
    assert max(counts) == min(counts), counts
    scene.release()
    assert live() == 0
    ctx.detect_framebuffer(0).use()  # never release a bound framebuffer
    fbo.release()


def test_building_and_releasing_the_renderer_leaks_nothing(ctx, monkeypatch):
    live = _tracking(ctx, monkeypatch)
    for _ in range(20):
        scene = SceneRenderer(ctx, grid=8)
        scene.release()
    assert live() == 0


def test_zero_size_draws_nothing_and_does_not_fail(ctx):
    scene = SceneRenderer(ctx, grid=8)
    assert scene.render(_state(Surface.named("bowl")), (0, 0)) == []
    scene.release()


@pytest.mark.parametrize("samples", [0, 4])
def test_a_frame_read_without_a_copy_is_the_copied_frame(renderer, samples):
    """copy=False reads RGBA (no repacking by the driver) and returns its RGB view: the
    same picture as the copy, which is contiguous RGB and not overwritten by the next."""
    banana = Surface.named("banana")
    state = _state(banana, preset="three_quarter", lighting="lit", contours=8, floor=True)
    state.point = (-0.5, 1.5)
    copied = renderer.render(state, (97, 61), samples)
    view = renderer.render(state, (97, 61), samples, copy=False)
    assert copied.shape == view.shape == (61, 97, 3) and view.dtype == np.uint8
    assert copied.flags.c_contiguous
    assert len(np.unique(copied.reshape(-1, 3), axis=0)) > 50  # a picture, not a blank
    np.testing.assert_array_equal(view, copied)
    kept = copied.copy()
    state.camera.orbit(40.0, 0.0)
    state.camera.snap()
    again = renderer.render(state, (97, 61), samples, copy=False)
    assert not np.array_equal(again, kept)  # the view shows the new frame ...
    np.testing.assert_array_equal(copied, kept)  # ... the copy stays as it was
