"""How the picture is framed in the frame or the part of the window the panels leave free:
the angle never depends on the free area's shape, a turned view is fitted again when a
panel opens, a zoomed one slides with the free area, and everything drawn (the point's
arrow and tangent plane too) fits with a margin (numpy only, no GL)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.camera import PRESETS, OrbitCamera

BANANA = ((-2.0, -1.0, -0.6), (2.0, 3.0, 1.96))
WIDE = 16 / 9
# what the window leaves free: the side panel alone; the side panel and the F1 help
SIDE = (0.29, 0.04, 1.0, 1.0)
SIDE_AND_HELP = (0.29, 0.04, 0.64, 1.0)


def ndc(cam: OrbitCamera, points, aspect: float) -> np.ndarray:
    p = np.column_stack([np.asarray(points, dtype=float), np.ones(len(points))])
    clip = p @ cam.view_projection(aspect).T
    return clip[:, :2] / clip[:, 3:4]


def corners(bmin, bmax) -> np.ndarray:
    return np.array(list(itertools.product(*zip(bmin, bmax, strict=True))), dtype=float)


def inside(xy: np.ndarray, region, slack: float = 1e-6) -> bool:
    left, bottom, right, top = (2 * v - 1 for v in region)
    return bool(
        xy[:, 0].min() >= left - slack
        and xy[:, 0].max() <= right + slack
        and xy[:, 1].min() >= bottom - slack
        and xy[:, 1].max() <= top + slack
    )


@pytest.mark.parametrize("region", [SIDE, SIDE_AND_HELP, (0.3, 0.5, 0.7, 1.0)])
@pytest.mark.parametrize("aspect", [WIDE, 1.0, 0.5])
def test_the_home_angle_does_not_depend_on_the_free_area(region, aspect):
    # A panel that opens narrows the free area: the home view's zoom and centre change,
    # its angle does not (it turned to a high front view, the floor map a thin strip).
    # It is the whole picture's: three-quarter in a landscape one.
    whole = OrbitCamera(smooth_time=0.0)
    whole.frame(*BANANA, aspect=aspect, snap=True)
    cam = OrbitCamera(smooth_time=0.0)
    cam.view_region = region
    cam.frame(*BANANA, aspect=aspect, snap=True)
    assert (cam.azimuth, cam.elevation) == (whole.azimuth, whole.elevation)
    if aspect >= 1:
        assert (cam.azimuth, cam.elevation) == PRESETS["three_quarter"][:2]
    assert inside(ndc(cam, corners(*BANANA), aspect), region)


def _fill(xy: np.ndarray, region) -> float:
    """The larger of the outline's width and height over the region's, in NDC."""
    left, bottom, right, top = region
    span = xy.max(axis=0) - xy.min(axis=0)
    return float(max(span[0] / (2 * (right - left)), span[1] / (2 * (top - bottom))))


def test_a_turned_view_is_fitted_again_into_the_new_free_area():
    # Orbit, then a panel opens on the right: the angle stays, and the picture is fitted
    # into what is left free (it stayed where it was, a third of it under the panel).
    cam = OrbitCamera()
    cam.view_region = SIDE
    cam.frame(*BANANA, aspect=WIDE, snap=True)
    cam.orbit(-20.0, 5.0)
    cam.snap()
    angle = (cam.azimuth, cam.elevation)
    cam.view_region = SIDE_AND_HELP
    cam.frame(*BANANA, aspect=WIDE, go=False)  # what the window does: home moves
    cam.follow_region(SIDE, WIDE, snap=True)
    assert (cam.azimuth, cam.elevation) == angle
    xy = ndc(cam, corners(*BANANA), WIDE)
    assert inside(xy, SIDE_AND_HELP)
    assert _fill(xy, SIDE_AND_HELP) == pytest.approx(1 - OrbitCamera.FRAME_MARGIN, abs=1e-3)
    assert not cam.at_home()  # Reset still goes to the three-quarter view
    cam.reset(snap=True)
    assert (cam.azimuth, cam.elevation) == PRESETS["three_quarter"][:2]


@pytest.mark.parametrize("gesture", ["zoom", "pan"])
def test_a_zoomed_view_keeps_its_zoom_and_slides_with_the_free_area(gesture):
    cam = OrbitCamera()
    cam.view_region = SIDE
    cam.frame(*BANANA, aspect=WIDE, snap=True)
    cam.orbit(15.0, 0.0)
    cam.zoom(0.5) if gesture == "zoom" else cam.pan(0.05, 0.0)
    cam.snap()
    state = cam.get_state()
    looked_at = np.array(state["target"])
    before = ndc(cam, [looked_at], WIDE)[0]
    cam.view_region = SIDE_AND_HELP
    cam.follow_region(SIDE, WIDE, snap=True)
    after = cam.get_state()
    assert after["distance"] == state["distance"]  # the zoom they chose
    assert (after["azimuth"], after["elevation"]) == (state["azimuth"], state["elevation"])
    # what was at the old free area's centre is at the new one's: shifted by the change
    # of the region's centre, in NDC
    shift = (SIDE_AND_HELP[0] + SIDE_AND_HELP[2]) - (SIDE[0] + SIDE[2])
    np.testing.assert_allclose(ndc(cam, [looked_at], WIDE)[0] - before, [shift, 0.0], atol=1e-9)
    cam.view_region = SIDE  # the panel closes: back where it was
    cam.follow_region(SIDE_AND_HELP, WIDE, snap=True)
    np.testing.assert_allclose(cam.get_state()["target"], looked_at, atol=1e-9)


def test_a_view_set_in_full_is_not_refitted():
    # a session's view (or --camera) is the user's: a panel opening slides it, no more
    cam = OrbitCamera()
    cam.view_region = SIDE
    cam.frame(*BANANA, aspect=WIDE, snap=True)
    cam.set_state({"azimuth": 10.0, "elevation": 20.0, "distance": 3.0})
    cam.view_region = SIDE_AND_HELP
    cam.follow_region(SIDE, WIDE, snap=True)
    assert cam.get_state()["distance"] == 3.0


@pytest.mark.parametrize("region", [(0, 0, 1, 1), SIDE_AND_HELP])
def test_the_top_view_fits_the_free_area(region):
    cam = OrbitCamera()
    cam.view_region = region
    cam.frame(*BANANA, aspect=WIDE, snap=True)
    cam.preset("top", aspect=WIDE, snap=True)
    assert cam.projection == "orthographic"
    xy = ndc(cam, corners(*BANANA), WIDE)
    assert inside(xy, region)
    assert _fill(xy, region) == pytest.approx(1 - OrbitCamera.FRAME_MARGIN, abs=1e-6)


@pytest.mark.parametrize(
    ("expr", "point"),
    [("sin(x)*cos(y)", (1.0, 0.5)), ("x^2 - y^2", (0.9, -0.7)), ("exp(x) + y", (1.5, 0.0))],
)
def test_the_point_arrow_and_tangent_plane_are_framed(expr, point):
    # `render --point`: the home view fits the arrow and the tangent plane too (the arrow
    # left the picture, the plane was cut at its top).
    from gradient_explorer.cli import build_parser
    from gradient_explorer.cli.render import state_from_args
    from gradient_explorer.render.visuals.point_visual import point_geometry

    args = build_parser().parse_args(
        [
            "render",
            "--expr",
            expr,
            "--floor",
            "--point",
            ",".join(map(str, point)),
            "--out",
            "x.png",
        ]
    )
    state, size = state_from_args(args)
    aspect = size[0] / size[1]
    g = point_geometry(state.surface, state.point, state.surface.height_range().floor_z)
    drawn = np.vstack([g.tangent_plane, *(start + vec for start, vec in [g.ascent_arrow])])
    assert inside(ndc(state.camera, drawn, aspect), (0, 0, 1, 1))


@pytest.mark.parametrize("name", ["banana", "himmelblau", "saddle"])
def test_everything_framed_keeps_a_margin(name):
    # the labels stand centred on their points: the outline keeps a margin for them
    state = AppState.for_surface(Surface.named(name), aspect=WIDE, view=ViewOptions())
    xy = ndc(state.camera, state.framing_points(), WIDE)
    assert np.abs(xy).max() <= 1 - OrbitCamera.FRAME_MARGIN + 1e-6
    # the top tick label of the f axis (a label's height is ~2.5% of a 720-pixel
    # window) stood at the frame's edge; at least 3% of the height is kept free
    assert xy[:, 1].max() <= 0.94


def test_the_top_view_follows_the_free_area_as_a_map_of_the_domain():
    # T, then a panel opens: the map is fitted again into what is left free, whole
    cam = OrbitCamera()
    cam.view_region = SIDE
    flat = np.array([[x, y, 0.5] for x in (-1.0, 1.0) for y in (0.0, 2.0)])  # drawn part
    cam.frame(*BANANA, aspect=WIDE, snap=True, points=flat)
    cam.preset("top", aspect=WIDE, snap=True)
    cam.view_region = SIDE_AND_HELP
    cam.follow_region(SIDE, WIDE, snap=True)
    assert (cam.azimuth, cam.elevation, cam.projection) == (-90, 90, "orthographic")
    xy = ndc(cam, corners(*BANANA), WIDE)
    assert inside(xy, SIDE_AND_HELP)
    assert _fill(xy, SIDE_AND_HELP) == pytest.approx(1 - OrbitCamera.FRAME_MARGIN, abs=1e-6)


@pytest.mark.gl
def test_reset_in_the_window_frames_the_point_arrow_and_plane(tmp_path):
    # a point placed in the window: the view stays, and R goes to a home view that shows
    # its arrow and tangent plane within the free area (the arrow left the window)
    pytest.importorskip("moderngl_window.context.headless")
    from harness import AppHarness

    from gradient_explorer.render.visuals.point_visual import point_geometry

    h = AppHarness((1280, 720), "banana", samples=0, screenshot_dir=tmp_path)
    try:
        state = h.state
        state.set_surface(Surface.from_expr("sin(x)*cos(y)"), 1280 / 720)
        h.frame(3)
        state.camera.snap()
        before = state.camera.get_state()
        state.point = (-1.1, 2.7)  # its arrow and plane stood above the home view's top
        h.frame(2)
        assert state.camera.get_state() == before  # placing the point moves nothing
        h.key("R")
        state.camera.snap()
        g = point_geometry(state.surface, state.point, state.surface.height_range().floor_z)
        drawn = np.vstack([g.tangent_plane, g.ascent_arrow[0] + g.ascent_arrow[1]])
        screen = np.array([h.app.interaction.to_screen(p) for p in drawn])
        left, right = state.view.insets
        assert screen[:, 0].min() >= left - 1 and screen[:, 0].max() <= 1280 - right + 1
        assert screen[:, 1].min() >= 0 and screen[:, 1].max() <= 720
    finally:
        h.close()
