"""Defects a newcomer review found in the window's panels, driven through the real app's
event handlers on a headless window (the ``harness`` fixture)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gl

pytest.importorskip("moderngl_window.context.headless")
pytest.importorskip("moderngl_window.context.glfw.keys")


def _centre(rect) -> tuple[float, float]:
    x0, y0, x1, y1 = rect
    return (x0 + x1) / 2, (y0 + y1) / 2


def _open_descent(h) -> None:
    h.resize(1280, 720)
    h.app.ui.show_descent = True
    h.frame(3)


def test_start_plays_the_run_and_the_buttons_stay_put(harness):
    h = harness
    _open_descent(h)
    rects = h.app.ui.rects
    before = {k: rects[k] for k in ("descent start", "descent play", "descent step")}
    h.click(*_centre(rects["descent start"]))
    ds = h.state.descent
    assert ds.active and ds.playing  # Start starts the run rolling
    h.frame(10, dt=0.1)
    assert ds.descents[0].steps[0] > 0  # and the ball moves without a second click
    assert {k: rects[k] for k in before} == before  # nothing jumped under the pointer
    # Play, where it was before Start, now pauses the run
    h.click(*_centre(before["descent play"]))
    assert not ds.playing
    assert {k: rects[k] for k in before} == before


def test_step_before_start_takes_one_step_and_waits(harness):
    h = harness
    _open_descent(h)
    h.click(*_centre(h.app.ui.rects["descent step"]))
    ds = h.state.descent
    h.frame(10, dt=0.1)
    assert ds.active and not ds.playing
    np.testing.assert_array_equal(ds.descents[0].steps, [1])


@pytest.mark.parametrize("modifier", ["ctrl", "alt"])
def test_plain_key_bindings_do_not_fire_with_ctrl_or_alt(harness, modifier):
    """Ctrl+A (select all, from habit) used to open the attack panel, which A opens."""
    from moderngl_window.context.base import KeyModifiers
    from moderngl_window.context.glfw.keys import Keys

    from gradient_explorer.view.keys import BINDINGS, binding_for

    h = harness
    h.frame()
    fired = []
    h.app.do = lambda action: fired.append(action) or True  # record, do nothing
    plain = [b for b in BINDINGS if not b.ctrl and not b.char and b.key != "ESCAPE"]
    assert any(b.key == "A" for b in plain)
    for b in plain:
        if modifier == "ctrl" and binding_for(b.key, ctrl=True) is not None:
            continue  # Ctrl+S, Ctrl+O: bindings of their own
        mods = KeyModifiers()
        setattr(mods, modifier, True)
        h.app.on_key_event(getattr(Keys, b.key), Keys.ACTION_PRESS, mods)
        h.app.on_key_event(getattr(Keys, b.key), Keys.ACTION_RELEASE, mods)
    assert fired == []
    # the same keys without a modifier still act, and Ctrl's own bindings too
    h.app.on_key_event(Keys.A, Keys.ACTION_PRESS, KeyModifiers())
    mods = KeyModifiers()
    mods.ctrl = True
    h.app.on_key_event(Keys.S, Keys.ACTION_PRESS, mods)
    assert fired == ["toggle attack", "save session"]


def _enter(h, text: str) -> None:
    h.enter_expression(text)
    assert h.app.ui.compiler.wait(60.0)
    h.frame(2)
    assert h.state.surface.formula().replace(" ", "") == text.replace(" ", "")


def test_a_parameter_the_new_text_shares_keeps_its_value_and_range(harness):
    h = harness
    _enter(h, "(a - x)^2 + b*(y - x^2)^2")
    h.state.surface = h.state.surface.with_params(b=100.0)  # as the slider sets it
    h.state.param_ranges["a"] = (-2.0, 2.0)
    _enter(h, "(a - x)^2 + b*(y - x^2)^2 + c*x")
    values = h.state.surface.param_values
    assert values == {"a": 1.0, "b": 100.0, "c": 1.0}  # c is new: its default
    assert h.state.param_ranges["a"] == (-2.0, 2.0)
    lo, hi = h.state.param_ranges["b"]
    assert lo <= 100.0 <= hi  # the slider reaches the kept value
    assert "kept b = 100" in h.app.ui.message
    _enter(h, "a*x^2 + y^2")  # b is gone; a is kept (at its default: nothing to say)
    assert h.state.surface.param_values == {"a": 1.0}
    assert "kept" not in h.app.ui.message


def _window(h, title: str):
    from imgui_bundle import imgui

    imgui.set_current_context(h.app._imgui_ctx)
    return imgui.internal.find_window_by_name(title)


def test_descent_panel_sentences_wrap_inside_the_panel(harness):
    from gradient_explorer.optim.optimizers import OPTIMIZERS

    h = harness
    _open_descent(h)
    h.click(*_centre(h.app.ui.rects["descent start"]))
    for optimizer in OPTIMIZERS:  # each one's description (Adam's was cut at "bias-c")
        h.state.descent.optimizer = optimizer
        h.frame(2)
        w = _window(h, "Descent")
        # nothing wider than the panel: a cut-off sentence makes the content wider
        assert w.content_size_ideal.x <= w.size.x - 2 * w.window_padding.x + 1, optimizer


def test_a_long_status_message_ends_in_an_ellipsis_with_the_whole_in_a_tooltip(harness):
    from gradient_explorer.app.ui.text_fit import ELLIPSIS

    h = harness
    h.resize(640, 480)
    message = "newton left the domain " + "and came back " * 20 + "END"
    h.app.ui.say(message)
    h.frame(2)
    status = _window(h, "##status")
    assert status.content_size_ideal.x <= 640
    assert _window(h, "##Tooltip_00") is None or not _window(h, "##Tooltip_00").active
    h.move(200.0, 475.0)  # the pointer on the status line
    h.frame(2)
    tip = _window(h, "##Tooltip_00")
    assert tip is not None and tip.active
    assert h.app.ui.message == message  # the message itself is whole
    assert ELLIPSIS == "..."
