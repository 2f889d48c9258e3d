"""The loss over a 2D classifier's input plane, and the attack drawn at a point."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.attack_mode import InputAttack
from gradient_explorer.errors import UsageError
from gradient_explorer.render.palette import ARROW_COLOR
from gradient_explorer.render.visuals.attack_visual import CLASS_COLORS, attack_geometry
from gradient_explorer.surfaces.input_plane import attack_at, input_plane, zero_contour


@pytest.fixture(scope="module")
def plane():
    return input_plane("moons", label=1)


def _near_boundary_point(plane, label: int = 1, k: int = 3) -> np.ndarray:
    m = plane.margin(plane.X)
    idx = np.flatnonzero((plane.y == label) & (plane.predict(plane.X) == label))
    return plane.X[idx[np.argsort(np.abs(m[idx]))[k]]]


@pytest.mark.torch
@pytest.mark.parametrize("label", [0, 1])
def test_plane_loss_and_input_gradient_match_torch(plane, label, rng):
    torch = pytest.importorskip("torch")
    net = plane.model.net
    pts = rng.uniform(-2, 2.5, (40, 2))
    loss, grad = plane.with_label(label).model.loss_and_input_gradient(pts, label)
    x = torch.tensor(pts, requires_grad=True)
    hidden = torch.tanh(x @ torch.tensor(net.W1).T + torch.tensor(net.b1))
    z = hidden @ torch.tensor(net.w2) + net.b2
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.full((40,), float(label), dtype=torch.float64), reduction="none"
    )
    ref.sum().backward()
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=0, atol=1e-10)
    # the surface's exact numerics are the same function
    surface = plane.with_label(label).surface(resolution=17)
    np.testing.assert_allclose(surface.f(pts[:5]), ref.detach().numpy()[:5], atol=1e-10)


def test_margin_sign_is_the_prediction(plane, rng):
    pts = rng.uniform(-2, 2.5, (300, 2))
    for label in (0, 1):
        p = plane.with_label(label)
        assert np.array_equal(p.margin(pts) > 0, p.predict(pts) == label)
    # the model fits the moons: most training points are on their own side
    assert np.mean(plane.predict(plane.X) == plane.y) > 0.9


@pytest.mark.parametrize(
    ("eps", "alpha", "steps"), [(0.3, 0.05, 10), (0.1, 0.3, 4), (0.5, 0.02, 30)]
)
def test_attack_at_a_point(plane, eps, alpha, steps):
    x = _near_boundary_point(plane)
    a = attack_at(plane, x, eps, alpha, steps)
    g = plane.gradient(x)
    np.testing.assert_allclose(a.gradient, g, atol=1e-12)
    # FGSM: the square's corner in the gradient's signs; L2: on the circle, along g
    np.testing.assert_allclose(a.fgsm, x + eps * np.sign(g), atol=1e-14)
    assert any(np.allclose(a.fgsm, c, atol=1e-14) for c in a.square)
    assert np.linalg.norm(a.l2 - x) == pytest.approx(eps, abs=1e-12)
    np.testing.assert_allclose(a.l2 - x, eps * g / np.linalg.norm(g), atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(a.circle() - x, axis=1), eps, atol=1e-12)
    # PGD: every iterate inside the square, each step at most alpha per coordinate
    assert a.pgd.shape == (steps + 1, 2)
    assert np.all(np.abs(a.pgd - x) <= eps + 1e-15)
    assert np.all(np.abs(np.diff(a.pgd, axis=0)) <= alpha + 1e-15)
    np.testing.assert_array_equal(a.classes, plane.predict(a.pgd))
    np.testing.assert_allclose(a.pgd_losses, plane.loss(a.pgd), atol=1e-12)
    flipped = np.flatnonzero(a.classes != a.classes[0])
    assert a.flip_step == (int(flipped[0]) if len(flipped) else None)


def test_a_pgd_path_crosses_the_boundary_and_the_summary_says_when(plane):
    x = _near_boundary_point(plane)
    attack = InputAttack(plane, eps=0.3, alpha=0.04, steps=12)
    a = attack.at(tuple(x))
    assert a.clean_class == 1 and a.flip_step is not None
    assert a.pgd_losses[-1] > a.loss  # ascent on the input raised the loss
    assert f"after step {a.flip_step}" in attack.summary(tuple(x))
    # the PGD ball's step: the last by default, any earlier one on the slider
    assert attack.shown(a) == a.steps
    attack.step = a.flip_step - 1
    assert "class 1," in attack.step_line(tuple(x))
    attack.step = a.flip_step
    assert f"after step {a.flip_step} of 12: class 0 (flipped)" in attack.step_line(tuple(x))
    attack.step = 99
    assert attack.shown(a) == a.steps
    with pytest.raises(UsageError):
        attack.set(eps=-1)
    assert attack.eps == 0.3  # a refused value changes nothing


def test_zero_contour_of_a_circle():
    xs = np.linspace(-2, 2, 41)
    gx, gy = np.meshgrid(xs, xs)
    seg = zero_contour(xs, xs, 1.0 - gx**2 - gy**2)
    r = np.linalg.norm(seg.reshape(-1, 2), axis=1)
    assert len(seg) > 40
    np.testing.assert_allclose(r, 1.0, atol=0.01)  # linear interpolation on a 0.1 grid


def test_attack_geometry_tints_the_floor_by_class(plane):
    surface = plane.surface(resolution=33)
    x = _near_boundary_point(plane)
    attack = InputAttack(plane, eps=0.3, alpha=0.04, steps=6)
    floor_z = surface.height_range().floor_z
    g = attack_geometry(surface, floor_z, attack, tuple(x), cells=16)
    _, _, classes = plane.class_grid(16)
    xyz, rgba = g.regions
    assert len(xyz) == 6 * 16 * 16
    np.testing.assert_allclose(rgba[::6, :3], np.array(CLASS_COLORS)[classes.ravel()])
    assert np.all(np.abs(xyz[:, 2] - floor_z) < 0.01)
    assert np.all(np.isfinite(g.lines[0])) and len(g.lines[0]) % 2 == 0
    assert len(g.solids[0]) > 0
    # the gradient arrow is there, in the arrow colour, starting at the point
    red = np.all(np.isclose(g.solids[1], ARROW_COLOR), axis=1)
    assert red.any()
    start = np.array([*x, surface.height(x)])
    assert np.min(np.linalg.norm(g.solids[0][red] - start, axis=1)) < 0.05


def test_bad_label_and_point_are_refused(plane):
    with pytest.raises(UsageError, match="label"):
        plane.with_label(2)
    with pytest.raises(UsageError, match="point"):
        attack_at(plane, (np.nan, 0.0), 0.1, 0.01, 3)
    with pytest.raises(UsageError, match="eps"):
        attack_at(plane, (0.0, 0.0), -0.1, 0.01, 3)


@pytest.mark.gl
def test_the_attack_is_drawn(plane):
    pytest.importorskip("moderngl")
    from gradient_explorer.app.state import AppState
    from gradient_explorer.render.headless import render_image

    state = AppState.for_surface(plane.surface(resolution=33), aspect=4 / 3)
    state.point = tuple(float(v) for v in _near_boundary_point(plane))
    state.view.grid = 32
    plain = render_image(state, (160, 120), samples=0, overlay=False)
    state.input_attack = InputAttack(plane, eps=0.3, alpha=0.04, steps=6)
    drawn = render_image(state, (160, 120), samples=0, overlay=False)
    changed = np.any(plain != drawn, axis=2)
    assert changed.mean() > 0.01


def test_a_session_keeps_the_input_plane_its_label_and_sliders(tmp_path):
    """Ctrl+S on the input plane used to fail ('a surface made from an array in Python
    has no file'): the plane is saved as its recipe and label, with the attack's sliders,
    and Ctrl+O brings back the same loss, the same attack at the point."""
    from gradient_explorer.app.session import apply_session, save_session, session_to_dict
    from gradient_explorer.app.state import AppState
    from gradient_explorer.surfaces.surface import Surface

    plane = input_plane("moons", 0)
    surface = plane.surface()
    state = AppState.for_surface(surface)
    state.input_attack = InputAttack(plane, surface=surface)
    state.input_attack.set(eps=0.2, alpha=0.03, steps=7)
    state.input_attack.step = 3
    state.point = (0.5, 0.2)
    path = save_session(state, tmp_path / "s.json")
    into = AppState.for_surface(Surface.named("bowl"))  # the window's state, as Ctrl+O
    apply_session(into, path)
    back = into.input_attack
    assert back is not None and back.surface is into.surface
    assert (back.eps, back.alpha, back.steps, back.step) == (0.2, 0.03, 7, 3)
    assert back.plane.label == 0
    pts = np.array([[0.5, 0.2], [-1.0, 1.0], [1.5, -0.3]])
    np.testing.assert_array_equal(into.surface.f(pts), surface.f(pts))
    np.testing.assert_array_equal(into.surface.gradient(pts), surface.gradient(pts))
    assert back.summary(into.point) == state.input_attack.summary(state.point)
    assert session_to_dict(into) == session_to_dict(state)
