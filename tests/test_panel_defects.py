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


def test_newton_on_the_banana_race_leaves_the_domain_and_says_so():
    """The Try-this race: Newton's pure step 2 lands at y = -3.18, past the domain's
    y >= -1 (the classic iterates from (-1.2, 1), checked here by hand-written Newton
    steps), comes back at step 3 and converges; the run says so, and so does the legend."""
    from gradient_explorer.app.descent_mode import DescentState
    from gradient_explorer.app.ui.panels import TRY_RACE, TRY_THIS
    from gradient_explorer.render.label_layout import legend_rows
    from gradient_explorer.surfaces.surface import Surface

    surface = Surface.named("banana")
    ds = DescentState()
    ds.adopt_teaching(surface)
    ds.kind, ds.race = "race", list(TRY_RACE)
    ds.start_run(surface)
    ds.step(8)
    i = ds.names.index("newton")
    # pure Newton by hand on (1 - x)^2 + 100 (y - x^2)^2 from the teaching start
    p = np.array(surface.teaching.start, dtype=float)
    path = [p]
    for _ in range(3):
        x, y = p
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        hess = np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
        p = p - np.linalg.solve(hess, g)
        path.append(p)
    (x0, x1), (y0, y1) = surface.domain
    inside = [x0 <= q[0] <= x1 and y0 <= q[1] <= y1 for q in path]
    assert inside == [True, True, False, True]  # out at step 2, back at step 3
    assert "newton left the domain at step 2, to (0.763, -3.18): its trail stops at the edge" in (
        ds.messages
    )
    assert "newton came back into the domain at step 3" in ds.messages
    stopped = int(ds.descents[i].stopped_at[0])
    assert ds.descents[i].status[0] == "converged" and stopped <= 6
    assert ds.domain_note(i) == "left the domain at step 2, back at 3"
    rows = [text for text, _, _ in legend_rows(ds)]
    assert rows[i].endswith("(left the domain at step 2, back at 3)")
    assert all("domain" not in rows[k] for k in range(len(rows)) if k != i)
    text = dict(TRY_THIS)["Banana: race the optimizers"]
    assert "second step leaves the picture" in text and "within six steps" in text
    # a restart forgets the trip; the replayed run says it again
    ds.reset()
    assert ds.domain_note(i) == ""
    ds.step(3)
    assert ds.domain_note(i) == "left the domain at step 2, back at 3"


def test_edge_marks_sit_on_the_edge_where_a_trail_leaves_and_comes_back():
    from gradient_explorer.render.geometry import clip_steps
    from gradient_explorer.render.visuals.balls_visual import edge_marks

    domain = ((-2.0, 2.0), (-1.0, 3.0))
    p0 = np.array([[-1.1753, 1.3807], [0.7631, -3.1750], [0.0, 0.0], [1.9, 2.9]])
    p1 = np.array([[0.7631, -3.1750], [0.7634, 0.5828], [0.5, 0.5], [2.5, 3.5]])
    a, b, keep = clip_steps(p0, p1, domain)
    lo, hi, which = edge_marks(p0[keep], p1[keep], a, b, domain, 0.1)
    # step 0 leaves through y = -1, step 1 comes back through it, step 3 leaves at a corner
    assert sorted(which.tolist()) == [0, 1, 3]
    edges = np.array(domain)  # rows: x's (lo, hi), y's (lo, hi)
    for s, e0, e1 in zip(which, lo, hi, strict=True):
        # both ends on one edge line: the bar lies along the edge
        along = [
            np.min(np.abs(edges[c] - e0[c])) < 1e-9 and abs(e0[c] - e1[c]) < 1e-9 for c in (0, 1)
        ]
        assert any(along), (s, e0, e1)
        assert np.all(e0 >= edges[:, 0] - 1e-12) and np.all(e1 <= edges[:, 1] + 1e-12)
        assert 0 < np.linalg.norm(e1 - e0) <= 0.2 + 1e-12
    # the exit and entry points of Newton's jump are on y = -1, each inside its bar
    exit_at = b[0]
    assert abs(exit_at[1] + 1) < 1e-12
    k = int(np.flatnonzero(which == 0)[0])
    assert lo[k][0] < exit_at[0] < hi[k][0]
    lo, hi, which = edge_marks(p0[2:3], p1[2:3], p0[2:3], p1[2:3], domain, 0.1)
    assert len(which) == 0  # a step inside: no mark


@pytest.mark.parametrize("size", [(800, 450), (640, 400), (1280, 720)])
def test_a_recorded_race_frames_the_picture_beside_its_loss_plot(tmp_path, ctx, size):
    """The f-against-step inset covered the x axis's labels and the surface's front corner
    (brace-29.png): the picture now stands in the band left of it."""
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render import recording
    from gradient_explorer.render.label_layout import PLOT_MARGIN_PX, loss_plot_rect
    from gradient_explorer.surfaces.surface import Surface
    from gradient_explorer.view.picking import world_to_screen

    state = AppState.for_surface(Surface.named("banana"), aspect=size[0] / size[1])
    state.view.grid = 32
    ds = state.descent
    ds.kind, ds.race = "race", ["gd", "newton"]
    ds.start_run(state.surface)
    recording.record(state, tmp_path / "race.gif", 2, size=size, ctx=ctx)
    plot_x = loss_plot_rect(size, PLOT_MARGIN_PX)[0]
    points = state.framing_points()  # the surface as drawn, its floor and its axes
    xy = world_to_screen(state.camera, points, (0, 0, *size), size)
    assert np.all(np.isfinite(xy))
    assert xy[:, 0].max() < plot_x  # all of it left of the plot
    assert xy[:, 0].max() > 0.5 * plot_x  # and it still fills the band


def test_a_camera_the_caller_set_stays_with_the_plot(tmp_path, ctx):
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render import recording
    from gradient_explorer.surfaces.surface import Surface

    state = AppState.for_surface(Surface.named("banana"), aspect=640 / 400)
    state.view.grid = 32
    state.camera.orbit(20.0, 5.0)
    state.camera.snap()
    before = state.camera.get_state()
    ds = state.descent
    ds.kind, ds.race = "race", ["gd"]
    ds.start_run(state.surface)
    recording.record(state, tmp_path / "race.gif", 1, size=(640, 400), ctx=ctx)
    assert state.camera.get_state() == before


def test_the_run_buttons_stay_put_when_a_ball_diverges(harness):
    """A ball that diverged mid-run put its warning above the buttons: Pause moved a line
    down under the pointer just as the learner reached for it."""
    h = harness
    _open_descent(h)
    ds = h.state.descent
    ds.hyper[ds.optimizer]["lr"] = 50.0  # far too large: diverges within a few steps
    rects = h.app.ui.rects
    h.click(*_centre(rects["descent start"]))
    h.frame(1, dt=0.01)
    before = {k: rects[k] for k in ("descent start", "descent play", "descent step")}
    assert ds.divergence_warning() is None  # not yet
    h.frame(30, dt=0.1)
    warning = ds.divergence_warning()
    assert warning and "diverged" in warning
    h.frame(2)
    assert {k: rects[k] for k in before} == before


def test_hyperparameter_help_is_offered_on_hover_and_a_diverged_lr_says_why(harness, monkeypatch):
    """The help tooltips were set only in the frame a value changed, so hovering a slider
    showed nothing; a diverged run's lr slider now carries the warning too."""
    from imgui_bundle import imgui

    from gradient_explorer.optim.optimizers import OPTIMIZERS

    h = harness
    _open_descent(h)
    ds = h.state.descent
    offered: list[str] = []
    real = imgui.set_item_tooltip
    monkeypatch.setattr(imgui, "set_item_tooltip", lambda text: offered.append(text) or real(text))
    h.frame(1)
    lr_help = next(hp.help for hp in OPTIMIZERS[ds.optimizer].hyperparameters if hp.name == "lr")
    assert lr_help in offered  # set every frame; imgui shows it while the slider is hovered
    ds.hyper[ds.optimizer]["lr"] = 50.0
    h.click(*_centre(h.app.ui.rects["descent start"]))
    h.frame(30, dt=0.1)
    offered.clear()
    h.frame(1)
    warning = ds.divergence_warning()
    assert warning and f"{warning}\n{lr_help}" in offered
