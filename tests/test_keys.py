"""The one key table (view/keys.py): every key listed works, every key handled is listed,
and the F1 help lists exactly the table. Driven through the real app's key events on a
headless window (the reliability harness)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.controller import KEY_BINDINGS, OrbitController
from gradient_explorer.view.keys import (
    BINDINGS,
    CAMERA_ACTIONS,
    KEY_HELP,
    KEY_TABLE,
    binding_for,
)

SIZE = (640, 480)


def _camera_reference(camera: OrbitCamera, action: str, ctl: OrbitController) -> OrbitCamera:
    """The camera after ``action``, made with the camera's own methods (not the controller)."""
    ref = copy.deepcopy(camera)
    step, zoom = ctl.key_orbit_step, ctl.zoom_speed
    if action == "reset":
        ref.reset()
    elif action.startswith("preset "):
        ref.preset(action.removeprefix("preset "), aspect=SIZE[0] / SIZE[1])
    elif action == "toggle projection":
        ref.projection = "orthographic" if ref.projection == "perspective" else "perspective"
    elif action.startswith("orbit "):
        d = {"left": (step, 0), "right": (-step, 0), "up": (0, step), "down": (0, -step)}
        ref.orbit(*d[action.removeprefix("orbit ")])
    elif action == "zoom in":
        ref.zoom(math.exp(-zoom))
    elif action == "zoom out":
        ref.zoom(math.exp(zoom))
    else:
        raise AssertionError(f"no reference for {action!r}")
    ref.snap()
    return ref


def _same_camera(a: OrbitCamera, b: OrbitCamera) -> bool:
    sa, sb = a.get_state(), b.get_state()
    target_a, target_b = sa.pop("target"), sb.pop("target")
    return (
        np.allclose(target_a, target_b)
        and sa.pop("projection") == sb.pop("projection")
        and sa == pytest.approx(sb)
    )


def test_the_table_binds_each_key_once_and_names_known_keys():
    keys = pytest.importorskip("moderngl_window.context.glfw.keys")
    seen = set()
    for b in BINDINGS:
        assert (b.key, b.ctrl, b.char) not in seen
        seen.add((b.key, b.ctrl, b.char))
        if not b.char:
            assert hasattr(keys.Keys, b.key), b.key  # a name the window sends
        assert binding_for(b.key, ctrl=b.ctrl, char=b.char) is b
    # the controller's bindings are the table's camera rows, no more
    camera_keys = {b.key.lower() for b in BINDINGS if b.action in CAMERA_ACTIONS}
    assert set(KEY_BINDINGS) == camera_keys
    assert {b.action for b in BINDINGS} >= set(CAMERA_ACTIONS)


def test_controller_performs_every_camera_binding():
    for b in BINDINGS:
        if b.action not in CAMERA_ACTIONS:
            continue
        cam = OrbitCamera(target=(0.0, 0.0, 0.0), distance=5.0)
        cam.orbit(20.0, 10.0)
        cam.snap()
        ctl = OrbitController(cam, viewport_size=SIZE)
        expected = _camera_reference(cam, b.action, ctl)
        assert ctl.key(b.key)
        cam.snap()
        assert _same_camera(cam, expected), b


@pytest.fixture
def app(tmp_path, monkeypatch):
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    monkeypatch.chdir(tmp_path)  # Ctrl+S writes the session file here
    h = AppHarness(SIZE, "saddle", samples=0, screenshot_dir=tmp_path)
    yield h
    assert h.close() == "GL_NO_ERROR"


def _send(h, b, repeat: bool = False) -> None:
    from moderngl_window.context.base import KeyModifiers
    from moderngl_window.context.glfw.keys import Keys

    if b.char:
        h.app.on_unicode_char_entered(b.key)
        h.frame()
        return
    mods = KeyModifiers()
    mods.ctrl = b.ctrl
    code = getattr(Keys, b.key)
    if repeat:  # what glfw sends for a held key (moderngl-window's Keys do not name it)
        import glfw

        h.app.on_key_event(code, glfw.REPEAT, mods)
    else:
        h.app.on_key_event(code, Keys.ACTION_PRESS, mods)
    h.frame()
    h.app.on_key_event(code, Keys.ACTION_RELEASE, KeyModifiers())
    h.frame()


def _check_app_action(h, b, tmp_path) -> None:
    """Send ``b`` to the app; assert its action happened."""
    state, ui, view = h.state, h.app.ui, h.state.view
    action = b.action
    if action == "play":
        before = state.playing
        _send(h, b)
        assert state.playing != before
    elif action == "cycle lighting":
        modes = ["lit", "unlit", "normals"]
        before = view.lighting
        _send(h, b)
        assert view.lighting == modes[(modes.index(before) + 1) % 3]
    elif action == "toggle contours":
        view.contours = 7
        _send(h, b)
        assert view.contours == 0
        _send(h, b)
        assert view.contours == 7
    elif action == "toggle field":
        view.field = view.floor = False
        _send(h, b)
        assert view.field and view.floor
        _send(h, b)
        assert not view.field
    elif action in ("toggle backprop", "toggle attack"):
        panel = h.app.backprop_panel if action == "toggle backprop" else h.app.attack_panel
        before = panel.visible
        _send(h, b)
        assert panel.visible != before
        _send(h, b)
        assert panel.visible == before
    elif action in ("surface mode", "curve mode"):
        state.mode = "curve" if action == "surface mode" else "surface"
        _send(h, b)
        assert state.mode == action.removesuffix(" mode")
        state.mode = "surface"
    elif action == "toggle help":
        ui.show_help = False
        _send(h, b)
        assert ui.show_help
        _send(h, b)
        assert not ui.show_help
    elif action == "screenshot":
        before = set(tmp_path.glob("*.png"))
        _send(h, b)
        h.frame()
        assert len(set(tmp_path.glob("*.png")) - before) == 1
    elif action == "save session":
        view.lighting = "normals"
        _send(h, b)
        assert (tmp_path / "gradient-explorer-session.json").exists()
    elif action == "load session":
        view.lighting = "unlit"
        _send(h, b)
        assert ui.compiler.wait(30.0)  # read and built in the build pipeline
        h.frame(2)
        assert h.state.view.lighting == "normals"  # what Ctrl+S saved (a new view)
    elif action == "close":
        closed = []
        real_close, h.wnd.close = h.wnd.close, lambda: closed.append(True)  # keep it open
        try:
            ui.show_help = True
            _send(h, b)
            assert not ui.show_help and not closed
            _send(h, b)
            assert closed == [True]
        finally:
            h.wnd.close = real_close
    else:
        raise AssertionError(f"the test has no check for {action!r}")


@pytest.mark.gl
def test_every_key_in_the_table_works_in_the_app(app, tmp_path):
    h = app
    # Ctrl+S before Ctrl+O: the load checks what the save wrote
    order = sorted(BINDINGS, key=lambda b: b.action == "load session")
    for b in order:
        if b.action in CAMERA_ACTIONS:
            cam = h.state.camera
            cam.orbit(20.0, 10.0)
            cam.snap()
            expected = _camera_reference(cam, b.action, h.app.controller)
            _send(h, b)
            cam.snap()
            assert _same_camera(cam, expected), b
            if b.repeat:  # held: the window's repeat events act again
                expected = _camera_reference(cam, b.action, h.app.controller)
                _send(h, b, repeat=True)
                cam.snap()
                assert _same_camera(cam, expected), b
        else:
            _check_app_action(h, b, tmp_path)


@pytest.mark.gl
def test_keys_not_in_the_table_do_nothing(app):
    from moderngl_window.context.base import KeyModifiers
    from moderngl_window.context.glfw.keys import Keys

    h = app
    names = [n for n in dir(Keys) if n.isupper() and not n.startswith("ACTION_")]
    unbound = [n for n in names if binding_for(n) is None]
    assert len(names) - len(unbound) == len({b.key for b in BINDINGS if not b.char})

    def snapshot():
        s = h.state
        return (
            copy.deepcopy(s.view), s.mode, s.playing, s.camera.get_state(),
            h.app.ui.show_help, h.app.backprop_panel.visible, h.app._released,
        )  # fmt: skip

    before = snapshot()
    for name in unbound:
        assert not h.app.key(name), name
        for ctrl in (False, True):
            mods = KeyModifiers()
            mods.ctrl = ctrl
            h.app.on_key_event(getattr(Keys, name), Keys.ACTION_PRESS, mods)
            h.app.on_key_event(getattr(Keys, name), Keys.ACTION_RELEASE, KeyModifiers())
    h.frame()
    after = snapshot()
    camera_before, camera_after = before[3], after[3]
    assert before[:3] + before[4:] == after[:3] + after[4:]
    assert camera_after.pop("projection") == camera_before.pop("projection")
    np.testing.assert_allclose(camera_after.pop("target"), camera_before.pop("target"))
    assert camera_after == pytest.approx(camera_before)


@pytest.mark.gl
def test_f1_help_lists_exactly_the_table(app, panel_texts):
    h = app
    h.app.ui.show_help = False
    panel_texts.clear()
    h.frame()
    assert KEY_TABLE[-1].text not in panel_texts  # no help drawn: nothing from the table
    h.app.ui.show_help = True
    panel_texts.clear()
    h.frame()
    listed = [text for row in KEY_HELP for text in row]
    start = panel_texts.index(KEY_HELP[0][0])
    assert panel_texts[start : start + len(listed)] == listed
    assert not set(panel_texts[start + len(listed) :]) & set(listed)
    assert len(KEY_HELP) == len(KEY_TABLE)
