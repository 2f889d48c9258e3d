"""`render` and `ge.render` of a curve: the 1D mode's picture, checked against numpy.

Each picture is small (320x200). Where the 1D view puts a value is predicted from the
layout (`curve_layout`, numpy only) and f evaluated by numpy itself, and the pixels there
must have the colour of what is drawn: the curve, the tangent, the f' = 0 markers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

import gradient_explorer as ge
from gradient_explorer.app.curve_mode import stationary_points
from gradient_explorer.cli import main
from gradient_explorer.errors import UsageError
from gradient_explorer.render.visuals.curve_visual import (
    AXIS_COLOR,
    CURVE_COLOR,
    KIND_COLORS,
    TANGENT_COLOR,
    break_at_poles,
    curve_layout,
    unshown_note,
)
from gradient_explorer.surfaces.surface import Surface

pytestmark = pytest.mark.gl

SIZE = (320, 200)


def rgb(color) -> np.ndarray:
    return np.array([round(255 * c) for c in color[:3]], dtype=np.int16)


def near_color(image: np.ndarray, px: float, py: float, color, radius: int = 2) -> bool:
    """Some pixel within ``radius`` of (px, py) has ``color`` (anti-aliasing allowed)."""
    x, y = round(px), round(py)
    h = image.shape[0]
    patch = image[max(0, y - radius) : min(h, y + radius + 1), max(0, x - radius) : x + radius + 1]
    distance = np.abs(patch.astype(np.int16) - rgb(color)).max(axis=-1)
    return bool((distance <= 40).any())


def color_mask(image: np.ndarray, color, tol: int = 40) -> np.ndarray:
    return np.abs(image.astype(np.int16) - rgb(color)).max(axis=-1) <= tol


def render_cli(tmp_path, *args) -> np.ndarray:
    out = tmp_path / "curve.png"
    size = f"{SIZE[0]}x{SIZE[1]}"
    assert main(["render", *args, "--size", size, "--out", str(out)]) == 0
    return np.asarray(Image.open(out).convert("RGB"))


def curve_samples_in_band(band, xs: np.ndarray, ys: np.ndarray, margin: float = 6.0):
    """(px, py) of the samples that land well inside the band."""
    pix = band.to_pixel(xs, ys)
    left, top, right, bottom = band.rect
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(ys) & (pix[:, 1] > top + margin) & (pix[:, 1] < bottom - margin)
        keep &= (pix[:, 0] > left + margin) & (pix[:, 0] < right - margin)
    return pix[keep]


def assert_curve_where_numpy_predicts(
    image, curve, f_numpy, avoid=(), tangent=None, margin: float = 6.0
) -> int:
    """Every predicted point of the curve inside the band is curve-coloured; returns count.

    Points within 14 px of ``avoid`` (the point, markers) and within 5 rows of the
    tangent line ``tangent = (x, f, slope)`` (drawn over the curve) are skipped.
    """
    layout = curve_layout(curve, SIZE, True)
    band = layout.main
    (x0, x1) = curve.domain[0]
    xs = np.linspace(x0, x1, 81)[1:-1]
    with np.errstate(all="ignore"):
        ys = f_numpy(xs)
    checked = 0
    for px, py in curve_samples_in_band(band, xs, ys, margin):
        if any(math.hypot(px - ax, py - ay) < 14 for ax, ay in avoid):
            continue  # under the point or a marker
        if tangent is not None:
            tx, tf, slope = tangent
            t = band.x_range[0] + (px - band.rect[0]) / (band.rect[2] - band.rect[0]) * (
                band.x_range[1] - band.x_range[0]
            )
            if abs(band.to_pixel(t, tf + slope * (t - tx))[1] - py) < 5:
                continue  # the tangent is drawn over the curve here
        assert near_color(image, px, py, CURVE_COLOR), (px, py)
        checked += 1
    return checked


def test_render_cubic_curve_tangent_and_labelled_stationary_points(tmp_path):
    image = render_cli(tmp_path, "--surface", "cubic", "--point", "1.5")
    curve = Surface.named("cubic")
    layout = curve_layout(curve, SIZE, True)
    main_band = layout.main
    x = 1.5
    fx, slope = x**3 - 3 * x, 3 * x**2 - 3
    point = main_band.to_pixel(x, fx)
    minimum, maximum = main_band.to_pixel(1.0, -2.0), main_band.to_pixel(-1.0, 2.0)
    checked = assert_curve_where_numpy_predicts(
        image, curve, lambda t: t**3 - 3 * t, (point, minimum, maximum), (x, fx, slope)
    )
    assert checked >= 15
    # the tangent y = f(1.5) + f'(1.5) (t - 1.5), away from the point and the curve
    for t in (0.3, 2.2):  # clear of the "minimum" label under its marker
        px, py = main_band.to_pixel(t, fx + slope * (t - x))
        if main_band.rect[1] + 4 < py < main_band.rect[3] - 4:
            assert near_color(image, px, py, TANGENT_COLOR), t
    # markers where f' = 0, in the verdict's colour, at numpy's x = -1 (max) and 1 (min)
    assert near_color(image, *maximum, KIND_COLORS["maximum"], radius=1)
    assert near_color(image, *minimum, KIND_COLORS["minimum"], radius=1)
    found = {(round(sp.x, 6), sp.kind) for sp in stationary_points(curve)}
    assert found == {(-1.0, "maximum"), (1.0, "minimum")}


def test_render_curve_labels_name_the_stationary_points(ctx):
    from gradient_explorer.cli.render import state_from_args
    from gradient_explorer.render.headless import HeadlessRenderer

    class Args:
        size, surface, param, point = "320x200", "cubic", [], "0.5"
        session = expr = domain = display = None
        lighting = contours = grid = camera = view = None
        floor = field = normals = no_axes = False

    state, size = state_from_args(Args())
    renderer = HeadlessRenderer(ctx)
    try:
        renderer.render(state, size)
        labels = renderer.scene.curve_visual.screen_labels
        layout = renderer.scene.curve_visual.layout
    finally:
        renderer.release()
    texts = {text: pos for pos, text, _ in labels}
    assert "minimum" in texts and "maximum" in texts
    # each label sits just beside its marker: x of the marker, within 20 px above/below
    for text, (x, y) in ((("minimum"), (1.0, -2.0)), (("maximum"), (-1.0, 2.0))):
        px, py = layout.main.to_pixel(x, y)
        lx, ly = texts[text]
        assert abs(lx - px) < 1 and 10 < abs(ly - py) < 20
    assert state.curve.x == 0.5


def test_render_typed_curve_with_param_draws_that_curve(tmp_path):
    image = render_cli(tmp_path, "--expr", "a*x^2 - 1", "--param", "a=0.5", "--point", "-2")
    curve = Surface.from_expr("a*x^2 - 1").with_params(a=0.5)
    layout = curve_layout(curve, SIZE, True)
    point = layout.main.to_pixel(-2.0, 1.0)
    low = layout.main.to_pixel(0.0, -1.0)
    checked = assert_curve_where_numpy_predicts(
        image, curve, lambda t: 0.5 * t**2 - 1, (point, low), (-2.0, 1.0, -2.0)
    )
    assert checked >= 15


@pytest.mark.parametrize(
    ("expr", "f_numpy", "fprime", "x"),
    [
        ("exp(exp(exp(x)))", lambda t: np.exp(np.exp(np.exp(t))),
         lambda t: math.exp(math.exp(math.exp(t)) + math.exp(t) + t), 1.5),
        ("1/x", lambda t: 1 / t, lambda t: -1 / t**2, 0.5),
        ("log(x)", lambda t: np.where(t > 0, np.log(np.abs(t)), np.nan), lambda t: 1 / t, 0.5),
        ("tan(x)", np.tan, lambda t: 1 / math.cos(t) ** 2, 0.5),
    ],
)  # fmt: skip
def test_render_hard_curves_exit_0_with_one_note_and_the_drawable_part(
    tmp_path, capsys, expr, f_numpy, fprime, x
):
    image = render_cli(tmp_path, "--expr", expr, "--point", str(x))
    out = capsys.readouterr()
    notes = out.err.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("gradient-explorer: note: ")
    curve = Surface.from_expr(expr)
    layout = curve_layout(curve, SIZE, True)
    fx, slope = float(f_numpy(np.array([x]))[0]), fprime(x)
    point = layout.main.to_pixel(x, fx)
    # exp(exp(exp(x))) runs along the band's foot (1e15 tall) until it shoots up: margin 3
    checked = assert_curve_where_numpy_predicts(image, curve, f_numpy, (point,), (x, fx, slope), 3)
    assert checked >= 6  # log(x): half the domain; tan(x): mostly under its flat tangent
    # the tangent where numpy puts it: at half the band's height, t = x + (y - f) / f'
    band = layout.main
    y_mid = 0.5 * (band.y_range[0] + band.y_range[1])
    t_mid = x + (y_mid - fx) / slope
    if band.x_range[0] < t_mid < band.x_range[1]:
        assert near_color(image, *band.to_pixel(t_mid, y_mid), TANGENT_COLOR, radius=1)
    if expr == "log(x)":  # nothing drawn where f is undefined
        left, top, _, bottom = (int(v) for v in layout.main.rect)
        zero = int(layout.main.to_pixel(0.0, 0.0)[0])
        band = image[top + 3 : bottom - 3, left + 3 : zero - 4]
        assert not color_mask(band, CURVE_COLOR).any()


def test_overflow_note_names_where_float64_overflows():
    curve = Surface.from_expr("exp(exp(exp(x)))")
    note = unshown_note(curve, SIZE)
    # exp(exp(exp(x))) > max float64 past x = log(log(log(max)))
    edge = math.log(math.log(math.log(np.finfo(np.float64).max)))
    first = float(note.split("not a finite number for x in [")[1].split(",")[0])
    step = 6.0 / 1199
    assert abs(first - edge) <= step
    assert "clipped" in note
    assert unshown_note(Surface.named("cubic"), SIZE) == ""


def test_poles_are_not_joined_by_a_vertical_stroke():
    xs = np.linspace(-3, 3, 1200)
    with np.errstate(all="ignore"):
        ys = np.tan(xs)
    bx, by = break_at_poles(xs, ys, (-30.0, 30.0))
    breaks = bx[np.isnan(by)]
    assert len(breaks) == 2  # tan's poles in [-3, 3]: -pi/2 and pi/2
    # each break sits between the two samples around a pole
    for pole in (-math.pi / 2, math.pi / 2):
        i = np.searchsorted(xs, pole)
        assert np.isnan(by[np.searchsorted(bx, xs[i - 1]) + 1])
    same_x, same_y = break_at_poles(xs, xs**3, (-30.0, 30.0))
    assert not np.isnan(same_y).any() and len(same_x) == len(xs)


def test_no_axes_hides_grid_ticks_and_axes_for_a_curve(tmp_path):
    with_axes = render_cli(tmp_path, "--surface", "sine")
    without = render_cli(tmp_path, "--surface", "sine", "--no-axes")

    # an axis or frame line is a long run of axis-coloured pixels in one row or column
    def longest_line(image):
        mask = color_mask(image, AXIS_COLOR, 12)
        return max(mask.sum(axis=0).max(), mask.sum(axis=1).max())

    assert longest_line(with_axes) > 100
    assert longest_line(without) < 5


@pytest.mark.parametrize(
    ("flags", "word"),
    [
        (["--point", "1,2"], "one number"),
        (["--point", "9"], "outside the domain"),
        (["--point", "x"], "numbers"),
        (["--floor"], "--floor"),
        (["--field"], "--field"),
        (["--normals"], "--normals"),
        (["--lighting", "unlit"], "--lighting"),
        (["--camera", "30,20,5"], "--camera"),
        (["--view", "top"], "--view"),
        (["--contours", "5"], "--contours"),
        (["--grid", "64"], "--grid"),
        (["--display", "log1p"], "--display"),
    ],
)
def test_render_curve_refuses_what_does_not_apply_in_one_line(tmp_path, capsys, flags, word):
    out = tmp_path / "x.png"
    assert main(["render", "--surface", "cubic", *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0]
    assert not out.exists()


def test_render_session_in_1d_mode(tmp_path):
    from gradient_explorer.app.session import save_session
    from gradient_explorer.app.state import AppState

    state = AppState(surface=Surface.named("sine"))
    state.mode = "curve"
    state.curve.source = "slice"
    state.curve.show_stationary = False  # the session's 1D settings hold: no markers
    path = tmp_path / "s.json"
    save_session(state, path)
    image = render_cli(tmp_path, "--session", str(path), "--point", "0.25")
    curve = Surface.named("sine")
    layout = curve_layout(curve, SIZE, True)
    px, py = layout.main.to_pixel(0.25, float(curve.f(np.array([0.25]))[0]))
    assert near_color(image, px, py, (1.0, 0.42, 0.08), radius=1)  # the point is there
    slope = math.cos(0.25)
    tangent = (0.25, math.sin(0.25), slope)
    assert assert_curve_where_numpy_predicts(image, curve, np.sin, ((px, py),), tangent) >= 20
    left, top, right, bottom = (int(v) for v in layout.main.rect)
    stationary = ("minimum", "maximum", "degenerate critical point", "not differentiable")
    for color in (KIND_COLORS[k] for k in stationary):  # in the curve's band (f' is purple)
        assert not color_mask(image[top:bottom, left:right], color, 20).any()


def test_api_render_draws_a_curve_and_refuses_3d_options():
    curve = Surface.named("cubic")
    image = ge.render(curve, size=SIZE, point=1.5)
    layout = curve_layout(curve, SIZE, True)
    point = layout.main.to_pixel(1.5, 1.5**3 - 4.5)
    marks = (layout.main.to_pixel(1.0, -2.0), layout.main.to_pixel(-1.0, 2.0), point)
    assert image.shape == (SIZE[1], SIZE[0], 3)
    tangent = (1.5, 1.5**3 - 4.5, 3 * 1.5**2 - 3)
    cubic = lambda t: t**3 - 3 * t  # noqa: E731
    checked = assert_curve_where_numpy_predicts(image, curve, cubic, marks, tangent)
    assert checked >= 15
    assert near_color(image, *point, (1.0, 0.42, 0.08), radius=1)
    for kwargs in ({"lighting": "unlit"}, {"field": True}, {"camera": (0, 30, 5)}):
        with pytest.raises(UsageError):
            ge.render("cubic", size=SIZE, **kwargs)
    for bad in ((1.0, 2.0), 99.0, "x"):
        with pytest.raises(UsageError):
            ge.render("cubic", size=SIZE, point=bad)


@pytest.mark.gl
def test_a_small_picture_keeps_the_slope_and_verdicts_over_ticks(ctx):
    # labels that collide are thinned; the moving slope label and the verdicts are what
    # the 1D mode is about, so ticks and titles give way first
    from gradient_explorer.app.curve_mode import follow_surface
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render.headless import HeadlessRenderer
    from gradient_explorer.render.labels import layout_labels

    renderer = HeadlessRenderer(ctx, grid=32)
    try:
        state = AppState(surface=Surface.named("cubic"))
        follow_surface(state)
        state.curve.x = 0.9
        size = (240, 160)
        renderer.render(state, size, overlay=False)
        placed = layout_labels(
            renderer.scene.labels, state.camera, size, lambda t: (7.0 * len(t), 13.0)
        )
        kept = [label.text for label, _ in placed]
        assert "minimum" in kept and "slope -0.57" in kept
        assert len(kept) < len(renderer.scene.labels)  # something did give way
    finally:
        renderer.release()
