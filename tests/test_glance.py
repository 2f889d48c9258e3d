"""Pictures that read at a glance: basins, outlined balls, thick trails, glyphs, the plot."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.descent_mode import DescentState, assign_basins
from gradient_explorer.app.state import AppState
from gradient_explorer.render import palette
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.visuals.balls_visual import (
    MIN_GLYPH_PX,
    ScreenFrame,
    at_least,
    ball_colors,
    screen_arrows,
)
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.picking import world_to_screen

SIZE = (480, 320)


@pytest.fixture(scope="module")
def himmelblau():
    return Surface.named("himmelblau")


def _minima(surface):
    return np.array([p for p, kind in surface.critical_points if kind == "minimum"])


def _swarm_near_minima(surface, steps=150):
    """A one-ball swarm plus a ball dropped 0.6 away from each of the catalogue's minima."""
    ds = DescentState(kind="swarm", optimizer="adam", swarm_size=1)
    ds.hyper["adam"]["lr"] = 0.05
    ds.start_run(surface)
    starts = _minima(surface) + np.array([0.45, -0.4])
    for xy in starts:
        ds.drop_ball(surface, xy)
    ds.step(steps)
    return ds, starts


# ---------------------------------------------------------------- basins (numpy)


def test_starts_near_each_minimum_get_four_palette_colours(himmelblau):
    ds, starts = _swarm_near_minima(himmelblau)
    minima = _minima(himmelblau)
    basins = ds.basins(0)[1:]
    known = ds.known_minima()
    # each ball's basin is the catalogue minimum its start was put next to
    for k, start in zip(basins, starts, strict=True):
        nearest = minima[np.argmin(np.linalg.norm(minima - start, axis=1))]
        assert np.allclose(known[k], nearest)
    colors = [tuple(c) for c in ball_colors(ds, 0)[1:]]
    assert len(set(colors)) == 4
    assert all(c in palette.BASIN_COLORS for c in colors)


def test_a_ball_far_from_every_minimum_is_undecided_and_a_diverged_one_is_marked():
    minima = np.array([[0.0, 0.0], [4.0, 0.0]])
    positions = np.array([[0.1, 0.0], [3.9, 0.1], [2.0, 0.0], [0.0, 5.0], [0.05, 0.0]])
    status = np.array([0, 1, 0, 0, 2], dtype=np.int8)
    got = assign_basins(minima, positions, status, extent=10.0)
    # reach: min(0.1 * 10, half the gap 2) = 1; the last ball diverged
    assert got.tolist() == [0, 1, -1, -1, -2]


def test_a_typed_surface_finds_its_minima_from_where_balls_come_to_rest():
    surface = Surface.from_expr("(x^2 - 1)^2 + y^2", domain=((-2.0, 2.0), (-2.0, 2.0)))
    ds = DescentState(kind="swarm", optimizer="adam", swarm_size=200, swarm_grid=True)
    ds.hyper["adam"]["lr"] = 0.05
    ds.start_run(surface)
    ds.step(400)
    known = ds.known_minima()
    assert sorted(np.round(known[:, 0], 1).tolist()) == [-1.0, 1.0]
    assert np.allclose(known[:, 1], 0.0, atol=0.02)
    basins = ds.basins(0)
    starts = ds.start_positions(0)
    left = known[:, 0] < 0
    decided = basins >= 0
    # a start left of x = 0 rolls to the left minimum (and right to right)
    side = np.where(left[basins[decided]], -1.0, 1.0)
    off_axis = np.abs(starts[decided, 0]) > 0.05
    assert np.all(np.sign(starts[decided, 0])[off_axis] == side[off_axis])


def test_at_least_lengthens_short_glyphs_and_drops_negligible_ones():
    v = np.array([[1e-2, 0.0], [0.0, 3.0], [1e-5, 0.0], [np.nan, 0.0]])
    out = at_least(v, np.full(4, 0.5))
    assert np.allclose(out[0], [0.5, 0.0])  # short: drawn at the minimum, same direction
    assert np.allclose(out[1], [0.0, 3.0])  # long enough: unchanged
    assert np.allclose(out[2:], 0.0)  # under a thousandth of the longest, or undefined


def test_screen_arrows_are_at_least_the_minimum_on_screen(himmelblau):
    state = AppState.for_surface(himmelblau, aspect=SIZE[0] / SIZE[1])
    cam = state.camera
    p11 = cam.projection_matrix(SIZE[0] / SIZE[1])[1, 1]
    frame = ScreenFrame(cam.view_projection(SIZE[0] / SIZE[1]), SIZE, 0.5 * SIZE[1] * p11)
    start = np.array([[1.0, 1.0, 0.5]])
    tiny = np.array([[2e-3, 0.0, 0.0]])  # short, yet over a thousandth of the longest
    v = at_least(np.vstack([tiny, [[1.0, 0, 0]]]), MIN_GLYPH_PX * frame.world_per_pixel(start))
    tris, keep = screen_arrows(frame, start, v[:1], 3.0, 11.0)
    assert keep.all()
    ndc = tris.reshape(-1, 9, 3)[0]
    px = ndc[:, :2] * np.array(SIZE) / 2
    tip, tail = px[6], 0.5 * (px[0] + px[1])
    # foreshortening can only shorten: the world length is MIN_GLYPH_PX pixels across
    assert np.linalg.norm(tip - tail) > 0.5 * MIN_GLYPH_PX


# ---------------------------------------------------------------- GL


@pytest.fixture
def renderer(ctx):
    r = HeadlessRenderer(ctx, grid=96)
    yield r
    r.release()


def _screen(state, points):
    return np.round(world_to_screen(state.camera, points, (0, 0, *SIZE), SIZE)).astype(int)


@pytest.mark.gl
def test_the_floor_under_each_start_has_its_balls_basin_colour(renderer, himmelblau):
    state = AppState.for_surface(himmelblau, aspect=SIZE[0] / SIZE[1])
    state.view.axes = False
    ds = state.descent
    ds.kind, ds.swarm_size, ds.swarm_grid, ds.optimizer = "swarm", 400, True, "adam"
    ds.hyper["adam"]["lr"] = 0.05
    ds.glyphs.trails = False
    ds.start_run(himmelblau)
    ds.step(150)
    img = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    heights = himmelblau.height_range()
    starts = ds.start_positions(0)
    lift = 1e-3 * (heights.clip_hi - heights.floor_z)
    px = _screen(state, np.column_stack([starts, np.full(len(starts), heights.floor_z + lift)]))
    inside = np.all((px >= 0) & (px < SIZE), axis=1)
    want = np.round(ball_colors(ds, 0) * 255).astype(int)
    got = img[px[inside, 1], px[inside, 0]]
    table = np.round(np.array(palette.BASIN_COLORS) * 255).astype(int)
    any_basin = np.min(np.abs(got[:, None] - table[None]).max(axis=2), axis=1) <= 3
    own = np.abs(got - want[inside]).max(axis=1) <= 3
    assert any_basin.sum() >= 40  # the floor's front shows beyond the surface
    assert own[any_basin].mean() > 0.9  # each start in its own ball's colour
    assert len({tuple(c) for c in want[inside][own]}) == 4  # the four basins


@pytest.mark.gl
@pytest.mark.parametrize("view", ["three_quarter", "top"])
def test_a_ball_at_the_bottom_of_each_well_is_seen(renderer, himmelblau, view):
    state = AppState.for_surface(himmelblau, aspect=SIZE[0] / SIZE[1])
    state.view.axes = False
    state.camera.set_state(dict(zip(("azimuth", "elevation", "projection"),
                                    __import__("gradient_explorer.view.camera").view.camera.PRESETS[view],
                                    strict=True)), snap=True)  # fmt: skip
    bare = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    ds = state.descent
    ds.glyphs.trails = False
    minima = _minima(himmelblau)
    ds.start_run(himmelblau, minima[0])
    for xy in minima[1:]:
        ds.drop_ball(himmelblau, xy)
    img = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    centers = renderer.scene.balls_visual.last_centers
    assert len(centers) == 4
    for sx, sy in _screen(state, centers):
        patch = img[sy - 1 : sy + 2, sx - 1 : sx + 2] - bare[sy - 1 : sy + 2, sx - 1 : sx + 2]
        assert np.abs(patch).sum(axis=2).max() > 60  # every ball shows, none hides


@pytest.mark.gl
def test_balls_have_a_dark_rim_and_trails_are_thick(renderer):
    bowl = Surface.named("bowl")
    state = AppState.for_surface(bowl, aspect=SIZE[0] / SIZE[1])
    # looking along +y, where the light falls on the bowl behind the ball (from the
    # three-quarter home view that side is in shade: a dark rim would not show there)
    state.camera.set_state({"azimuth": -90.0, "elevation": 30.0})
    state.view.axes = state.view.floor = False
    ds = state.descent
    ds.optimizer = "gd"
    ds.hyper["gd"]["lr"] = 0.05
    bare = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    ds.start_run(bowl, (1.5, 1.5))
    ds.step(12)
    ds.glyphs.trails = False
    img = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    (sx, sy) = _screen(state, renderer.scene.balls_visual.last_centers)[0]
    # along the row through the ball's centre: dark rim pixels where the surface was lit
    for side in (img[sy, sx : sx + 9], img[sy, sx - 8 : sx + 1]):
        dark = np.flatnonzero(side.sum(axis=1) < 45)
        assert dark.size, "no rim"
    lit = bare[sy, sx - 8 : sx + 9].sum(axis=1)
    assert lit.min() > 100  # the surface behind the ball is not dark itself
    ds.glyphs.trails = True
    img = renderer.render(state, SIZE, samples=0, overlay=False).astype(int)
    # across the trail, half way along the third of 12 steps (long, clear of the ball): at
    # least 2 px of running orange (a GL line is one pixel wide)
    pts, _ = ds.descents[0].trails()
    ends = np.column_stack([pts[0, -11:-9], bowl.height(pts[0, -11:-9]) + 0.02])
    a, b = world_to_screen(state.camera, ends, (0, 0, *SIZE), SIZE)
    mid, along = 0.5 * (a + b), (b - a) / np.linalg.norm(b - a)
    across = np.array([-along[1], along[0]])
    samples = np.round(mid + np.arange(-6, 7)[:, None] * across).astype(int)
    orange = np.round(np.array(palette.STATUS_COLORS["running"][:3]) * 255)
    hits = np.abs(img[samples[:, 1], samples[:, 0]] - orange).max(axis=1) < 40
    assert hits.sum() >= 2


def test_the_legend_names_every_glyph_kind_in_its_palette_colour(himmelblau):
    pytest.importorskip("imgui_bundle")
    from gradient_explorer.render.labels import legend_rows

    ds = DescentState(kind="race", race=["gd", "adam"])
    ds.glyphs.gradient = ds.glyphs.momentum = ds.glyphs.step = ds.glyphs.second_moment = True
    ds.start_run(himmelblau, (1.0, 1.0))
    rows = legend_rows(ds)
    glyphs = {text: color for text, color, swatch in rows if swatch != "box"}
    # on all the data: no mini-batch, so no batch-against-full pair of arrows
    batch_only = ("phase", "full_gradient", "batch_gradient")
    assert glyphs == {palette.GLYPH_LABELS[k]: palette.GLYPH_COLORS[k] for k in palette.GLYPH_COLORS
                      if k not in batch_only}  # fmt: skip
    assert len(set(glyphs.values())) == 5
    swarm, _ = _swarm_near_minima(himmelblau, steps=150)
    boxes = [color for _, color, swatch in legend_rows(swarm) if swatch == "box"]
    assert boxes[:4] == list(palette.BASIN_COLORS[:4])


def _recorded_frames(tmp_path, ctx, monkeypatch, plot: bool) -> list[np.ndarray]:
    from gradient_explorer.render import recording

    frames: list[np.ndarray] = []
    real = recording._Encoder.append

    def keep(self, frame):
        frames.append(frame.copy())  # the frame as rendered, before the GIF's palette
        real(self, frame)

    monkeypatch.setattr(recording._Encoder, "append", keep)
    state = AppState.for_surface(Surface.named("elongated_bowl"), aspect=640 / 400)
    state.view.grid = 48
    ds = state.descent
    ds.kind, ds.race = "race", ["gd", "sgd", "rmsprop"]
    ds.start_run(state.surface, (-1.4, 1.4))
    recording.record(state, tmp_path / "race.gif", 4, size=(640, 400), ctx=ctx, plot=plot)
    return frames


def _racer_pixels_bottom_right(frame: np.ndarray) -> list[int]:
    h, w, _ = frame.shape
    region = frame[int(0.62 * h) :, int(0.6 * w) :].astype(int)
    counts = []
    for color in palette.RACER_COLORS[:3]:
        target = np.round(np.array(color) * 255).astype(int)
        counts.append(int((np.abs(region - target).max(axis=2) < 30).sum()))
    return counts


@pytest.mark.gl
def test_a_recorded_race_shows_the_loss_plot_in_the_racers_colours(tmp_path, ctx, monkeypatch):
    with_plot = _recorded_frames(tmp_path, ctx, monkeypatch, plot=True)
    assert len(with_plot) == 4
    assert min(_racer_pixels_bottom_right(with_plot[-1])) >= 20  # a line per racer
    monkeypatch.undo()
    without = _recorded_frames(tmp_path, ctx, monkeypatch, plot=False)
    assert max(_racer_pixels_bottom_right(without[-1])) < 5


def test_record_no_plot_reaches_the_recorder(tmp_path, monkeypatch):
    from gradient_explorer.cli import main
    from gradient_explorer.render import recording

    seen = {}

    def fake_record(state, path, frames, fps, size, **kwargs):
        seen.update(kwargs)
        return tmp_path / "x.gif"

    monkeypatch.setattr(recording, "record", fake_record)
    argv = ["record", "--surface", "bowl", "--descent", "gd", "adam", "--frames", "2"]
    assert main([*argv, "--out", str(tmp_path / "x.gif")]) == 0
    assert seen["plot"] is True
    assert main([*argv, "--out", str(tmp_path / "x.gif"), "--no-plot"]) == 0
    assert seen["plot"] is False


def test_record_swarm_shows_the_floor_its_basins_are_painted_on(tmp_path, monkeypatch):
    from gradient_explorer.app.state import AppState as State
    from gradient_explorer.cli import main
    from gradient_explorer.render import recording

    seen = {}

    def fake_record(state, path, frames, fps, size, **kwargs):
        seen["floor"] = state.view.floor
        seen["camera"] = state.camera.get_state()
        seen["home"] = State.for_surface(state.surface, size[0] / size[1])
        return tmp_path / "x.gif"

    monkeypatch.setattr(recording, "record", fake_record)
    argv = ["record", "--surface", "himmelblau", "--frames", "2", "--size", "320x200"]
    out = ["--out", str(tmp_path / "x.gif")]
    assert main([*argv, "--swarm", "50", *out]) == 0
    assert seen["floor"] is True
    home = seen["home"]
    home.view.floor = True
    home.frame_camera(320 / 200)  # framed with the floor in the picture
    assert seen["camera"] == home.camera.get_state()
    assert main([*argv, "--descent", "adam", "gd", *out]) == 0
    assert seen["floor"] is False  # a race keeps the view as asked


@pytest.mark.gl
def test_the_legend_shows_each_glyph_colour_top_right(renderer):
    bowl = Surface.named("elongated_bowl")
    state = AppState.for_surface(bowl, aspect=SIZE[0] / SIZE[1])
    state.view.axes = False
    ds = state.descent
    ds.kind, ds.race = "race", ["gd", "adam"]
    ds.glyphs.gradient = ds.glyphs.momentum = ds.glyphs.step = ds.glyphs.second_moment = True
    ds.start_run(bowl, (-1.4, 1.4))
    ds.step(3)
    img = renderer.render(state, SIZE, samples=0).astype(int)
    corner = img[: SIZE[1] // 2, SIZE[0] // 3 :]
    for kind in ("gradient_x", "gradient_y", "momentum", "step", "second_moment"):
        target = np.round(np.array(palette.GLYPH_COLORS[kind][:3]) * 255).astype(int)
        assert (np.abs(corner - target).max(axis=2) < 12).sum() >= 6, kind


def test_the_ball_table_names_a_swarms_balls_in_their_basin_colours(himmelblau):
    ds, _ = _swarm_near_minima(himmelblau)
    rows = ds.ball_report(limit=5)
    assert [tuple(r["color"]) for r in rows[1:]] == [tuple(c) for c in ball_colors(ds, 0)[1:]]


def test_step_by_step_adds_the_phase_to_the_legend(himmelblau):
    pytest.importorskip("imgui_bundle")
    from gradient_explorer.render.labels import legend_rows

    ds = DescentState(kind="single", optimizer="adam")
    ds.start_run(himmelblau, (1.0, 1.0))
    ds.step_by_step = True
    phase = ds.next_phase()
    rows = legend_rows(ds)
    assert (f"this phase: {phase.name}", palette.GLYPH_COLORS["phase"]) in [r[:2] for r in rows]


def test_a_following_plot_shows_every_value_with_a_margin():
    pytest.importorskip("imgui_bundle")
    from gradient_explorer.render.labels import _padded

    values = np.array([4.0, 10.0, 7.0])
    lo, hi = _padded(values, log=False)
    assert lo < 4.0 and hi > 10.0 and (hi - lo) < 1.2 * 6.0
    lo, hi = _padded(np.array([1e-6, 10.0]), log=True)
    assert 0 < lo < 1e-6 and hi > 10.0
    lo, hi = _padded(np.array([3.0, 3.0]), log=False)  # a flat line still has a range
    assert lo < 3.0 < hi
