"""A sampled surface on the GPU: textures, the generated GLSL, the lit picture."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render.gpu_eval import GpuEvaluator
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.visuals.sampled_textures import textures_for
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.picking import world_to_screen
from test_renderer import viridis

pytestmark = pytest.mark.gl

SIZE = (96, 96)


@pytest.fixture(scope="module")
def renderer(gl_ctx):
    r = HeadlessRenderer(gl_ctx, grid=64)
    yield r
    r.release()


def _bumpy(holes=False):
    y, x = np.mgrid[0:40, 0:60].astype(float)
    h = np.sin(x / 7.0) * np.cos(y / 5.0) + 0.01 * x
    if holes:
        h[10:13, 20:25] = np.nan
    return Surface.from_samples(h, operator="sobel", sigma=0.0)


def test_gpu_reads_the_same_f_gradient_and_hessian_as_numpy(gl_ctx, rng):
    surface = _bumpy(holes=True)
    points = rng.uniform([0, 0], [59, 39], size=(400, 2))
    points[:4] = [[0, 0], [59, 39], [21.0, 11.0], [30.5, 0.0]]  # corners, a hole, an edge
    gpu = GpuEvaluator(gl_ctx).evaluate(surface, points)
    with np.errstate(invalid="ignore"):
        f, grad, hess = surface.f(points), surface.gradient(points), surface.hessian(points)
    assert np.array_equal(np.isnan(gpu["f"]), np.isnan(f))
    assert np.isnan(f[2]) and np.isfinite(f[:2]).all()
    ok = np.isfinite(f)
    np.testing.assert_allclose(gpu["f"][ok], f[ok], atol=1e-5)
    np.testing.assert_allclose(gpu["gradient"][ok], grad[ok], atol=1e-5)
    expected = np.stack([hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]], -1)
    np.testing.assert_allclose(gpu["hessian"][ok], expected[ok], atol=1e-5)


def _state(surface, preset, lighting):
    view = ViewOptions(lighting=lighting, contours=0, floor=False, axes=False, grid=64)
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1], view=view)
    state.camera.preset(preset, SIZE[0] / SIZE[1], snap=True)
    return state


def _pixel(state, world):
    sx, sy = world_to_screen(state.camera, np.asarray(world, float), (0, 0, *SIZE), SIZE)
    return int(sy), int(sx)


def _shade(base, n, light, view):
    """common.glsl's Blinn-Phong, in numpy."""
    if n @ view < 0:
        n = -n
    light = light / np.linalg.norm(light)
    diffuse = max(n @ light, 0.0)
    half = (light + view) / np.linalg.norm(light + view)
    specular = max(n @ half, 0.0) ** 48 * (1.0 if n @ light >= 0 else 0.0)
    return base * (0.22 + 0.78 * diffuse) + 0.35 * specular


def test_lit_sampled_surface_matches_a_numpy_prediction(renderer):
    # A smooth bowl sampled on a grid: its normals come from the gradient texture. The
    # points face the camera (its near rim hides part of the far slope).
    y, x = np.mgrid[0:33, 0:33].astype(float)
    surface = Surface.from_samples(((x - 16) ** 2 + 0.5 * (y - 16) ** 2) / 64, operator="central")
    state = _state(surface, "three_quarter", "lit")
    image = renderer.render(state, SIZE, overlay=False).astype(float)
    hr = surface.height_range()
    checked = 0
    for point in [(16.0, 16.0), (10.0, 20.0), (6.0, 24.0), (12.5, 9.5), (20.0, 22.0)]:
        p = np.array(point)
        h = float(surface.height(p))
        g = surface.height_scale * surface.gradient(p)
        n = np.array([-g[0], -g[1], 1.0])
        n /= np.linalg.norm(n)
        world = np.array([*point, h])
        view = np.asarray(state.camera.eye, float) - world
        base = viridis((h - hr.lo) / (hr.hi - hr.lo))
        expected = 255 * np.clip(
            _shade(
                base, n, np.asarray(state.view.light_direction, float), view / np.linalg.norm(view)
            ),
            0,
            1,
        )
        np.testing.assert_allclose(image[_pixel(state, world)], expected, atol=6)
        checked += 1
    assert checked == 5


def test_normals_view_of_a_sampled_ramp_is_the_predicted_colour(renderer):
    y, x = np.mgrid[0:21, 0:21].astype(float)
    a, b = 0.03, -0.02
    surface = Surface.from_samples(a * x + b * y, operator="scharr", height_scale=10.0)
    state = _state(surface, "three_quarter", "normals")
    image = renderer.render(state, SIZE, overlay=False)
    n = np.array([-10 * a, -10 * b, 1.0])
    expected = (0.5 * n / np.linalg.norm(n) + 0.5) * 255
    for point in [(10.0, 10.0), (5.0, 14.0), (15.5, 4.5)]:
        world = (*point, float(surface.height(np.array(point))))
        np.testing.assert_allclose(image[_pixel(state, world)], expected, atol=2)


def test_textures_upload_once_per_samples_not_per_frame(renderer, gl_ctx):
    surface = _bumpy()
    state = _state(surface, "three_quarter", "lit")
    holder = textures_for(gl_ctx)
    before = holder.uploads
    for _ in range(3):
        renderer.render(state, SIZE, overlay=False)
    assert holder.uploads == before + 1
    other = _bumpy(holes=True)  # new data: one more upload
    renderer.render(_state(other, "three_quarter", "lit"), SIZE, overlay=False)
    assert holder.uploads == before + 2


def test_holes_are_drawn_as_holes(renderer):
    h = np.zeros((31, 31))
    h[10:21, 10:21] = np.nan
    surface = Surface.from_samples(h, operator="central", height_scale=1.0)
    state = _state(surface, "top", "unlit")
    image = renderer.render(state, SIZE, overlay=False)
    background = np.array(state.view.background) * 255
    centre = image[_pixel(state, (15.0, 15.0, 0.0))].astype(float)
    outside = image[_pixel(state, (3.0, 3.0, 0.0))].astype(float)
    np.testing.assert_allclose(centre, background, atol=2)
    assert np.abs(outside - background).sum() > 30
