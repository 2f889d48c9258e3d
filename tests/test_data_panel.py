"""The window's model pieces: the data panel, the Model entry, the lr schedule selector."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState
from gradient_explorer.app.ui import panels
from gradient_explorer.app.ui.data_panel import draw_data_panel, followed
from gradient_explorer.app.ui.model_panel import ModelUi, _rebatch, condition_number
from gradient_explorer.app.ui.schedule_panel import ScheduleUi, spec_of
from gradient_explorer.optim.schedules import parse_schedule
from gradient_explorer.surfaces.model_surface import from_model

SIZE = (900, 640)


def _state(kind="line", **options):
    surface = from_model(kind, **options)
    return AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])


def test_followed_is_ball_zero_with_its_batch_gradient():
    state = _state("logistic", batch_size=8, seed=2, inputs="standardized")
    assert followed(state) is None
    state.point = (1.0, 0.0)
    point, batch, label = followed(state)
    np.testing.assert_array_equal(point, [1.0, 0.0])
    assert batch is None and label == "the point"
    ds = state.descent
    ds.optimizer = "sgd"
    ds.start_run(state.surface, (0.5, 0.5))
    ds.step(3)
    point, batch, label = followed(state)
    d = ds.descents[0]
    np.testing.assert_array_equal(point, d.positions[0])
    np.testing.assert_array_equal(batch, d.gradient[0])
    assert not np.allclose(batch, state.surface.model.gradient(point))  # a batch's, not all
    assert label == "ball 0, step 3"


def test_rebatch_keeps_the_surface_and_restarts_the_balls():
    state = _state("line", inputs="standardized")
    ds = state.descent
    ds.optimizer = "sgd"
    ds.start_run(state.surface, (1.0, 1.0))
    ds.step(5)
    old = state.surface
    assert _rebatch(state, ModelUi(kind="line", batch_size=16, seed=3))
    new = state.surface
    assert new.model is old.model and new.samples is old.samples
    assert (new.batch_size, new.seed) == (16, 3)
    assert ds.surface is new and int(ds.descents[0].steps[0]) == 0
    assert ds.descents[0].batches is not None
    assert not _rebatch(state, ModelUi(kind="line", batch_size=16, seed=3))  # no change
    assert _rebatch(state, ModelUi(kind="line", batch_size=0, seed=3))
    assert state.surface.batch_size is None


def test_condition_number_tells_raw_from_standardized():
    raw = condition_number(from_model("line"))
    std = condition_number(from_model("line", inputs="standardized"))
    assert raw > 1000 and std == pytest.approx(1.0)
    assert condition_number(from_model("mlp", train_steps=50)) is None


def test_schedule_selector_specs_parse():
    for kind in ("constant", "step", "exponential", "cosine", "warmup_cosine"):
        ui = ScheduleUi(kind=kind)
        spec = spec_of(ui)
        assert parse_schedule(spec).kind == kind


@pytest.mark.gl
@pytest.mark.parametrize("kind", ["line", "logistic", "mlp"])
def test_data_panel_in_a_headless_render(ctx, kind, panel_texts):
    from gradient_explorer.render.headless import HeadlessRenderer

    options = {"train_steps": 200} if kind == "mlp" else {}
    state = _state(kind, batch_size=8, **options)
    ds = state.descent
    ds.optimizer = "sgd"
    ds.start_run(state.surface)
    ds.step(4)
    renderer = HeadlessRenderer(ctx)
    try:
        bare = renderer.render(state, SIZE, draw_ui=lambda: None).astype(int)
        panel_texts.clear()
        for _ in range(2):
            shown = renderer.render(
                state, SIZE, draw_ui=lambda: draw_data_panel(state, SIZE, follow=True)
            )
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    model = state.surface.model
    point = ds.descents[0].positions[0]
    assert f"ball 0, step 4: {model.describe(point)}" in panel_texts
    assert any(t.startswith("batch: (") for t in panel_texts)
    differs = np.abs(shown.astype(int) - bare).sum(-1) > 30
    em = 13  # the panel stands bottom right, 30 em wide
    assert differs[-20 * em :, -28 * em :].mean() > 0.3
    assert differs[: 10 * em, : 20 * em].mean() < 0.02  # and nowhere else


@pytest.mark.gl
def test_surface_panel_has_the_model_entry(ctx, panel_texts):
    from gradient_explorer.render.headless import HeadlessRenderer

    state = _state("line")
    ui = panels.UiState(gl_renderer=ctx.info["GL_RENDERER"])
    renderer = HeadlessRenderer(ctx)

    try:
        panel_texts.clear()
        for _ in range(2):
            renderer.render(state, SIZE, draw_ui=lambda: panels.draw_panels(state, ui))
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    assert any("diabetes: 442 examples; full batch" in t for t in panel_texts)
    assert any("condition number" in t for t in panel_texts)
    assert not any("Discrete derivatives of sampled data" in t for t in panel_texts)


def test_session_keeps_a_model_surface_and_its_schedule(tmp_path):
    from gradient_explorer.app.session import load_session, save_session

    f = tmp_path / "d.csv"
    f.write_text("x,label\n" + "".join(f"{v / 10},{int(v > 12)}\n" for v in range(30)))
    surface = from_model("logistic", str(f), batch_size=4, seed=5, inputs="standardized")
    state = AppState.for_surface(surface, aspect=1.5)
    ds = state.descent
    ds.optimizer = "sgd"
    assert ds.set_schedule("step:3:0.5") is None
    ds.start_run(surface, (0.5, 0.5))
    ds.step(7)
    path = save_session(state, tmp_path / "s.json")
    back = load_session(path, aspect=1.5)
    s2 = back.surface
    assert (s2.batch_size, s2.seed, s2.model.kind) == (4, 5, "logistic")
    np.testing.assert_array_equal(s2.model.x, surface.model.x)  # standardized again
    d1, d2 = ds.descents[0], back.descent.descents[0]
    assert back.descent.schedule == "step:3:0.5"
    assert d2.lr == d1.lr and d2.batches.position == d1.batches.position
    np.testing.assert_allclose(d2.positions, d1.positions)
    ds.step(5)
    back.descent.step(5)  # the restored run goes on exactly as the original
    np.testing.assert_allclose(back.descent.descents[0].positions, d1.positions, rtol=1e-12)


def test_session_of_an_mlp_keeps_its_options(tmp_path):
    from gradient_explorer.app.session import load_session, save_session

    surface = from_model("mlp", train_steps=30, activation="relu", weights=("w1[1,0]", "b2"))
    state = AppState.for_surface(surface, aspect=1.5)
    back = load_session(save_session(state, tmp_path / "m.json"), aspect=1.5).surface
    assert back.model.axes == ("w1[1,0]", "b2") and back.model.net.activation == "relu"
    np.testing.assert_array_equal(back.model.net.flat(), surface.model.net.flat())


def test_model_entry_follows_a_surface_built_elsewhere():
    ui = ModelUi()
    surface = from_model("logistic", batch_size=8, seed=4, inputs="centred")
    ui.follow(surface)
    assert (ui.kind, ui.data, ui.inputs, ui.batch_size, ui.seed) == (
        "logistic",
        "breast_cancer",
        "centred",
        8,
        4,
    )
    ui.batch_size = 32  # the user's own change stays while the model is the same
    ui.follow(replace_batch(surface, 32))
    assert ui.batch_size == 32


def replace_batch(surface, size):
    from dataclasses import replace

    return replace(surface, batch_size=size)


@pytest.mark.gl
def test_descent_panel_with_a_schedule_draws_the_lr_plot(ctx):
    from gradient_explorer.app.ui.descent_panel import draw_descent_panel
    from gradient_explorer.render.headless import HeadlessRenderer

    state = _state("line", inputs="standardized")
    ds = state.descent
    ds.start_run(state.surface)
    ds.step(10)
    renderer = HeadlessRenderer(ctx)
    try:
        frames = {}
        for spec in ("constant", "cosine:20"):
            assert ds.set_schedule(spec) is None
            for _ in range(2):
                frames[spec] = renderer.render(
                    state, SIZE, draw_ui=lambda: draw_descent_panel(state)
                ).astype(int)
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    # the same history, drawn in a narrower plot with the lr plot beside it
    assert np.abs(frames["constant"] - frames["cosine:20"]).sum(-1).max() > 30


def _window_rects(names) -> dict:
    from imgui_bundle import imgui

    rects = {}
    for name in names:
        w = imgui.internal.find_window_by_name(name)
        assert w is not None and w.active, name
        rects[name] = (w.pos.x, w.pos.y, w.pos.x + w.size.x, w.pos.y + w.size.y)
    return rects


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@pytest.mark.gl
def test_session_window_leaves_the_right_hand_panels_uncovered(harness):
    """The Session window stands in the bottom-right corner: the data panel (a model
    surface without balls) and the descent panel (its schedule selector and divergence
    warning at the bottom, also when a race with a schedule makes it taller than the
    window) must keep clear of it."""
    from imgui_bundle import imgui

    h = harness
    state = h.state
    state.set_surface(from_model("logistic", batch_size=8, seed=3), SIZE[0] / SIZE[1])
    h.frame(3)
    imgui.set_current_context(h.app._imgui_ctx)
    rects = _window_rects(("Data and fit", "Session"))
    assert not _overlap(rects["Data and fit"], rects["Session"]), rects
    ds = state.descent
    ds.adopt_teaching(state.surface)
    ds.kind, ds.race = "race", ["gd", "sgd", "adam", "newton"]
    assert ds.set_schedule("cosine:300") is None
    ds.start_run(state.surface)
    h.frame(3)
    imgui.set_current_context(h.app._imgui_ctx)
    rects = _window_rects(("Descent", "Session", "Data and fit"))
    assert not _overlap(rects["Descent"], rects["Session"]), rects
    # the data panel, placed before the balls came, moved left of the descent panel
    assert not _overlap(rects["Descent"], rects["Data and fit"]), rects
