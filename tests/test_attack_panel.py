"""The attack panel draws in every state without raising (an exception there would end the
window), its numbers are the classifier's own, and its buttons ask for the right surface."""

from __future__ import annotations

import numpy as np
import pytest

imgui = pytest.importorskip("imgui_bundle").imgui

from gradient_explorer.app.attack_mode import digit_attack, perturbation_surface  # noqa: E402
from gradient_explorer.app.state import AppState  # noqa: E402
from gradient_explorer.app.ui.attack_panel import AttackPanel, diverging  # noqa: E402
from gradient_explorer.app.ui.imgui_input import ImguiInput  # noqa: E402
from gradient_explorer.surfaces import adversarial, classifiers  # noqa: E402
from gradient_explorer.surfaces.surface import Surface  # noqa: E402


@pytest.fixture
def frame():
    context = imgui.create_context()
    ImguiInput()
    io = imgui.get_io()
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    io.display_size = (1600, 900)

    def draw(panel, state):
        imgui.new_frame()
        panel.draw(state)
        imgui.render()
        return imgui.get_draw_data()

    try:
        yield draw
    finally:
        imgui.destroy_context(context)


def _trained_panel(**kw) -> AttackPanel:
    panel = AttackPanel(visible=True, **kw)
    for name in classifiers.MODELS:  # trained here, not in the panel's thread
        panel._models[name] = classifiers.trained_classifier(name)
    return panel


def test_digit_attack_numbers_are_the_models(rng):
    split = classifiers.digits_split()
    model = classifiers.trained_classifier("logistic")
    d = digit_attack(model, split, 7, "fgsm", 0.2, 10, None, seed=3)
    x, y = split.x_test[7:8], split.y_test[7:8]
    np.testing.assert_array_equal(d.adversarial.ravel(), adversarial.fgsm(model, x, y, 0.2)[0])
    np.testing.assert_array_equal(d.random.ravel(), adversarial.random_signs(x, 0.2, 3)[0])
    np.testing.assert_allclose(d.gradient.ravel(), model.input_gradient(x, y)[0])
    assert d.label == y[0] and d.image.shape == (8, 8)
    assert np.all(np.abs(d.perturbation) <= 0.2 + 1e-15)
    assert d.p_clean.sum() == pytest.approx(1.0) and d.p_attacked.sum() == pytest.approx(1.0)
    assert d.loss_attacked > d.loss_random  # the lesson, on this digit
    # the perturbation surface: a picture, row 0 on top
    s = perturbation_surface(d)
    assert s.f((0.0, 7.0)) == pytest.approx(d.perturbation[0, 0])
    assert s.f((7.0, 0.0)) == pytest.approx(d.perturbation[7, 7])


def test_diverging_map_is_white_at_zero_and_signed():
    assert diverging(0.0, 1.0) == (1.0, 1.0, 1.0, 1.0)
    red, blue = diverging(1.0, 1.0), diverging(-1.0, 1.0)
    assert red[0] > red[2] and blue[2] > blue[0]
    assert diverging(5.0, 1.0) == red  # saturates


@pytest.mark.parametrize("method", ["fgsm", "pgd", "random"])
def test_panel_draws_each_method_and_both_sections(frame, method):
    panel = _trained_panel(method=method, index=12, eps=0.2)
    state = AppState.for_surface(Surface.named("banana"))
    frame(panel, state)
    frame(panel, state)
    assert panel.digit() is not None and panel.error == ""
    # the input plane button asks for the moons loss surface and its attack
    from gradient_explorer.app.ui.attack_panel import _moons_request

    surface, attack, point = _moons_request(label=1)
    state.set_surface(surface)
    state.input_attack, state.point = attack, point
    frame(panel, state)
    assert attack.at(point) is not None


def test_panel_while_the_model_trains_and_with_a_bad_digit(frame):
    panel = AttackPanel(visible=True)
    panel._training.add("logistic")  # as if the thread were still running
    state = AppState.for_surface(Surface.named("banana"))
    frame(panel, state)
    assert panel.digit() is None
    panel = _trained_panel(index=10_000)
    frame(panel, state)  # says so, does not raise
