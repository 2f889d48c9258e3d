"""The backprop panel draws in every state without raising (an exception there would end
the window), and its controls move through the backward pass."""

from __future__ import annotations

import numpy
import pytest

imgui = pytest.importorskip("imgui_bundle").imgui

from gradient_explorer.app.state import AppState  # noqa: E402
from gradient_explorer.app.ui.backprop_panel import BackpropPanel  # noqa: E402
from gradient_explorer.app.ui.imgui_input import ImguiInput  # noqa: E402
from gradient_explorer.surfaces.backprop import backprop  # noqa: E402
from gradient_explorer.surfaces.surface import Surface  # noqa: E402

NEURON = "1/(1 + exp(-(a*x + b*y + c)))"


@pytest.fixture
def frame():
    context = imgui.create_context()
    ImguiInput()
    io = imgui.get_io()
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    io.display_size = (1600, 900)

    def draw(panel, state, mouse=(-1.0, -1.0)):
        io.mouse_pos = mouse
        imgui.new_frame()
        panel.draw(state)
        imgui.render()
        return imgui.get_draw_data()

    try:
        yield draw
    finally:
        imgui.destroy_context(context)


@pytest.fixture(scope="module")
def neuron_state():
    surface = Surface.from_expr(NEURON, params={"a": 2, "b": -3, "c": -3}, timeout=None)
    state = AppState.for_surface(surface)
    state.point = (-1.0, -2.0)
    return state


def test_panel_draws_every_step_and_hover(frame, neuron_state):
    panel = BackpropPanel(visible=True)
    total = len(backprop(neuron_state.surface, neuron_state.point).steps)
    for step in (None, 0, 1, total // 2, total):
        panel.step = step
        for mouse in ((-1.0, -1.0), (300.0, 600.0), (800.0, 700.0), (1200.0, 800.0)):
            data = frame(panel, neuron_state, mouse)
            assert data.total_vtx_count > 0


def test_panel_hover_finds_a_node(frame, neuron_state):
    panel = BackpropPanel(visible=True)
    hits = set()
    for x in range(0, 1600, 40):
        for y in range(300, 900, 40):
            frame(panel, neuron_state, (float(x), float(y)))
            if panel.hovered is not None:
                hits.add(panel.hovered)
    assert len(hits) >= 5  # boxes are where the mouse can find them


def test_panel_without_point_or_in_curve_mode(frame, neuron_state):
    panel = BackpropPanel(visible=True)
    state = AppState.for_surface(neuron_state.surface)
    frame(panel, state)  # no point yet: a sentence, no graph
    state.mode = "curve"
    frame(panel, state)
    state.point = (0.0, 0.0)
    state.mode = "surface"
    panel.toggle()
    assert not panel.visible
    assert frame(panel, state).total_vtx_count == 0


@pytest.mark.gl
def test_key_b_opens_the_panel_in_the_app(tmp_path):
    """The real app on a headless window: B shows the graph over the scene, B hides it."""

    import numpy as np

    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    h = AppHarness((800, 600), "saddle", 0, screenshot_dir=tmp_path)
    try:
        h.state.point = (0.5, 0.5)
        h.frame(3)
        before = h.pixels().astype(int)
        h.key("B")
        h.frame(3)
        assert h.app.backprop_panel.visible
        shown = h.pixels().astype(int)
        changed = np.abs(shown - before).max(axis=-1) > 40
        assert changed[300:, 220:].mean() > 0.05  # the panel along the bottom, right of 26 em
        h.key("B")
        h.frame(3)
        assert not h.app.backprop_panel.visible
    finally:
        assert h.close() == "GL_NO_ERROR"


def _panel_window():
    return imgui.internal.find_window_by_name("Backprop: the chain rule, drawn (B)")


@pytest.mark.parametrize("kind", ["image", "heights"])
def test_a_sampled_surface_says_it_has_no_formula_in_one_short_panel(frame, neuron_state, kind):
    """Its label ("image camera.png (sobel)") is not parsed as a formula: one line says
    there is no graph, and the panel shrinks to it, then grows back for a formula."""
    from gradient_explorer.surfaces.sampled import SampledSurface

    grid = numpy.add.outer(numpy.arange(6.0), numpy.arange(8.0))
    image = SampledSurface.from_samples(grid, name="camera.png", kind=kind)
    state = AppState.for_surface(image)
    state.point = (2.0, 3.0)
    panel = BackpropPanel(visible=True)
    reason = panel._target(state)
    assert isinstance(reason, str) and "has no formula" in reason
    assert ("an image" if kind == "image" else "an elevation map") in reason
    frame(panel, neuron_state)  # a graph first: the panel at its full size
    full = _panel_window().size.y
    for _ in range(3):
        frame(panel, state)
    em = imgui.get_font_size()
    assert _panel_window().size.y < 4 * em < full / 3
    for _ in range(2):
        frame(panel, neuron_state)
    assert _panel_window().size.y == full
