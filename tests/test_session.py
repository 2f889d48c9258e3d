"""Sessions: round trip to the same pixels, atomic saves, and malformed files refused."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gradient_explorer.app import session as sess
from gradient_explorer.app.state import AppState
from gradient_explorer.cli import main
from gradient_explorer.errors import SessionError, UsageError
from gradient_explorer.surfaces.surface import Surface

SIZE = (160, 112)


def busy_state() -> AppState:
    """Non-default everything: typed expression with a parameter, view, camera, a race."""
    surface = Surface.from_expr("a*x^2 - y^2 + sin(x)", domain=((-2, 2), (-1.5, 2.5)))
    surface = surface.with_params(a=2.5)
    surface.height_scale = 0.4
    state = AppState.for_surface(surface)
    v = state.view
    v.lighting, v.field, v.contours, v.normal_arrows = "normals", True, 7, True
    v.light_direction, v.line_width, v.background = (0.1, 0.2, 0.9), 2.5, (0.2, 0.1, 0.05)
    state.point, state.direction = (0.5, 0.7), 33.0
    state.camera.set_state({"azimuth": 12.0, "elevation": 41.0, "distance": 9.0})
    state.curve.x, state.curve.wrap = -0.25, True
    ds = state.descent
    ds.kind, ds.race = "race", ["adam", "sgd", "nadam", "adafactor"]
    assert ds.set_hyper("adam", "lr", 0.05) is None
    assert ds.set_hyper("sgd", "momentum", 0.5) is None
    ds.start_run(state.surface, (-1.5, 2.0))
    ds.step(37)
    ds.playing = True
    return state


def test_round_trip_same_pixels_and_same_future(tmp_path, ctx):
    from gradient_explorer.render.headless import HeadlessRenderer

    state = busy_state()
    path = tmp_path / "s.json"
    sess.save_session(state, path)
    loaded = sess.load_session(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "gradient-explorer-session" and doc["version"] == 1
    assert loaded.surface.param_values == {"a": 2.5}
    assert loaded.surface.height_scale == 0.4
    assert loaded.camera.get_state() == state.camera.get_state()
    assert loaded.descent.descents[0].steps.tolist() == [37]
    renderer = HeadlessRenderer(ctx, grid=64)
    try:
        a = renderer.render(state, SIZE)
        b = renderer.render(loaded, SIZE)
        assert np.array_equal(a, b)
        # the run continues exactly as it would have (optimizer buffers were saved)
        state.descent.step(25)
        loaded.descent.step(25)
        for d1, d2 in zip(state.descent.descents, loaded.descent.descents, strict=True):
            assert np.array_equal(d1.positions, d2.positions)
            assert np.array_equal(d1.trail(0), d2.trail(0))
        assert np.array_equal(renderer.render(state, SIZE), renderer.render(loaded, SIZE))
    finally:
        renderer.release()


def test_round_trip_catalogue_curve_mode_and_swarm(tmp_path):
    state = AppState.for_surface(Surface.named("banana", b=20.0))
    state.mode, state.playing = "curve", True
    state.curve.source, state.curve.name, state.curve.playing = "catalogue", "sine", True
    ds = state.descent
    ds.kind, ds.swarm_size, ds.optimizer = "swarm", 300, "rmsprop"
    ds.start_run(state.surface)
    ds.step(5)
    path = tmp_path / "swarm.json"
    sess.save_session(state, path)
    loaded = sess.load_session(path)
    assert loaded.surface.name == "banana" and loaded.surface.param_values["b"] == 20.0
    assert (loaded.mode, loaded.playing, loaded.curve.name) == ("curve", True, "sine")
    assert np.array_equal(loaded.descent.descents[0].positions, ds.descents[0].positions)
    assert sess.session_to_dict(loaded) == sess.session_to_dict(state)


def test_apply_session_keeps_the_camera_object(tmp_path):
    saved = busy_state()
    path = tmp_path / "s.json"
    sess.save_session(saved, path)
    state = AppState.for_surface(Surface.named("bowl"))
    camera = state.camera
    sess.apply_session(state, path)
    assert state.camera is camera
    assert camera.get_state() == saved.camera.get_state()
    assert state.descent.surface is state.surface
    assert state.surface.formula() == "a*x^2 - y^2 + sin(x)"


def test_killed_mid_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    sess.save_session(AppState.for_surface(Surface.named("bowl")), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(UsageError, match="cannot write"):
        sess.save_session(busy_state(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def _good() -> dict:
    return sess.session_to_dict(AppState.for_surface(Surface.named("bowl")))


def _text(edit) -> str:
    doc = _good()
    edit(doc)
    return json.dumps(doc)


def _sub(old: str, new: str) -> str:
    text = json.dumps(_good())
    assert old in text
    return text.replace(old, new)


def _set(path: str, value):
    def edit(doc):
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


BAD_TEXTS = {
    "truncated": (json.dumps(_good())[:-40], "not valid JSON"),
    "empty": ("", "not valid JSON"),
    "array": ("[1, 2]", "JSON object"),
    "wrong format": (_text(_set("format", "something-else")), "not a gradient-explorer"),
    "wrong version": (_text(_set("version", 2)), "version 2 is not supported"),
    "version as text": (_text(_set("version", "1")), "version must be an integer"),
    "NaN": (_sub('"direction": 0.0', '"direction": NaN'), "NaN is not allowed"),
    "Infinity": (
        _sub('"direction": 0.0', '"direction": -Infinity'),
        "-Infinity",
    ),
    "1e400": (_sub('"direction": 0.0', '"direction": 1e400'), "large"),
    "10**400": (
        _sub('"direction": 0.0', f'"direction": {10**400}'),
        "too large",
    ),
    "huge but finite": (_text(_set("direction", 1e200)), "direction must be between"),
    "wrong type": (_text(_set("view.contours", "12")), "view.contours must be an integer"),
    "bool as number": (_text(_set("view.line_width", True)), "view.line_width must be a number"),
    "out of range": (_text(_set("view.grid", 100000)), "view.grid must be between"),
    "unknown key": (_text(_set("view.colour", 1)), "unknown key 'view.colour'"),
    "unknown lighting": (_text(_set("view.lighting", "neon")), "view.lighting must be one of"),
    "duplicate keys": (
        _sub('"mode": "surface"', '"mode": "surface", "mode": "curve"'),
        "duplicate key 'mode'",
    ),
    "hostile expression": (
        _text(_set("surface", {"source": "expression", "expression": "__import__('os')"})),
        "surface.expression",
    ),
    "power tower": (
        _text(_set("surface", {"source": "expression", "expression": "9^9^9"})),
        "surface.expression",
    ),
    "hostile curve": (_text(_set("curve.expression", "x.__class__")), "curve.expression"),
    "unknown surface": (_text(_set("surface.name", "os")), "unknown catalogue surface"),
    "point outside": (_text(_set("point", [50.0, 0.0])), "outside the surface's domain"),
    "camera elevation": (_text(_set("camera.elevation", 95.0)), "camera elevation"),
    "missing surface": (_text(lambda d: d.pop("surface")), "surface is missing"),
    "deep nesting": (
        _sub('"point": null', '"point": ' + "[" * 100 + "]" * 100),
        "nested more than",
    ),
    "unknown optimizer": (_text(_set("descent.optimizer", "magic")), "descent.optimizer"),
    "bad hyperparameter": (
        _text(_set("descent.hyper", {"adam": {"lr": -1.0}})),
        "descent.hyper.adam",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_TEXTS))
def test_malformed_sessions_are_refused_and_change_nothing(tmp_path, name):
    text, message = BAD_TEXTS[name]
    path = tmp_path / "bad.json"
    path.write_text(text)
    state = AppState.for_surface(Surface.named("saddle"))
    before = json.dumps(sess.session_to_dict(state))
    with pytest.raises(SessionError, match=message.replace("(", r"\(")) as info:
        sess.apply_session(state, path)
    assert "\n" not in str(info.value) and str(info.value).startswith(f"session {path}: ")
    assert json.dumps(sess.session_to_dict(state)) == before


def test_every_malformed_session_has_its_own_message(tmp_path):
    messages = set()
    for i, (text, _) in enumerate(BAD_TEXTS.values()):
        path = tmp_path / f"{i}.json"
        path.write_text(text)
        with pytest.raises(SessionError) as info:
            sess.load_session(path)
        messages.add(str(info.value).split(": ", 1)[1])
    assert len(messages) == len(BAD_TEXTS)


def test_big_missing_and_folder_are_refused(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"format": "gradient-explorer-session", "pad": "' + "x" * 10_000_000 + '"}')
    with pytest.raises(SessionError, match="over the 8 MB limit"):
        sess.load_session(big)
    with pytest.raises(SessionError, match="no such file"):
        sess.load_session(tmp_path / "missing.json")
    with pytest.raises(SessionError, match="is a folder"):
        sess.load_session(tmp_path)


def test_cli_render_takes_a_session(tmp_path, capsys):
    path = tmp_path / "s.json"
    sess.save_session(busy_state(), path)
    out = tmp_path / "s.png"
    assert main(["render", "--session", str(path), "--size", "96x64", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["render", "--session", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not valid JSON" in err
    code = main(["render", "--session", str(path), "--surface", "bowl", "--out", str(out)])
    assert code == 2


@pytest.mark.parametrize("history", ["empty", "missing"])
def test_run_without_history_loads_with_history_rebuilt_from_the_balls(tmp_path, history):
    state = busy_state()
    doc = sess.session_to_dict(state)
    if history == "empty":
        doc["descent"]["run"]["history"] = []
    else:
        del doc["descent"]["run"]["history"]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    loaded = sess.load_session(path)
    h = loaded.descent.history
    # the balls are at step 37: the plot's last row is f at the first ball of each run now
    assert h.shape == (38, 4)
    assert np.isnan(h[:-1]).all()
    expected = [d.f[0] for d in state.descent.descents]
    assert h[-1].tolist() == expected
    # and the run goes on: one more step adds one row
    loaded.descent.step(1)
    assert loaded.descent.history.shape == (39, 4)
    sess.save_session(loaded, tmp_path / "again.json")


def test_cli_render_of_a_session_without_history_draws_it(tmp_path, capsys):
    doc = sess.session_to_dict(busy_state())
    doc["descent"]["run"]["history"] = []
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "s.png"
    assert main(["render", "--session", str(path), "--size", "96x64", "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_a_run_whose_settings_changed_mid_run_saves_and_continues_exactly(tmp_path):
    state = AppState.for_surface(Surface.named("himmelblau"))
    ds = state.descent
    ds.kind, ds.race = "race", ["sgd", "adam", "rmsprop"]
    # the teaching defaults give SGD momentum 0.9: start without it, to turn it on mid-run
    assert ds.set_hyper("sgd", "momentum", 0.0) is None
    assert ds.set_hyper("adam", "amsgrad", True) is None
    ds.start_run(state.surface, (0.5, -1.0))
    ds.step(12)
    # SGD's buffer is torch's None until the next step; Adam keeps its unused max buffer
    assert ds.set_hyper("sgd", "momentum", 0.9) is None
    assert ds.set_hyper("adam", "amsgrad", False) is None
    assert ds.set_hyper("rmsprop", "centered", True) is None
    assert "momentum_buffer" not in ds.descents[0].optimizer.state
    path = tmp_path / "s.json"
    sess.save_session(state, path)
    loaded = sess.load_session(path)
    assert set(loaded.descent.descents[1].optimizer.state) == {
        "exp_avg",
        "exp_avg_sq",
        "max_exp_avg_sq",
    }
    for s in (state, loaded):
        s.descent.step(15)
        assert s.descent.set_hyper("adam", "amsgrad", True) is None
        s.descent.step(5)
    for d1, d2 in zip(state.descent.descents, loaded.descent.descents, strict=True):
        assert np.array_equal(d1.positions, d2.positions)
        assert d1.optimizer.hyper == d2.optimizer.hyper
    assert sess.session_to_dict(loaded) == sess.session_to_dict(state)


def test_a_buffer_no_setting_of_the_optimizer_has_is_refused(tmp_path):
    state = busy_state()
    doc = sess.session_to_dict(state)
    buffers = doc["descent"]["run"]["runs"][0]["optimizer_state"]["buffers"]  # adam
    buffers["momentum_buffer"] = buffers["exp_avg"]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="adam has no buffer set like this"):
        sess.load_session(path)


def test_typed_surface_name_and_slider_ranges_round_trip(tmp_path):
    surface = Surface.from_expr("a*x^2 + b*y^2", name="my bowl").with_params(a=2.0)
    state = AppState.for_surface(surface)
    state.param_ranges = {"a": (0.5, 4.0), "b": (-2.0, 2.0)}
    path = tmp_path / "s.json"
    sess.save_session(state, path)
    doc = json.loads(path.read_text())
    assert doc["surface"]["name"] == "my bowl"
    assert doc["surface"]["ranges"] == {"a": [0.5, 4.0], "b": [-2.0, 2.0]}
    loaded = sess.load_session(path)
    assert loaded.surface.name == "my bowl" and loaded.surface.param_values["a"] == 2.0
    assert loaded.param_ranges == {"a": (0.5, 4.0), "b": (-2.0, 2.0)}
    target = AppState.for_surface(Surface.named("bowl"))
    sess.apply_session(target, path)
    assert target.param_ranges == loaded.param_ranges and target.surface.name == "my bowl"
    # a catalogue surface keeps its ranges too
    cat = AppState.for_surface(Surface.named("banana"))
    cat.param_ranges = {"b": (1.0, 200.0)}
    sess.save_session(cat, path)
    assert sess.load_session(path).param_ranges == {"b": (1.0, 200.0)}


def test_files_without_name_or_ranges_take_the_defaults(tmp_path):
    state = AppState.for_surface(Surface.from_expr("a*x^2 - y^2", name="saddle-ish"))
    state.param_ranges = {"a": (0.0, 3.0)}
    doc = sess.session_to_dict(state)
    del doc["surface"]["name"], doc["surface"]["ranges"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    loaded = sess.load_session(path)
    assert loaded.surface.name == "expression"  # what the app calls a typed surface
    assert loaded.param_ranges == {}


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"z": [0.0, 1.0]}, "surface.ranges: unknown parameter 'z' .this surface has a."),
        ({"a": [2.0, 1.0]}, "surface.ranges.a must be .from, to. with from < to"),
        ({"a": [1.0]}, r"surface.ranges.a must have 2 entries"),
        ({"a": "0..1"}, "surface.ranges.a must be a list"),
        ([0.0, 1.0], "surface.ranges must be an object"),
    ],
)
def test_bad_slider_ranges_are_refused(tmp_path, ranges, message):
    doc = sess.session_to_dict(AppState.for_surface(Surface.from_expr("a*x^2 - y^2")))
    doc["surface"]["ranges"] = ranges
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=message):
        sess.load_session(path)


def test_a_ball_added_after_the_others_stopped_resumes_its_schedule_exactly(tmp_path):
    """The run's schedule is at the run's step, not the step count of its oldest ball:
    a ball dropped after the first one converged has fewer steps than the run."""
    state = AppState.for_surface(Surface.named("bowl"))
    ds = state.descent
    ds.kind, ds.optimizer = "single", "sgd"
    assert ds.set_hyper("sgd", "momentum", 0.0) is None
    assert ds.set_hyper("sgd", "lr", 0.5) is None  # one step to the bottom of x^2 + y^2
    assert ds.set_schedule("step:1:0.5") is None
    ds.start_run(state.surface, (1.0, 1.0))
    ds.step(3)
    assert list(ds.descents[0].status) == ["converged"]
    ds.drop_ball(state.surface, (1.0, -1.0))
    ds.step(3)
    loaded = sess.load_session(sess.save_session(state, tmp_path / "s.json"))
    d1, d2 = ds.descents[0], loaded.descent.descents[0]
    assert d2.lr == d1.lr
    ds.step(4)
    loaded.descent.step(4)
    assert np.array_equal(d2.positions, d1.positions)


def test_descent_load_state_dict_resumes_schedule_and_mini_batches():
    """Descent.state_dict / load_state_dict alone (the API, as torch.optim's) continue a
    scheduled mini-batch run exactly, as sessions do."""
    from gradient_explorer.optim.descent import Descent
    from gradient_explorer.surfaces.model_surface import from_model

    surface = from_model("logistic", "breast_cancer", batch_size=16, seed=2)
    starts = [(0.5, 0.5), (-0.5, 1.0)]

    def run():
        return Descent(surface, "adam", starts, lr=0.05, schedule="cosine:9", tol=0.0)

    d1 = run()
    d1.step(7)
    d2 = run()
    d2.load_state_dict(d1.state_dict())
    assert d2.lr == d1.lr
    d1.step(5)
    d2.step(5)
    assert np.array_equal(d2.positions, d1.positions)


@pytest.mark.parametrize("key", ["steps", "clock"])
def test_a_run_claiming_too_many_steps_is_refused_not_replayed(tmp_path, key):
    """A loaded run replays its schedule step by step: a file claiming 1e15 steps used
    to hang the loader; it is refused in one line naming the key."""
    state = AppState.for_surface(Surface.named("bowl"))
    ds = state.descent
    assert ds.set_schedule("cosine:50") is None
    ds.start_run(state.surface, (1.0, 1.0))
    ds.step(3)
    data = sess.session_to_dict(state)
    run = data["descent"]["run"]["runs"][0]
    run["clock"] = 10**15
    if key == "steps":
        run["steps"] = [10**15]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError, match=f"runs\\[0\\].{key} must be"):
        sess.load_session(path)


def _image_surface():
    return Surface.from_image("camera", operator="sobel", sigma=1.0)


def _heights_surface():
    return Surface.from_heights("jacksboro", operator="central")


def _mlp_surface():
    from gradient_explorer.surfaces.model_surface import from_model

    return from_model("mlp", "moons", batch_size=16, seed=4, train_steps=30)


@pytest.mark.parametrize(
    ("make", "kind", "schedule"),
    [
        (_image_surface, "race", "cosine:30"),
        (_heights_surface, "swarm", "step:5:0.5"),
        (_mlp_surface, "swarm", "warmup_cosine:3:40"),
        (_mlp_surface, "race", "exponential:0.95"),
    ],
    ids=["image-race", "heights-swarm", "mlp-batches-swarm", "mlp-batches-race"],
)
def test_sampled_and_model_runs_continue_exactly_after_a_round_trip(tmp_path, make, kind, schedule):
    """An image, an elevation map and a mini-batched model, each with a schedule, saved
    mid-run: the loaded run's next steps are the uninterrupted run's, bit for bit."""
    surface = make()
    state = AppState.for_surface(surface)
    ds = state.descent
    ds.kind, ds.race, ds.swarm_size = kind, ["sgd", "adam", "rmsprop"], 12
    assert ds.set_schedule(schedule) is None
    ds.start_run(surface)
    ds.step(7)
    loaded = sess.load_session(sess.save_session(state, tmp_path / "s.json"))
    ds.step(9)
    loaded.descent.step(9)
    pairs = list(zip(ds.descents, loaded.descent.descents, strict=True))
    for d1, d2 in pairs:
        assert d2.lr == d1.lr
        assert np.array_equal(d2.positions, d1.positions, equal_nan=True)
        assert list(d2.status) == list(d1.status)
        if d1.batches is not None:
            assert d2.batches.position == d1.batches.position


@pytest.mark.parametrize("command", ["app", "render"])
@pytest.mark.parametrize(
    "extra", [["--param", "a=2"], ["--domain", "-1,1,-1,1"], ["--sigma", "2"], ["--expr", "x"]]
)
def test_a_session_refuses_options_that_would_change_its_surface(tmp_path, capsys, command, extra):
    """`app --session` ignored --param, --domain, --sigma ... silently; both commands refuse
    them in one line, as render always did."""
    path = tmp_path / "s.json"
    sess.save_session(AppState.for_surface(Surface.named("banana")), path)
    out = ["--out", str(tmp_path / "x.png")] if command == "render" else []
    code = main([command, "--session", str(path), *out, *extra])
    assert not (tmp_path / "x.png").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--session holds the surface" in err[0]


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ({"trips": "x"}, "one entry per run"),
        ({"trips": [[[0, 3, None]]]}, "one entry per run"),  # the race has 4 runs
        ({"trips": [[[7, 3, None]], [], [], []]}, "bad entry"),  # ball 7 of 1
        ({"trips": [[[0, 9, 2]], [], [], []]}, "bad entry"),  # back before it left
        ({"trips": [[[0, 10**9, None]], [], [], []]}, "bad entry"),  # after the last step
    ],
)
def test_a_runs_trips_out_of_the_domain_are_checked_on_load(tmp_path, domain, message):
    state = busy_state()
    doc = sess.session_to_dict(state)
    assert len(doc["descent"]["run"]["domain"]["trips"]) == 4
    doc["descent"]["run"]["domain"] = domain
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=message) as info:
        sess.load_session(path)
    assert "\n" not in str(info.value) and "domain" in str(info.value)


def test_the_legend_notes_of_balls_that_left_the_domain_come_back_with_the_session(tmp_path):
    state = busy_state()
    notes = [state.descent.domain_note(i) for i in range(4)]
    assert any(notes), "the case needs a ball that left the domain"
    path = tmp_path / "s.json"
    sess.save_session(state, path)
    loaded = sess.load_session(path)
    assert [loaded.descent.domain_note(i) for i in range(4)] == notes
