"""Balls, trails and glyphs drawn headless; the 1D view's tangent in orange."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.descent_mode import DescentState, GlyphOptions
from gradient_explorer.app.state import AppState
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.visuals.balls_visual import (
    ball_centers,
    glyph_geometry,
    glyph_scale,
)
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.picking import world_to_screen

pytestmark = pytest.mark.gl
SIZE = (640, 400)


@pytest.fixture
def renderer(ctx):
    r = HeadlessRenderer(ctx, grid=128)
    yield r
    r.release()


@pytest.fixture(scope="module")
def himmelblau():
    return Surface.named("himmelblau")


def _state(surface) -> AppState:
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    state.view.axes = False
    return state


def test_swarm_balls_show_at_their_projected_positions(renderer, himmelblau):
    state = _state(himmelblau)
    bare = renderer.render(state, SIZE, overlay=False).astype(int)
    ds = state.descent
    ds.kind, ds.swarm_size, ds.optimizer = "swarm", 400, "adam"
    ds.hyper["adam"]["lr"] = 0.05
    ds.glyphs.trails = False
    ds.start_run(himmelblau)
    ds.step(5)
    img = renderer.render(state, SIZE, overlay=False).astype(int)
    visual = renderer.scene.balls_visual
    assert visual.drawn == 400
    screen = world_to_screen(state.camera, visual.last_centers, (0, 0, *SIZE), SIZE)
    px = np.clip(np.round(screen).astype(int), 0, [SIZE[0] - 1, SIZE[1] - 1])
    changed = np.abs(img - bare).sum(axis=2)[px[:, 1], px[:, 0]] > 40
    assert changed.mean() > 0.8  # a few hide behind the hills


def test_one_ball_is_orange_at_its_centre(renderer, himmelblau):
    state = _state(himmelblau)
    state.descent.start_run(himmelblau, (0.0, 0.0))
    img = renderer.render(state, SIZE, overlay=False)
    centre = renderer.scene.balls_visual.last_centers[0]
    sx, sy = np.round(world_to_screen(state.camera, centre, (0, 0, *SIZE), SIZE)).astype(int)
    r, g, b = img[sy - 1 : sy + 2, sx - 1 : sx + 2].reshape(-1, 3).mean(axis=0)
    assert r > 150 and r > g > b  # running balls are orange


def test_no_nan_reaches_the_instance_buffer_when_balls_diverge(renderer, himmelblau, monkeypatch):
    state = _state(himmelblau)
    ds = state.descent
    ds.kind, ds.swarm_size, ds.optimizer = "swarm", 200, "gd"
    ds.hyper["gd"]["lr"] = 0.5  # far too large: most balls blow up
    ds.start_run(himmelblau)
    ds.step(10)
    assert (ds.descents[0].status_codes == 2).any()
    renderer.render(state, SIZE, overlay=False)  # builds the visual
    visual = renderer.scene.balls_visual
    written = []
    real = visual._instances.write

    def spy(data, *args, **kwargs):
        written.append(np.frombuffer(data, np.float32).copy())
        return real(data, *args, **kwargs)

    monkeypatch.setattr(visual._instances, "write", spy)
    renderer.render(state, SIZE, overlay=False)
    assert written and all(np.isfinite(w).all() for w in written)


def test_balls_in_a_hole_are_left_out(renderer):
    surface = Surface.from_expr("log(x) + y^2", domain=((-1.0, 2.0), (-1.0, 1.0)))
    state = _state(surface)
    ds = state.descent
    ds.start_run(surface, (1.0, 0.5))
    ds.drop_ball(surface, (-0.5, 0.0))  # f undefined: diverged at its start
    renderer.render(state, SIZE, overlay=False)
    assert renderer.scene.balls_visual.drawn == 1
    assert any("at its start" in m for m in ds.messages)


def test_glyph_geometry_numbers(himmelblau):
    ds = DescentState(optimizer="adam")
    ds.hyper["adam"]["lr"] = 0.05
    ds.start_run(himmelblau, (0.5, 0.5))
    ds.drop_ball(himmelblau, (-1.0, 2.0))
    ds.step(3)
    d = ds.descents[0]
    centers, ok = ball_centers(himmelblau, d.positions, 0.1)
    scale = glyph_scale(himmelblau)
    opts = GlyphOptions(gradient=True, momentum=True, step=True, second_moment=True)
    geo = glyph_geometry(d, centers, ok, opts, scale, ds.last_steps(0))
    # second moment: rectangle sides = scale * sqrt(exp_avg_sq), per axis
    v = d.optimizer.state["exp_avg_sq"]
    sides = geo.rectangles[:, 2, :2] - geo.rectangles[:, 0, :2]
    assert np.allclose(sides, scale * np.sqrt(v))
    assert np.allclose(geo.rectangles.mean(axis=1), centers)
    # gradient components along x and y, momentum = scale * exp_avg, step = true size
    assert np.allclose(geo.gradient_x[1][:, 0], scale * d.gradient[:, 0])
    assert np.allclose(geo.gradient_x[1][:, 1:], 0) and np.allclose(geo.gradient_y[1][:, [0, 2]], 0)
    assert np.allclose(geo.momentum[1][:, :2], scale * d.optimizer.state["exp_avg"])
    assert np.allclose(geo.step[1][:, :2], ds.last_steps(0))
    # centres rest on the displayed surface, one radius away along the normal
    h = himmelblau.height(d.positions)
    assert np.all(centers[:, 2] > h) and np.all(centers[:, 2] <= h + 0.1 + 1e-12)


def test_race_and_glyphs_render_without_gl_errors(renderer, himmelblau, ctx):
    state = _state(himmelblau)
    ds = state.descent
    ds.kind = "race"
    ds.race = ["gd", "sgd", "rmsprop", "adam", "newton"]
    ds.glyphs = GlyphOptions(gradient=True, momentum=True, step=True, second_moment=True)
    ds.start_run(himmelblau, (-0.3, -0.2))
    ds.step(20)
    ds.step_by_step = True
    ds.next_phase()
    img = renderer.render(state, SIZE, overlay=False)
    assert ctx.error == "GL_NO_ERROR"
    assert renderer.scene.balls_visual.drawn == 5
    assert img.std() > 10


def test_curve_mode_draws_the_curve_and_an_orange_tangent(renderer):
    state = _state(Surface.named("himmelblau"))
    state.mode = "curve"
    state.curve.name = "double_well"
    state.curve.x = 0.4
    img = renderer.render(state, SIZE, overlay=False).astype(int)
    layout = renderer.scene.curve_visual.layout
    band = layout.main
    # the tangent at x = 0.4: points along it, away from the point's dot
    f, slope = (0.4**2 - 1) ** 2, 4 * 0.4 * (0.4**2 - 1)
    hits = 0
    for dx in (-0.9, -0.6, 0.5):
        px, py = np.round(band.to_pixel(0.4 + dx, f + slope * dx)).astype(int)
        patch = img[py - 1 : py + 2, px - 1 : px + 2].reshape(-1, 3)
        orange = (patch[:, 0] > 200) & (patch[:, 1] > 90) & (patch[:, 1] < 180) & (patch[:, 2] < 80)
        hits += bool(orange.any())
    assert hits == 3
    # the curve itself (light blue) at x = -1.6
    px, py = np.round(band.to_pixel(-1.6, (1.6**2 - 1) ** 2)).astype(int)
    patch = img[py - 1 : py + 2, px - 1 : px + 2].reshape(-1, 3)
    assert ((patch[:, 2] > 200) & (patch[:, 0] < 150)).any()


def test_curve_mode_labels_land_where_the_view_puts_them(renderer):
    state = _state(Surface.named("himmelblau"))
    state.mode = "curve"
    renderer.render(state, SIZE, overlay=False)
    labels = renderer.scene.labels
    visual = renderer.scene.curve_visual
    assert len(labels) == len(visual.screen_labels)
    texts = {text for _, text, _ in visual.screen_labels}
    assert {"f(x) = x^3 - 3*x", "f'(x)", "maximum", "minimum"} <= texts  # the cubic's
    # placed in the picture's pixels (no trip through the 3D camera) ...
    assert all(lab.screen_size == SIZE for lab in labels)
    wanted = np.array([pos for pos, _, _ in visual.screen_labels])
    assert np.allclose([lab.position for lab in labels], wanted)
    # ... and the overlay centres each on its pixel, scaled to the display's size
    from gradient_explorer.render.labels import layout_labels

    for scale in (1.0, 0.5):
        display = (SIZE[0] * scale, SIZE[1] * scale)
        placed = layout_labels(labels, state.camera, display, lambda t: (1.0, 1.0))
        assert placed
        for label, box in placed:
            centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
            assert np.allclose(centre, np.array(label.position) * scale, atol=1e-9)


@pytest.mark.parametrize("size", [(80, 60), (160, 120), (24, 16)])
def test_curve_view_at_tiny_sizes_leaves_no_gl_error(ctx, size):
    state = AppState.for_surface(Surface.named("cubic"), aspect=size[0] / size[1])
    state.mode = "curve"
    renderer = HeadlessRenderer(ctx, grid=8)
    try:
        image = renderer.render(state, size, overlay=False)
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    assert image.shape == (size[1], size[0], 3)


def test_race_legend_appears_top_right(ctx):
    state = AppState.for_surface(Surface.named("bowl"), aspect=4 / 3)
    state.view.axes = False
    renderer = HeadlessRenderer(ctx, grid=16)
    try:
        plain = renderer.render(state, (320, 240)).astype(int)
        state.descent.kind = "race"
        state.descent.race = ["sgd", "adam"]
        state.descent.start_run(state.surface, (1.5, 1.5))
        racing = renderer.render(state, (320, 240)).astype(int)
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    changed = np.abs(racing - plain).sum(-1) > 60
    assert changed[:40, 160:].mean() > 0.05  # the legend's box and swatches
    sgd = np.array([1.0, 0.45, 0.1]) * 255
    assert (np.abs(racing[:40] - sgd).sum(-1) < 30).any()  # sgd's swatch colour


def test_batch_and_full_gradient_glyphs_on_a_model_surface():
    from gradient_explorer.render.labels import legend_rows
    from gradient_explorer.surfaces.model_surface import from_model

    surface = from_model("logistic", batch_size=8, seed=2, inputs="standardized")
    ds = DescentState(optimizer="sgd")
    ds.start_run(surface, (0.5, 0.5))
    ds.drop_ball(surface, (2.0, -1.0))
    ds.step(3)
    d = ds.descents[0]
    centers, ok = ball_centers(surface, d.positions, 0.1)
    scale = glyph_scale(surface)
    geo = glyph_geometry(d, centers, ok, GlyphOptions(gradient=True), scale)
    # whole vectors instead of components: this batch's gradient and all the data's
    assert geo.gradient_x is None and geo.gradient_y is None
    np.testing.assert_allclose(geo.batch_gradient[1][:, :2], scale * d.gradient)
    full = surface.model.gradient(d.positions)
    np.testing.assert_allclose(geo.full_gradient[1][:, :2], scale * full)
    assert not np.allclose(full, d.gradient)
    ds.glyphs.gradient = True
    labels = [row[0] for row in legend_rows(ds)]
    assert "gradient on this mini-batch" in labels and "gradient, x part" not in labels


def test_swarm_start_map_is_built_only_when_its_inputs_change(
    renderer, ctx, himmelblau, monkeypatch
):
    """The start map (6 vertices a ball) was built every frame: now when the starts,
    their basin colours, the drawn surface or the floor change, and the frames between
    draw the same pixels as a renderer that builds it afresh."""
    from gradient_explorer.render.visuals import balls_visual

    builds = []
    real = balls_visual.start_splats

    def counted(*args, **kwargs):
        builds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(balls_visual, "start_splats", counted)
    state = _state(himmelblau)
    ds = state.descent
    ds.kind, ds.swarm_size, ds.optimizer = "swarm", 300, "adam"
    ds.hyper["adam"]["lr"] = 0.05
    ds.glyphs.trails = False
    ds.start_run(himmelblau)

    def fresh() -> np.ndarray:  # a renderer with nothing cached
        other = HeadlessRenderer(ctx, grid=128)
        try:
            return other.render(state, SIZE, overlay=False)
        finally:
            other.release()

    first = renderer.render(state, SIZE, overlay=False)
    assert len(builds) == 1
    for _ in range(3):  # nothing changed: drawn from the buffer
        again = renderer.render(state, SIZE, overlay=False)
    assert len(builds) == 1
    np.testing.assert_array_equal(again, first)
    state.camera.set_state({**state.camera.get_state(), "azimuth": 40.0})  # the view alone
    renderer.render(state, SIZE, overlay=False)
    assert len(builds) == 1
    before = len(builds)
    ds.step(150)  # balls reach their basins: the map takes their colours
    moved = renderer.render(state, SIZE, overlay=False)
    assert len(builds) == before + 1
    built = len(builds)
    np.testing.assert_array_equal(moved, fresh())
    assert len(builds) == built + 1  # (the fresh renderer's own build)
    monkeypatch.setattr(himmelblau, "height_scale", 2 * himmelblau.height_scale)  # the shape
    taller = renderer.render(state, SIZE, overlay=False)
    assert len(builds) == built + 2
    np.testing.assert_array_equal(taller, fresh())


@pytest.mark.parametrize("x", [1.5, 1.2, -1.4, 0.3, 2.2])
def test_the_slope_and_verdict_labels_keep_clear_of_the_curve_and_the_tangent(renderer, x):
    """The cubic at x = 1.5 put 'slope 3.75' on the curve and the tangent across
    'minimum': each label goes where neither crosses its box."""
    state = _state(Surface.named("himmelblau"))
    state.mode = "curve"
    state.curve.name = "cubic"
    state.curve.x = x
    renderer.render(state, (800, 450), overlay=False)
    visual = renderer.scene.curve_visual
    band = visual.layout.main
    xs = np.linspace(-2.5, 2.5, 4001)
    curve = band.to_pixel(xs, xs**3 - 3 * xs)  # f(x) = x^3 - 3x, by hand
    f, slope = x**3 - 3 * x, 3 * x**2 - 3
    tangent = band.to_pixel(xs, f + slope * (xs - x))
    top, bottom = band.rect[1], band.rect[3]
    for pos, text, _ in visual.screen_labels:
        if not (text.startswith("slope") or text in ("minimum", "maximum")):
            continue
        w, h = 3.6 * len(text), 6.0  # the text's box, a little inside the placement box
        for line in (curve, tangent):
            px, py = line[:, 0], line[:, 1]
            inside = (np.abs(px - pos[0]) < w) & (np.abs(py - pos[1]) < h)
            inside &= (py >= top) & (py <= bottom)  # drawn in the band only
            assert not inside.any(), (x, text, pos)


def test_label_spot_takes_the_first_free_place_else_the_least_covered():
    from gradient_explorer.render.geometry import label_spot

    line = (np.array([[0.0, 0.0], [np.nan, np.nan]]), np.array([[100.0, 0.0], [5.0, 5.0]]))
    # the first spot sits on the line, the second is free
    assert label_spot([(50.0, 0.0), (50.0, 30.0)], (10.0, 5.0), [line]) == 1
    # none free: the one fewest segments cross
    two = (np.array([[0.0, 0.0], [0.0, 30.0]]), np.array([[100.0, 0.0], [100.0, 30.0]]))
    extra = (np.array([[40.0, -3.0]]), np.array([[60.0, -3.0]]))
    assert label_spot([(50.0, 0.0), (50.0, 30.0)], (10.0, 5.0), [two, extra]) == 1
    # another label is kept clear of (by its pad too) before any line
    other = (np.array([[0.0, 0.0], [0.0, 20.0]]), np.array([[40.0, 20.0], [40.0, 0.0]]))
    assert label_spot([(20.0, 10.0), (200.0, 10.0)], (3.0, 3.0), [], [other]) == 1
    assert label_spot([(20.0, 10.0), (35.0, 10.0), (90.0, 10.0)], (3.0, 3.0), [line], [other]) == 2
    # every place overlaps a label: the first (the overlay's declutter then decides)
    assert label_spot([(20.0, 10.0), (30.0, 10.0)], (3.0, 3.0), [], [other]) == 0
