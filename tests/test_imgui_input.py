"""ImguiInput: synthetic moderngl-window events drive a real imgui text field."""

from __future__ import annotations

import itertools

import pytest
from imgui_bundle import imgui
from moderngl_window.context.base import BaseKeys, KeyModifiers

from gradient_explorer.app.ui.imgui_input import ImguiInput, build_key_map


class FakeKeys(BaseKeys):
    """Like a real backend's Keys: every named key gets a distinct code."""

    ACTION_PRESS = 1
    ACTION_RELEASE = 0


_codes = itertools.count(1000)
for _name in dir(BaseKeys):
    if (
        _name.isupper()
        and not _name.startswith("ACTION")
        and getattr(BaseKeys, _name) == "undefined"
    ):
        setattr(FakeKeys, _name, next(_codes))

FIELD_POS = (10.0, 10.0)
FIELD_WIDTH = 200.0


def _mods(ctrl: bool = False, shift: bool = False) -> KeyModifiers:
    mods = KeyModifiers()
    mods.ctrl, mods.shift = ctrl, shift
    return mods


class Harness:
    """One imgui window with one text field; records the field's text every frame."""

    def __init__(self) -> None:
        self.inp = ImguiInput(keys=FakeKeys)
        self.inp.set_display((320, 200))
        # No renderer here: claim texture support so imgui doesn't want a prebuilt atlas.
        imgui.get_io().backend_flags |= imgui.BackendFlags_.renderer_has_textures
        self.text = ""
        self.field_rect = (0.0, 0.0, 0.0, 0.0)

    def frame(self, n: int = 1) -> None:
        for _ in range(n):
            self.inp.new_frame(1 / 60)
            imgui.set_next_window_pos(FIELD_POS)
            imgui.set_next_window_size((260, 80))
            imgui.begin("input test", flags=imgui.WindowFlags_.no_title_bar)
            imgui.set_next_item_width(FIELD_WIDTH)
            _, self.text = imgui.input_text("##field", self.text)
            lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
            self.field_rect = (lo.x, lo.y, hi.x, hi.y)
            imgui.end()
            imgui.render()

    def click(self, x: float, y: float) -> bool:
        self.inp.on_mouse_position_event(x, y, 0, 0)
        self.frame()
        took = self.inp.on_mouse_press_event(x, y, 1)
        self.frame()
        self.inp.on_mouse_release_event(x, y, 1)
        self.frame()
        return took

    def focus_field(self) -> None:
        x0, y0, x1, y1 = self.field_rect
        assert self.click((x0 + x1) / 2, (y0 + y1) / 2)
        assert imgui.get_io().want_text_input

    def key(self, name: str, ctrl: bool = False, shift: bool = False) -> bool:
        code = getattr(FakeKeys, name)
        took = self.inp.on_key_event(code, FakeKeys.ACTION_PRESS, _mods(ctrl, shift))
        self.frame()
        self.inp.on_key_event(code, FakeKeys.ACTION_RELEASE, _mods(ctrl, shift))
        self.frame()
        return took

    def chord(self, name: str) -> None:
        """Ctrl+<name> the way glfw reports it: Ctrl's own press carries no ctrl flag."""
        ctrl = FakeKeys.LEFT_CTRL
        self.inp.on_key_event(ctrl, FakeKeys.ACTION_PRESS, _mods())
        self.frame()
        self.key(name, ctrl=True)
        self.inp.on_key_event(ctrl, FakeKeys.ACTION_RELEASE, _mods(ctrl=True))
        self.frame()

    def quick_chord(self, name: str) -> None:
        """Ctrl held, then <name> pressed and all let go between two frames, in the
        order glfw on X11 delivers it (xdotool, a quick hand): <name> down, Ctrl up,
        <name> up."""
        ctrl, code = FakeKeys.LEFT_CTRL, getattr(FakeKeys, name)
        press, release = FakeKeys.ACTION_PRESS, FakeKeys.ACTION_RELEASE
        self.inp.on_key_event(ctrl, press, _mods())
        self.frame()  # Ctrl went down a frame earlier
        self.inp.on_key_event(code, press, _mods(ctrl=True))
        self.inp.on_key_event(ctrl, release, _mods(ctrl=True))
        self.inp.on_key_event(code, release, _mods())
        self.frame(3)

    def type(self, text: str) -> None:
        for char in text:
            assert self.inp.on_unicode_char_entered(char)
        self.frame(2)


@pytest.fixture
def harness():
    context = imgui.create_context()
    try:
        h = Harness()
        h.frame()
        yield h
    finally:
        imgui.destroy_context(context)


def test_typing_and_editing_keys(harness):
    harness.focus_field()
    harness.type("abc")
    assert harness.text == "abc"
    assert harness.key("BACKSPACE")
    assert harness.text == "ab"
    harness.key("HOME")
    harness.type("X")
    assert harness.text == "Xab"
    harness.key("END")
    harness.type("Y")
    assert harness.text == "XabY"
    harness.key("HOME")
    harness.key("DELETE")
    assert harness.text == "abY"
    harness.key("LEFT")
    harness.type("-")
    assert harness.text == "-abY"


def test_ctrl_a_then_typing_replaces(harness):
    harness.focus_field()
    harness.type("old text")
    harness.chord("A")
    harness.type("new")
    assert harness.text == "new"


def test_quick_ctrl_chords_between_two_frames(harness):
    harness.focus_field()
    harness.type("(a - x)^2")
    harness.quick_chord("A")
    harness.key("BACKSPACE")  # deletes the selection, not one character
    assert harness.text == ""
    harness.type("xy")
    harness.quick_chord("A")
    harness.quick_chord("C")
    assert harness.inp.clipboard == "xy"
    harness.key("END")
    harness.quick_chord("V")
    assert harness.text == "xyxy"
    harness.type("z")  # Ctrl is up again: plain typing
    assert harness.text == "xyxyz"
    assert not imgui.get_io().key_ctrl


def test_a_key_after_a_quick_chord_does_not_get_its_ctrl(harness):
    """Ctrl+A, Backspace and a letter, all between two frames at a low frame rate:
    Backspace deletes the selection, and neither it nor the letter gets Ctrl."""
    harness.focus_field()
    harness.type("abc")
    inp, keys = harness.inp, FakeKeys
    press, release = keys.ACTION_PRESS, keys.ACTION_RELEASE
    inp.on_key_event(keys.LEFT_CTRL, press, _mods())
    harness.frame()
    inp.on_key_event(keys.A, press, _mods(ctrl=True))
    inp.on_key_event(keys.LEFT_CTRL, release, _mods(ctrl=True))
    inp.on_key_event(keys.A, release, _mods())
    inp.on_key_event(keys.BACKSPACE, press, _mods())
    inp.on_key_event(keys.BACKSPACE, release, _mods())
    inp.on_unicode_char_entered("q")  # imgui drops text typed with Ctrl down
    harness.frame(6)
    assert harness.text == "q"
    assert not imgui.get_io().key_ctrl


def test_copy_paste_through_fallback_clipboard(harness):
    harness.focus_field()
    harness.type("xy")
    harness.chord("A")
    harness.chord("C")
    assert harness.inp.clipboard == "xy"
    harness.key("END")
    harness.chord("V")
    assert harness.text == "xyxy"
    harness.chord("A")
    harness.chord("X")
    assert harness.text == ""
    assert harness.inp.clipboard == "xyxy"


def test_enter_deactivates_and_keys_return_to_the_app(harness):
    harness.focus_field()
    harness.type("1")
    assert harness.key("ENTER")
    assert not imgui.get_io().want_text_input
    # The app now gets plain keys such as W/A/S/D.
    assert not harness.key("W")


def test_mouse_capture_over_window_but_not_elsewhere(harness):
    x0, y0, x1, y1 = harness.field_rect
    inside = ((x0 + x1) / 2, (y0 + y1) / 2)
    outside = (300.0, 190.0)

    assert harness.inp.on_mouse_position_event(*inside, 0, 0) is False  # flags lag a frame
    harness.frame()
    assert harness.inp.on_mouse_position_event(*inside, 0, 0) is True
    assert harness.inp.on_mouse_scroll_event(0.0, 1.0) is True

    harness.inp.on_mouse_position_event(*outside, 0, 0)
    harness.frame(2)  # imgui trickles the queued wheel and move over two frames
    assert harness.inp.on_mouse_press_event(*outside, 1) is False
    harness.frame()
    # A camera drag that started in the scene stays with the scene over the window.
    assert harness.inp.on_mouse_drag_event(*inside, 0, 0) is False
    harness.frame()
    assert harness.inp.on_mouse_drag_event(*inside, 0, 0) is False
    assert harness.inp.on_mouse_release_event(*inside, 1) is False


def test_modifier_state_follows_events(harness):
    io = imgui.get_io()
    harness.inp.on_key_event(FakeKeys.LEFT_SHIFT, FakeKeys.ACTION_PRESS, _mods())
    harness.frame()
    assert io.key_shift
    harness.inp.on_key_event(FakeKeys.LEFT_SHIFT, FakeKeys.ACTION_RELEASE, _mods(shift=True))
    harness.frame()
    assert not io.key_shift


def test_headless_keys_map_to_nothing_and_real_keys_cover_text_editing():
    from moderngl_window.context.headless.keys import Keys as HeadlessKeys

    assert build_key_map(HeadlessKeys) == {}
    mapping = build_key_map(FakeKeys)
    for name, key in [
        ("A", imgui.Key.a),
        ("C", imgui.Key.c),
        ("V", imgui.Key.v),
        ("X", imgui.Key.x),
        ("Z", imgui.Key.z),
        ("HOME", imgui.Key.home),
        ("END", imgui.Key.end),
        ("BACKSPACE", imgui.Key.backspace),
        ("DELETE", imgui.Key.delete),
        ("ENTER", imgui.Key.enter),
        ("TAB", imgui.Key.tab),
        ("ESCAPE", imgui.Key.escape),
        ("LEFT", imgui.Key.left_arrow),
        ("NUMBER_7", imgui.Key._7),
    ]:
        assert mapping[getattr(FakeKeys, name)] == key


def test_ui_scale_follows_content_scale():
    context = imgui.create_context()
    try:
        inp = ImguiInput(keys=FakeKeys)
        style = imgui.get_style()
        padding = style.window_padding.x
        inp.set_display((800, 600), framebuffer_scale=1.0, content_scale=2.0)
        assert inp.ui_scale == 2.0
        assert style.font_scale_dpi == 2.0
        assert style.window_padding.x == pytest.approx(2 * padding, abs=1)
        # A Retina display: the framebuffer scale already gives the extra pixels.
        inp.set_display((800, 600), framebuffer_scale=2.0, content_scale=2.0)
        assert inp.ui_scale == 1.0
        assert style.window_padding.x == pytest.approx(padding, abs=1)
        assert tuple(imgui.get_io().display_framebuffer_scale) == (2.0, 2.0)
    finally:
        imgui.destroy_context(context)
