"""Pictures that read at a glance: round ticks, labels that never collide, a surface that
fills the frame, no "-0", and a status line that says what is playing."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render.geometry import declutter, log_ticks, nice_ticks
from gradient_explorer.render.scene import axes_geometry, height_ticks
from gradient_explorer.surfaces.catalogue import SURFACES as DEFINITIONS
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.formatting import format_number, format_numbers

BACKGROUND = np.array(ViewOptions().background) * 255
SURFACES = [d.name for d in DEFINITIONS]
#: "-0", "-0.000", "-0e+00" as a token: a zero with a sign.
NEGATIVE_ZERO = re.compile(r"(?<![\w.])-0(\.0*)?(e[+-]?\d+)?(?![\d.])")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "spec"),
    [(-0.0, "g"), (-0.0, ".4g"), (-1e-9, ".3f"), (-0.0004, ".3f"), (-0.0, "9.4g"), (-4e-7, ".0f")],
)
def test_a_number_that_reads_as_zero_has_no_sign(value, spec):
    text = format_number(value, spec)
    assert text == format(0.0, spec)  # Python's own zero, width and decimals kept
    assert not NEGATIVE_ZERO.search(text)


@pytest.mark.parametrize(
    ("value", "spec"), [(-1e-9, ".4g"), (-0.0006, ".3f"), (-2.5, "g"), (3.0, ".2f"), (-1e300, "g")]
)
def test_other_numbers_format_as_python_does(value, spec):
    assert format_number(value, spec) == format(value, spec)


def test_vectors_and_non_finite_values():
    assert format_numbers([0.0, -0.0]) == "(0, 0)"
    assert format_numbers([-1e-12, 2.0], ".3f", "[]") == "[0.000, 2.000]"
    assert format_number(math.nan) == "nan" and format_number(-math.inf) == "-inf"


def test_probe_text_at_the_saddle_centre_has_no_negative_zero(capsys):
    from gradient_explorer.cli import main

    assert main(["probe", "--surface", "saddle", "--at", "0,0"]) == 0
    out = capsys.readouterr().out
    assert "gradient     (0, 0)" in out
    assert not NEGATIVE_ZERO.search(out), out


# ---------------------------------------------------------------- ticks


def _is_round(v: float) -> bool:
    """0, or 1, 2 or 5 times a power of ten."""
    if v == 0:
        return True
    mantissa = abs(v) / 10 ** math.floor(math.log10(abs(v)))
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5, 10))


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(-3, 3), (0.1, 0.7), (2.3e-165, 6.4e54), (-3.2e54, 9.6e54), (-1e308, 1e308), (0, 1e-300)],
)
def test_nice_ticks_are_round_steps_over_any_finite_range(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert ticks.dtype == np.float64 and np.isfinite(ticks).all()
    assert 2 <= len(ticks) <= 11
    steps = np.diff(ticks)
    slack = 1e-9 * float(steps[0])  # ends within rounding of the range count as inside
    assert ticks.min() >= lo - slack and ticks.max() <= hi + slack
    # One step, 1, 2 or 5 times a power of ten (computed without overflow).
    assert all(math.isclose(s, steps[0], rel_tol=1e-9) for s in steps)
    assert _is_round(steps[0])


def test_nice_ticks_degenerate_ranges():
    assert len(nice_ticks(1.0, 1.0 + 1e-14)) == 1
    assert len(nice_ticks(math.nan, 1.0)) == 0 and len(nice_ticks(0.0, math.inf)) == 0


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.0, 2500.0, [0, 1, 10, 100, 1000]),
        (0.0, 3.5, [0, 1, 2]),
        (0.0, 1e12, [0, 1, 1e4, 1e8, 1e12]),
        (-0.5, 800.0, [0, 1, 10, 100]),
    ],
)
def test_log_ticks_are_decades_of_f(lo, hi, expected):
    np.testing.assert_array_equal(log_ticks(lo, hi), expected)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_height_axis_labels_are_round_values_of_f_at_their_heights(name):
    surface = Surface.named(name)
    if surface.dim != 2:
        pytest.skip("a curve")
    heights = surface.height_range()
    axis = (heights.floor_z, heights.clip_hi)
    fs, hs = height_ticks(
        heights.lo, heights.hi, surface.height_scale, surface.display, limits=axis
    )
    assert len(fs) >= 2
    if surface.display == "log1p":  # 0 and decades (with 2s and 5s when only a few)
        assert all(_is_round(f) for f in fs), fs
        np.testing.assert_allclose(hs, surface.height_scale * np.log1p(fs))
    else:  # whole multiples of one 1-2-5 step
        step = fs[1] - fs[0]
        assert _is_round(step)
        np.testing.assert_allclose(fs / step, np.rint(fs / step), atol=1e-9)
        np.testing.assert_allclose(hs, surface.height_scale * fs)
    # The labels show those values of f, never "-0".
    _, labels = axes_geometry(surface, heights)
    texts = [label.text for label in labels]
    for f in fs:
        assert format_number(f, ".6g") in texts
    assert not any(NEGATIVE_ZERO.search(t) for t in texts)


def test_banana_and_himmelblau_f_axis_reads_in_decades():
    for name in ("banana", "himmelblau"):
        surface = Surface.named(name)
        assert surface.display == "log1p"
        heights = surface.height_range()
        fs, _ = height_ticks(
            heights.lo,
            heights.hi,
            surface.height_scale,
            surface.display,
            limits=(heights.floor_z, heights.clip_hi),
        )
        assert fs[0] == 0 and set(fs) <= {0, 1, 10, 100, 1000, 1e4}, fs


# ---------------------------------------------------------------- label layout


def test_declutter_keeps_priorities_and_drops_overlaps():
    boxes = np.array(
        [[10, 10, 40, 20], [30, 12, 60, 22], [100, 10, 130, 20], [-5, 0, 5, 10], [0, 0, 1, 1]]
    )
    keep = declutter(boxes, [0, 5, 0, 9, 0], (200, 100), pad=2, max_cover=1.0)
    # Box 1 outranks box 0, which it overlaps; box 3 leaves the viewport.
    assert keep.tolist() == [False, True, True, False, True]
    few = declutter(boxes, [0, 5, 0, 9, 0], (200, 100), pad=2, max_cover=300 / 20000)
    assert few.tolist() == [False, True, False, False, False]


@pytest.fixture(scope="module")
def renderer(gl_ctx):
    from gradient_explorer.render.headless import HeadlessRenderer

    r = HeadlessRenderer(gl_ctx, grid=64)
    yield r
    r.release()


def _drawn_labels(renderer, state, size, monkeypatch):
    """Render with labels; return the image and the boxes the overlay placed."""
    import gradient_explorer.render.headless as headless_module
    import gradient_explorer.render.labels as labels_module

    placed = []

    # the layout both overlays call: imgui's (draw_labels) and the cached atlas's
    for module in (headless_module, labels_module):

        def spy(*args, _original=module.layout_labels, **kwargs):
            out = _original(*args, **kwargs)
            placed.extend(out)
            return out

        monkeypatch.setattr(module, "layout_labels", spy)
    image = renderer.render(state, size, samples=0)
    return image, np.array([box for _, box in placed]).reshape(-1, 4), placed


def _intersections(boxes) -> list:
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                out.append((i, j))
    return out


def _state(name: str, size, camera=None) -> AppState:
    view = ViewOptions(grid=64)
    state = AppState.for_surface(Surface.named(name), aspect=size[0] / size[1], view=view)
    if camera is not None:
        az, el = camera
        state.camera.set_state({"azimuth": az, "elevation": el})
    return state


@pytest.mark.gl
@pytest.mark.parametrize("name", ["banana", "himmelblau", "saddle", "rastrigin"])
@pytest.mark.parametrize("size", [(320, 180), (640, 360), (1280, 720), (400, 800)])
@pytest.mark.parametrize("camera", [None, (-120.0, 20.0), (30.0, 60.0), (-60.0, 5.0)])
def test_no_two_labels_overlap(renderer, monkeypatch, name, size, camera):
    if name not in SURFACES:
        pytest.skip(f"no {name} in the catalogue")
    state = _state(name, size, camera)
    _, boxes, placed = _drawn_labels(renderer, state, size, monkeypatch)
    assert len(placed) >= 3  # the picture still has labels
    assert not _intersections(boxes), [
        placed[i][0].text for pair in _intersections(boxes) for i in pair
    ]
    w, h = size
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= h).all()


@pytest.mark.gl
@pytest.mark.parametrize("name", ["banana", "himmelblau", "saddle"])
def test_small_pictures_get_few_labels(renderer, monkeypatch, name):
    size = (320, 180)
    state = _state(name, size)
    _, boxes, _ = _drawn_labels(renderer, state, size, monkeypatch)
    plain = renderer.render(state, size, samples=0, overlay=False)
    surface = ~np.all(np.abs(plain.astype(float) - BACKGROUND) <= 3, axis=-1)
    covered = np.zeros(surface.shape, dtype=bool)
    for left, top, right, bottom in boxes:
        covered[int(top) : math.ceil(bottom), int(left) : math.ceil(right)] = True
    # Labels cover at most a tenth of the picture and of the surface drawn in it.
    assert covered.mean() <= 0.1
    assert (covered & surface).sum() <= 0.1 * surface.sum()


# ---------------------------------------------------------------- framing


@pytest.mark.gl
@pytest.mark.parametrize("size", [(320, 180), (1280, 720), (400, 800), (1000, 600)])
def test_every_surface_fills_a_headless_render(renderer, size):
    # What `render` writes: the part that is not background (the surface, its axes and
    # labels). The bounding-sphere framing covered 10 to 13% of it for every surface.
    cover = {}
    for name in SURFACES:
        surface = Surface.named(name)
        if surface.dim != 2:
            continue
        view = ViewOptions(grid=64, floor=False)  # as `render` draws it
        state = AppState.for_surface(surface, aspect=size[0] / size[1], view=view)
        image = renderer.render(state, size, samples=0)
        cover[name] = float((~np.all(np.abs(image.astype(float) - BACKGROUND) <= 3, -1)).mean())
    # A quarter for the typical surface (a third when a wide picture could turn to a
    # squarer view: it keeps the three-quarter angle now, and a margin of 8% of the
    # half-size for the labels); a square domain in a portrait window tops out near 0.3
    # (its width fills the window's), and thin or spiky shapes (beale, the monkey
    # saddle, six_hump_camel in a tall window) cover less: 0.15 for every one.
    typical = 0.24 if size[0] > size[1] else 0.27
    assert np.median(list(cover.values())) >= typical, cover
    assert min(cover.values()) >= 0.15, cover


def _box_on_screen(h) -> np.ndarray:
    """Where the app's window shows the corners of the scene's box, (8, 2) pixels."""
    lo, hi = h.state.scene_bounds()
    corners = [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    return np.array([h.app.interaction.to_screen(np.array(c)) for c in corners])


@pytest.mark.gl
def test_the_window_frames_the_surface_right_of_its_panel(tmp_path):
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    h = AppHarness((1280, 720), "banana", samples=0, screenshot_dir=tmp_path)
    try:
        h.frame(3)
        state = h.state
        left = state.view.insets[0]
        assert left > 100  # the panel stands on the left
        screen = _box_on_screen(h)
        assert screen[:, 0].min() >= left - 1  # nothing of the box under the panel
        assert screen[:, 0].max() <= 1280 and screen[:, 1].min() >= 0
        assert screen[:, 0].max() - screen[:, 0].min() > 0.6 * (1280 - left)  # and fills it
    finally:
        h.close()


@pytest.mark.gl
def test_reset_after_a_panel_opened_frames_the_region_left_free(tmp_path):
    # orbited, then the descent panel opens on the right: the view keeps the user's angle
    # and is fitted into the new free region (it stayed where it was, a third of it under
    # the panel), and Reset goes to a home view fitted to that region too
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    h = AppHarness((1280, 720), "banana", samples=0, screenshot_dir=tmp_path)
    try:
        h.frame(3)
        state = h.state
        state.camera.orbit(25.0, 10.0)
        state.camera.snap()
        orbited = state.camera.get_state()
        h.app.ui.show_descent = True
        h.frame(3)
        left, right = state.view.insets
        assert right > 100  # the descent panel stands on the right
        state.camera.snap()
        now = state.camera.get_state()
        assert (now["azimuth"], now["elevation"]) == (orbited["azimuth"], orbited["elevation"])
        screen = _box_on_screen(h)
        assert screen[:, 0].min() >= left - 1 and screen[:, 0].max() <= 1280 - right + 1
        state.camera.reset(snap=True)
        screen = _box_on_screen(h)
        assert screen[:, 0].min() >= left - 1 and screen[:, 0].max() <= 1280 - right + 1
    finally:
        h.close()


# ---------------------------------------------------------------- status line


@pytest.mark.gl
def test_status_line_says_playing_while_balls_roll(panel_texts):
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    def status() -> str:
        panel_texts.clear()
        h.frame()
        return next(t for t in panel_texts if " fps | " in t)

    h = AppHarness((640, 480), "bowl", samples=0)
    try:
        assert "paused" in status()
        h.app._drop_ball(np.array([0.5, 0.5]))  # shift+click: the ball rolls at once
        line = status()
        assert h.state.descent.playing and "playing" in line and "paused" not in line
        h.key("SPACE")
        assert "paused" in status()
    finally:
        h.close()


@pytest.mark.gl
def test_point_panel_at_the_saddle_centre_shows_no_negative_zero(tmp_path, panel_texts):
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    h = AppHarness((800, 600), "saddle", samples=0, screenshot_dir=tmp_path)
    try:
        # grad f = (2x, -2y): -0.0 in y at the centre.
        assert str(h.state.surface.gradient(np.array([0.0, 0.0]))[1]) == "-0.0"
        h.state.point = (0.0, -0.0)
        panel_texts.clear()
        h.frame()
        assert "grad f = (0, 0)" in panel_texts
        assert not [t for t in panel_texts if NEGATIVE_ZERO.search(t)]
    finally:
        h.close()
