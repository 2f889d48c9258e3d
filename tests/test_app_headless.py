"""The app's own event handlers, driven by script on a headless (EGL) moderngl-window window."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.gl

pytest.importorskip("moderngl_window.context.headless")
pytest.importorskip("moderngl_window.context.glfw.keys")

from harness import AppHarness  # noqa: E402

from gradient_explorer.app.state import AppState  # noqa: E402
from gradient_explorer.app.ui import panels  # noqa: E402
from gradient_explorer.render.fonts import FONT_SIZE  # noqa: E402
from gradient_explorer.surfaces.surface import Surface  # noqa: E402

SIZE = (800, 600)
LEFT, RIGHT = 1, 2


class Harness(AppHarness):
    """The reliability harness (``reliability/harness.py``: the real app on a headless
    window, every GL object it creates counted) with the gestures these tests add."""

    def __init__(self, monkeypatch, tmp_path, surface: str = "saddle", samples: int = 4):
        # precompile off: the helper processes have tests of their own
        super().__init__(SIZE, surface, samples, screenshot_dir=tmp_path, precompile=False)

    def drag(self, start, end, button: int = LEFT, steps: int = 8) -> None:
        self.move(*start)
        self.app.on_mouse_press_event(*start, button)
        self.frame()
        (x0, y0), (x1, y1) = start, end
        px, py = x0, y0
        for i in range(1, steps + 1):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
            self.app.on_mouse_drag_event(x, y, x - px, y - py)
            px, py = x, y
            self.frame()
        self.app.on_mouse_release_event(x1, y1, button)
        self.frame()

    def screen_of(self, xy) -> np.ndarray:
        """Window position of the surface point above domain point ``xy``."""
        h = float(self.state.surface.height(np.asarray(xy, dtype=float)))
        return self.app.interaction.to_screen(np.array([xy[0], xy[1], h]))

    def close(self) -> None:
        assert super().close() == "GL_NO_ERROR"


def _panel_right(h: Harness) -> float:
    em = FONT_SIZE * h.app.imgui_input.ui_scale  # the panels are sized in the font's em
    return (panels.PANEL_WIDTH_EM + 2) * em


def _visible_points(h: Harness, candidates) -> list:
    """Domain points whose surface point is on screen, right of the panel, above the status."""
    out = []
    for xy in candidates:
        sx, sy = h.screen_of(xy)
        if not (_panel_right(h) + 20 < sx < SIZE[0] - 20 and 40 < sy < SIZE[1] - 60):
            continue
        hit = h.app.interaction.pick_surface(sx, sy)  # not hidden behind another fold
        if hit is not None and np.allclose(hit[:2], xy, atol=1e-6):
            out.append(xy)
    return out


CANDIDATES = [(x, y) for x in np.linspace(-1.6, 1.6, 9) for y in np.linspace(-1.6, 1.6, 9)]


def test_click_places_the_point_on_the_surface(harness):
    h = harness
    targets = _visible_points(h, CANDIDATES)
    assert len(targets) >= 5
    for xy in targets[:: max(1, len(targets) // 4)]:
        h.click(*h.screen_of(xy))
        assert h.state.point is not None
        np.testing.assert_allclose(h.state.point, xy, atol=2e-3)


def test_drag_on_the_point_moves_it_along_the_surface(harness):
    h = harness
    a, b = (0.8, 0.4), (1.2, -0.6)
    assert _visible_points(h, [a, b]) == [a, b]
    h.click(*h.screen_of(a))
    camera_before = h.state.camera.get_state()
    h.drag(h.screen_of(a), h.screen_of(b))
    np.testing.assert_allclose(h.state.point, b, atol=2e-3)
    assert h.state.camera.get_state() == camera_before  # moving the point is not orbiting


def test_drag_elsewhere_orbits_and_click_slop_is_not_a_drag(harness):
    h = harness
    empty = (SIZE[0] - 30.0, 60.0)  # background, top-right
    az = h.state.camera.get_state()["azimuth"]
    h.drag(empty, (empty[0] - 120, empty[1] + 20))
    h.frame(30, dt=0.1)  # let the damping settle
    assert h.state.camera.get_state()["azimuth"] != pytest.approx(az)
    assert h.state.point is None  # a drag never places the point
    h.click(*empty)  # a click on the background hits nothing: still no point
    assert h.state.point is None


def test_right_drag_pans_and_wheel_zooms(harness):
    h = harness
    target = np.array(h.state.camera.get_state()["target"])
    h.drag((600.0, 300.0), (650.0, 320.0), button=RIGHT)
    h.frame(30, dt=0.1)
    assert not np.allclose(h.state.camera.get_state()["target"], target)
    distance = h.state.camera.get_state()["distance"]
    h.move(600.0, 300.0)
    h.app.on_mouse_scroll_event(0.0, 2.0)
    h.frame(30, dt=0.1)
    assert h.state.camera.get_state()["distance"] < distance


def test_imgui_takes_clicks_over_the_panel(harness):
    h = harness
    h.click(40.0, 250.0)
    assert h.state.point is None


def _click_expression_field(h: Harness) -> None:
    x0, y0, x1, y1 = h.app.ui.rects["expression"]
    h.click((x0 + x1) / 2, (y0 + y1) / 2)
    h.key("A", ctrl=True)  # select what is there, typing replaces it


def _wait_compiled(h: Harness) -> None:
    assert h.app.ui.compiler.wait(30.0)
    h.frame(2)


def test_typed_expressions_bad_keeps_the_old_surface_good_replaces_it(harness):
    h = harness
    old = h.state.surface
    _click_expression_field(h)
    h.type_text("x^2 +* y")
    h.key("ENTER")
    _wait_compiled(h)
    assert h.app.ui.expression_error
    assert h.state.surface is old
    # The error is drawn in place, in red, inside the panel.
    panel = h.pixels()[:, : int(_panel_right(h))].astype(int)
    red = (panel[..., 0] > 200) & (panel[..., 1] < 130) & (panel[..., 2] < 130)
    assert red.sum() > 30

    _click_expression_field(h)
    h.type_text("sin(x) * cos(y)")
    h.key("ENTER")
    _wait_compiled(h)
    assert h.app.ui.expression_error == ""
    assert h.state.surface.formula() == "sin(x) * cos(y)"
    assert float(h.state.surface.f(np.array([0.5, 0.0]))) == pytest.approx(math.sin(0.5))


def test_keys_in_a_text_field_go_to_the_field_not_the_bindings(harness):
    h = harness
    _click_expression_field(h)
    lighting = h.state.view.lighting
    h.key("L")
    h.app.on_unicode_char_entered("l")
    h.frame()
    assert h.state.view.lighting == lighting
    h.key("ESCAPE")  # leaves the field, the app keeps running
    h.key("L")
    assert h.state.view.lighting != lighting


def test_switching_surface_from_the_catalogue(harness):
    h = harness
    panels.choose_surface(h.app.ui, "himmelblau")
    _wait_compiled(h)
    assert h.state.surface.name == "himmelblau"
    assert h.app.ui.expression == h.state.surface.formula()


def test_overlay_pixels_appear_over_the_scene(harness):
    h = harness
    with_ui = h.pixels().astype(int)
    # The bare scene, into the same framebuffer.
    h.wnd.use()
    h.app.scene.render(h.state, SIZE)
    bare = h.app.read_pixels().astype(int)
    differs = np.abs(with_ui - bare).sum(axis=-1) > 30
    panel = differs[20:400, 20 : int(_panel_right(h)) - 40]
    status = differs[-12:, 40:300]
    assert panel.mean() > 0.2  # the panel's text and widgets
    assert status.mean() > 0.05  # the status line
    assert differs[50:300, 650:780].mean() < 0.02  # the 3D view outside the panels is unchanged


def test_f12_writes_a_png_named_after_the_surface(harness, tmp_path):
    h = harness
    h.key("F12")
    files = list(tmp_path.glob("gradient-explorer-saddle-*.png"))
    assert len(files) == 1
    assert re.search(r"-\d{8}-\d{6}(-\d+)?\.png$", files[0].name)
    with Image.open(files[0]) as image:
        assert image.size == SIZE
        colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours[::97], axis=0)) > 50
    assert "saved" in h.app.ui.message


def test_f12_failure_is_a_status_message_and_the_app_goes_on(harness, tmp_path):
    h = harness
    h.app.screenshot_dir = tmp_path / "missing" / "folder"
    h.key("F12")
    assert h.app.ui.message_is_error
    assert "screenshot failed" in h.app.ui.message
    h.frame(2)


def test_key_bindings(harness):
    h = harness
    s, v = h.state, h.state.view
    h.key("SPACE")
    assert s.playing
    lighting = v.lighting
    h.key("L")
    assert v.lighting != lighting
    contours = v.contours
    h.key("C")
    assert v.contours == 0
    h.key("C")
    assert v.contours == contours
    h.key("G")
    assert v.field and v.floor
    h.key("NUMBER_2")
    assert s.mode == "curve"
    h.key("NUMBER_1")
    assert s.mode == "surface"
    h.key("T")
    h.frame(40, dt=0.1)
    assert s.camera.get_state()["elevation"] == pytest.approx(90.0)
    h.key("R")
    h.frame(40, dt=0.1)
    assert s.camera.get_state()["elevation"] < 89.0
    h.key("F1")
    assert h.app.ui.show_help
    h.key("ESCAPE")
    assert not h.app.ui.show_help
    h.app.on_unicode_char_entered("?")
    assert h.app.ui.show_help


def test_resize_to_zero_and_back_does_not_crash(harness):
    h = harness
    w = h.wnd
    saved = (w._width, w._height, w._buffer_width, w._buffer_height)
    w._width = w._height = w._buffer_width = w._buffer_height = 0
    h.app.on_resize(0, 0)
    h.frame(3)
    h.app.on_mouse_press_event(10, 10, LEFT)
    h.app.on_mouse_release_event(10, 10, LEFT)
    h.frame()
    w._width, w._height, w._buffer_width, w._buffer_height = saved
    h.app.on_resize(*SIZE)
    h.frame(2)
    assert h.pixels().std() > 5


def test_try_this_saddle_glides_to_the_centre(harness):
    h = harness
    panels.try_saddle(h.state, h.app.ui)
    assert h.app.ui.compiler.wait(30.0)  # the saddle is built in the pipeline
    h.frame(8, dt=0.5)
    assert h.state.point == (0.0, 0.0)
    readout = panels.point_readout(h.state.surface, h.state.point, 0.0)
    assert readout.length == 0.0
    assert readout.verdict == "saddle"


def test_point_readout_directional_derivatives():
    surface = Surface.named("banana")
    r = panels.point_readout(surface, (0.5, 1.5), 0.0)
    along = panels.point_readout(surface, (0.5, 1.5), r.angle)
    assert along.directional == pytest.approx(r.length)
    level = panels.point_readout(surface, (0.5, 1.5), r.angle + 90.0)
    assert abs(level.directional) < 1e-9 * r.length
    assert abs(r.level_directional) < 1e-9 * r.length


def test_release_leaves_no_live_gl_objects(monkeypatch, tmp_path):
    h = Harness(monkeypatch, tmp_path)
    h.click(*h.screen_of((0.8, 0.4)))
    h.state.view.slice = True
    h.key("F12")
    h.key("F1")
    assert h.live() > 0
    h.app.release()
    assert h.live() == 0
    h.close()  # releasing twice is harmless


def test_panels_in_a_headless_render(ctx, tmp_path):
    from gradient_explorer.render.headless import HeadlessRenderer, save_png

    state = AppState.for_surface(Surface.named("banana"), aspect=SIZE[0] / SIZE[1])
    state.point = (0.5, 1.5)
    state.view.slice = True
    ui = panels.UiState(gl_renderer=ctx.info["GL_RENDERER"])
    renderer = HeadlessRenderer(ctx)
    try:
        bare = renderer.render(state, SIZE, draw_ui=lambda: None).astype(int)
        for _ in range(2):  # auto-sized imgui windows appear on their second frame
            shown = renderer.render(state, SIZE, draw_ui=lambda: panels.draw_panels(state, ui))
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    save_png(shown, tmp_path / "panels.png")
    differs = np.abs(shown.astype(int) - bare).sum(-1) > 30
    assert differs[20:400, 20:300].mean() > 0.2
    assert differs[50:250, 650:780].mean() < 0.02


def test_try_this_curve_mode_sweeps_and_space_pauses(harness):
    h = harness
    panels.try_curve_mode(h.state, h.app.ui)
    assert h.state.mode == "curve" and h.state.curve.playing
    x0 = h.state.curve.x
    h.frame(5, dt=0.1)
    assert h.state.curve.x != x0  # the tangent point sweeps along the curve
    h.key("SPACE")
    assert not h.state.curve.playing
    x1 = h.state.curve.x
    h.frame(3, dt=0.1)
    assert h.state.curve.x == x1


def test_shift_click_drops_a_rolling_ball(harness):
    h = harness
    xy = _visible_points(h, CANDIDATES)[-1]
    sx, sy = h.screen_of(xy)
    h.move(sx, sy)
    h.wnd._modifiers.shift = True
    h.app.on_mouse_press_event(sx, sy, LEFT)
    h.frame()
    h.app.on_mouse_release_event(sx, sy, LEFT)
    h.wnd._modifiers.shift = False
    assert h.state.descent.active
    ((d),) = h.state.descent.descents[-1:]
    np.testing.assert_allclose(d.positions[-1], xy, atol=2e-3)
    f0 = float(h.state.surface.f(d.positions[-1]))
    h.frame(20, dt=0.1)  # the ball rolls downhill
    assert float(h.state.surface.f(d.positions[-1])) < f0


def test_a_click_on_a_panel_before_the_next_frame_stays_with_the_panel(harness):
    """At a low frame rate the mouse can move onto a panel and click before imgui has
    drawn a frame there (its want_capture_mouse still says 'the scene'): the click must
    not fall through the panel and place the point on the surface behind it."""
    from imgui_bundle import imgui

    h = harness
    h.key("F1")  # the help window, over the middle of the scene
    h.frame(3)
    imgui.set_current_context(h.app._imgui_ctx)
    w = imgui.internal.find_window_by_name("Keys and mouse")
    x0, y0, x1, y1 = w.pos.x, w.pos.y, w.pos.x + w.size.x, w.pos.y + w.size.y
    behind = [
        xy
        for xy in _visible_points(h, CANDIDATES)
        if x0 + 10 < h.screen_of(xy)[0] < x1 - 10 and y0 + 30 < h.screen_of(xy)[1] < y1 - 10
    ]
    assert behind, "no surface point behind the help window"
    x, y = (float(v) for v in h.screen_of(behind[0]))
    h.move(x1 + 20.0, 0.5 * (y0 + y1))  # right of the help window, over the scene
    h.frame(3)
    assert not imgui.get_io().want_capture_mouse
    h.app.on_mouse_position_event(x, y, 0, 0)  # no frame in between, as xdotool at 2 fps
    h.app.on_mouse_press_event(x, y, LEFT)
    h.app.on_mouse_release_event(x, y, LEFT)
    h.frame(3)
    assert h.state.point is None
