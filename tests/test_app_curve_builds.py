"""Every curve and surface the app builds goes through its one build pipeline.

The 1D panel's typed f(x) and the "Try this" buttons used to build on the frame thread
(``CurveState.set_expression`` called ``Surface.from_expr`` there): a slow expression froze
the window. Here the builds are counted by the thread (or process) that runs them, not
timed: the frame loop's thread must never derive anything.
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("imgui_bundle")

from gradient_explorer.app.curve_mode import active_curve
from gradient_explorer.app.ui import panels
from gradient_explorer.surfaces.surface import Surface
from test_app_headless import Harness

pytestmark = pytest.mark.gl


class GateWorker:
    """Stands in for the build worker: each build waits until the test opens the gate
    (a derivation as slow as the test wants), then runs in the compiler's thread."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[tuple] = []

    def call(self, timeout, build, *args, **kwargs):
        self.calls.append((build.__name__, args))
        if not self.gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return build(*args, **kwargs)

    def cancel(self) -> None:
        self.gate.set()

    def close(self) -> None:
        self.gate.set()


@pytest.fixture
def builds(monkeypatch):
    """Threads that ran Surface.from_expr / Surface.named, in order."""
    seen: list[tuple[str, str, str]] = []
    from_expr, named = Surface.from_expr.__func__, Surface.named.__func__

    def spy_from_expr(cls, text, *args, **kwargs):
        seen.append(("from_expr", str(text), threading.current_thread().name))
        return from_expr(cls, text, *args, **kwargs)

    def spy_named(cls, name, *args, **kwargs):
        seen.append(("named", str(name), threading.current_thread().name))
        return named(cls, name, *args, **kwargs)

    monkeypatch.setattr(Surface, "from_expr", classmethod(spy_from_expr))
    monkeypatch.setattr(Surface, "named", classmethod(spy_named))
    return seen


def _settle(h: Harness) -> None:
    """Let the builds the app started by itself (the default curve) finish."""
    for _ in range(5):
        assert h.app.ui.compiler.wait(30.0)
        h.frame(2)


def _type_curve(h: Harness, text: str) -> None:
    """Click the 1D panel's f(x) field, replace its text, press Enter."""
    x0, y0, x1, y1 = h.app.ui.rects["curve expression"]
    h.click((x0 + x1) / 2, (y0 + y1) / 2)
    h.key("A", ctrl=True)
    h.type_text(text)
    h.key("ENTER")


def _typed_curve_mode(h: Harness) -> None:
    h.state.mode = "curve"
    h.state.curve.source = "expression"
    h.frame(2)
    _settle(h)


def test_a_slow_typed_curve_is_built_off_the_frame_thread(harness, builds):
    h = harness
    _typed_curve_mode(h)
    main = threading.current_thread().name
    gate = GateWorker()
    h.app.ui.compiler.worker = gate  # the next builds wait for the gate
    old = active_curve(h.state).formula()
    text = "sin(x)^3 + x/4"
    _type_curve(h, text)
    h.frame(10)  # the frame loop runs on while the derivation "takes" as long as it likes
    assert h.app.ui.compiler.busy and h.app.ui.compiler.source == "curve"
    assert active_curve(h.state).formula() == old  # the old curve stays meanwhile
    assert gate.calls == [("build_curve", ("expression", text))]
    assert not any(name == main for _, _, name in builds)
    gate.gate.set()
    h.frames_until(lambda: active_curve(h.state).formula() == text, timeout=30)
    assert h.state.curve.error == "" and not h.app.ui.message_is_error
    assert h.app.ui.message == f"f(x): {text}"  # the status line, as for a surface
    assert ("from_expr", text, main) not in builds
    assert any(kind == "from_expr" and t == text for kind, t, _ in builds)
    assert all(name != main for _, _, name in builds)


def test_a_typed_curve_in_the_worker_process_is_never_derived_here(harness, builds):
    from gradient_explorer.workers.build_worker import BuildWorker

    h = harness
    _typed_curve_mode(h)
    worker = BuildWorker()
    assert worker.start(), worker.unavailable
    h.app.ui.compiler.worker = worker
    try:
        builds.clear()
        _type_curve(h, "x^4 - 2*x^2")
        assert h.app.ui.compiler.wait(60.0)
        h.frames_until(lambda: active_curve(h.state).formula() == "x^4 - 2*x^2", timeout=30)
    finally:
        h.app.ui.compiler.worker = None
        worker.close()
    assert builds == []  # derived in the worker: this process never called from_expr
    curve = active_curve(h.state)
    assert curve.dim == 1 and float(curve.gradient([1.5])[0]) == pytest.approx(4 * 1.5**3 - 6)


def test_a_refused_typed_curve_keeps_the_old_one_and_says_why(harness, builds):
    h = harness
    _typed_curve_mode(h)
    old = active_curve(h.state).formula()
    _type_curve(h, "x +* 2")
    _settle(h)
    cs = h.state.curve
    assert cs.error and h.app.ui.message_is_error and h.app.ui.message == cs.error
    assert active_curve(h.state).formula() == old
    assert cs.wanted() == cs.built()  # the fields name the curve on screen
    main = threading.current_thread().name
    assert all(name != main for _, _, name in builds)
    _type_curve(h, "x^2")  # a good one afterwards replaces it
    _settle(h)
    assert active_curve(h.state).formula() == "x^2" and cs.error == ""


def test_catalogue_choice_in_the_1d_panel_is_built_in_the_pipeline(harness, builds):
    h = harness
    h.state.mode = "curve"
    _settle(h)
    builds.clear()
    h.state.curve.source, h.state.curve.name = "catalogue", "double_well"
    h.frame()
    _settle(h)
    assert active_curve(h.state).name == "double_well"
    main = threading.current_thread().name
    assert [kind for kind, t, _ in builds if t == "double_well"] == ["named"]
    assert all(name != main for _, _, name in builds)


def test_try_this_buttons_build_in_the_pipeline(harness, builds):
    h = harness
    _settle(h)
    builds.clear()
    main = threading.current_thread().name
    panels.try_banana(h.state, h.app.ui)
    _settle(h)
    assert h.state.surface.name == "banana" and h.state.view.floor
    assert h.state.point == tuple(h.state.surface.teaching.start) and h.state.mode == "surface"
    panels.try_saddle(h.state, h.app.ui)
    _settle(h)
    h.frame(8, dt=0.5)
    assert h.state.surface.name == "saddle" and h.state.point == (0.0, 0.0)
    panels.try_race(h.state, h.app.ui)
    _settle(h)
    assert h.state.surface.name == "banana" and h.state.descent.playing
    assert h.state.descent.optimizer_names == list(panels.TRY_RACE)
    assert [kind for kind, t, _ in builds].count("named") >= 3  # banana twice, saddle once
    assert all(name != main for _, _, name in builds)


def test_a_curve_from_the_surface_panel_is_the_one_the_1d_mode_shows(harness):
    h = harness
    panels.choose_surface(h.app.ui, "sine")
    _settle(h)
    assert h.state.mode == "curve"
    assert active_curve(h.state).name == "sine"  # it showed the 1D panel's cubic
    panels.compile_expression(h.app.ui, "x^2 + 1")
    _settle(h)
    assert active_curve(h.state).formula() == "x^2 + 1"


def test_recording_the_1d_mode_keeps_the_built_curve(harness, builds):
    from gradient_explorer.render.recording import snapshot

    h = harness
    _typed_curve_mode(h)
    _type_curve(h, "x^3/3 - x")
    _settle(h)
    builds.clear()
    copy = snapshot(h.state)  # what Record draws from, on the frame thread
    assert active_curve(copy).formula() == "x^3/3 - x"
    assert builds == []  # shared, not built again


def test_ctrl_o_builds_the_session_in_the_pipeline(harness, builds, tmp_path):
    from gradient_explorer.app.session import save_session
    from gradient_explorer.app.state import AppState

    h = harness
    saved = AppState.for_surface(Surface.from_expr("x^2 - x*y + sin(y)"))
    saved.mode = "curve"
    saved.curve.source, saved.curve.expression = "expression", "cos(x) + x^2/8"
    path = tmp_path / "lesson.json"
    save_session(saved, path)
    _settle(h)
    builds.clear()
    h.app.load_session(path)
    _settle(h)
    assert "session loaded" in h.app.ui.message and h.app.session_path == path.absolute()
    assert h.state.surface.formula() == "x^2 - x*y + sin(y)"
    assert active_curve(h.state).formula() == "cos(x) + x^2/8"
    derived = {t for kind, t, _ in builds if kind == "from_expr"}
    assert {"x^2 - x*y + sin(y)", "cos(x) + x^2/8"} <= derived
    main = threading.current_thread().name
    assert all(name != main for _, _, name in builds)
