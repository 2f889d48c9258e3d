"""The window's Image entry, driven by script on a headless window."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gl

pytest.importorskip("moderngl_window.context.headless")

from harness import AppHarness  # noqa: E402

from gradient_explorer.app.ui.image_panel import load_image  # noqa: E402

SIZE = (800, 600)


@pytest.fixture
def h(tmp_path):
    harness = AppHarness(SIZE, "saddle", 4, screenshot_dir=tmp_path, precompile=False)
    yield harness
    assert harness.close() == "GL_NO_ERROR"


def _load(h, text):
    ui = h.app.ui
    load_image(ui, text, ui.image)
    h.frames_until(lambda: not ui.compiler.busy, timeout=60)
    h.frame(2)


def test_a_sample_becomes_the_surface_and_every_tool_reads_it(h):
    _load(h, "camera")
    surface = h.state.surface
    assert surface.sampled and surface.domain == ((0.0, 511.0), (0.0, 511.0))
    assert "camera.png" in h.app.ui.message
    # The Point panel reads the same numerics as for formulas; a ball rolls on it.
    h.state.point = (256.0, 300.5)
    h.state.descent.start_run(surface, (256.0, 300.5))
    h.state.descent.playing = True
    h.frame(10)
    assert np.isfinite(surface.gradient(np.array(h.state.point))).all()
    ball = h.state.descent.descents[0]
    assert ball.steps[0] > 0 and np.isfinite(ball.positions).all()
    assert not np.array_equal(ball.positions[0], (256.0, 300.5))  # it rolled


def test_a_2d_view_opens_in_its_own_window_with_its_texture(h):
    _load(h, "coffee")
    image = h.app.ui.image
    for view in ("emboss", "edges", "direction", "canny"):
        image.view = view
        h.frame(2)
        assert image._texture is not None and image._texture.size == (600, 400)
    image.stage = "nms"
    h.frame(2)
    nms = image._picture
    image.stage = "edges"
    h.frame(2)
    assert not np.array_equal(nms, image._picture)


def test_a_bad_file_is_one_status_line_and_changes_nothing(h, tmp_path):
    before = h.state.surface
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    _load(h, str(bad))
    assert h.state.surface is before
    assert h.app.ui.message_is_error and "broken.png" in h.app.ui.message
    assert "\n" not in h.app.ui.message


def test_changing_the_operator_rebuilds_the_derivatives(h):
    _load(h, "jacksboro")
    first = h.state.surface
    image = h.app.ui.image
    image.operator, image.sigma = "central", 2.0
    _load(h, image.path)
    second = h.state.surface
    assert second.samples.operator == "central" and second.samples.sigma == 2.0
    assert not np.array_equal(first.samples.gradient, second.samples.gradient)


def test_a_click_places_the_point_on_the_terrain(h):
    image = h.app.ui.image
    image.sigma = 2.0
    _load(h, "jacksboro")
    surface = h.state.surface
    (x0, x1), (y0, y1) = surface.domain
    clicked = 0
    for xy in [
        (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fx in (0.4, 0.6) for fy in (0.3, 0.6)
    ]:
        z = float(surface.height(np.array(xy)))
        sx, sy = h.app.interaction.to_screen(np.array([xy[0], xy[1], z]))
        hit = h.app.interaction.pick_surface(sx, sy)
        if hit is None or not np.allclose(hit[:2], xy, atol=0.5):
            continue  # hidden behind a ridge from this camera
        h.click(sx, sy)
        np.testing.assert_allclose(h.state.point, xy, atol=0.5)
        clicked += 1
    assert clicked >= 2
