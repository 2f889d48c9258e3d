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


def _indices_by_texture(draw_data) -> dict[int, int]:
    """imgui triangle indices drawn this frame, by texture id."""
    out: dict[int, int] = {}
    for draw_list in draw_data.cmd_lists:
        for cmd in draw_list.cmd_buffer:
            tex_id = cmd.tex_ref._tex_id  # 0 for the font atlas (not uploaded here)
            out[tex_id] = out.get(tex_id, 0) + cmd.elem_count
    return out


def test_digit_pictures_are_textures_written_when_the_attack_changes(frame, ctx):
    """The five 8x8 pictures were 320 imgui rectangles built every frame: now five
    textures, written once per attack shown, each holding the colours the rectangles had."""
    from gradient_explorer.app.ui.attack_panel import digit_pictures
    from gradient_explorer.render.imgui_renderer import ImguiRenderer

    panel = _trained_panel(index=3, eps=0.2)
    panel.pictures.gl = (ctx, ImguiRenderer(ctx))
    state = AppState.for_surface(Surface.named("banana"))
    try:
        for _ in range(3):
            data = frame(panel, state)
        assert panel.pictures.writes == 5  # once, not every frame
        d = panel.digit()
        drawn = _indices_by_texture(data)
        for texture in panel.pictures._textures:  # one textured quad a picture
            assert drawn[texture.glo] == 6
        # each texture holds what imgui made of the old per-pixel colours
        gmax = float(np.max(np.abs(d.gradient)))
        maps = [d.image, d.gradient / gmax, d.sign, d.adversarial, d.random]
        for k, (texture, (_, rgba)) in enumerate(
            zip(panel.pictures._textures, digit_pictures(d, "fgsm"), strict=True)
        ):
            assert texture.size == (8, 8) and texture.read() == rgba.tobytes()
            for v, got in zip(maps[k].ravel(), rgba.reshape(-1, 4), strict=True):
                signed = k in (1, 2)
                colour = diverging(v, 1.0) if signed else (*(min(max(v, 0), 1),) * 3, 1.0)
                u32 = imgui.color_convert_float4_to_u32(imgui.ImVec4(*colour))
                assert [(u32 >> s) & 255 for s in (0, 8, 16, 24)] == got.tolist()
        panel.index = 4  # another digit: written again, once
        frame(panel, state)
        frame(panel, state)
        assert panel.pictures.writes == 10
    finally:
        renderer = panel.pictures.gl[1]
        panel.pictures.release()
        renderer.release()
