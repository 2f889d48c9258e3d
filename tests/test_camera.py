"""OrbitCamera: matrices against hand computation, state, damping, zoom/pan, presets."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradient_explorer.errors import UsageError
from gradient_explorer.view.camera import PRESETS, OrbitCamera, gl_bytes


def ndc(cam: OrbitCamera, p, aspect: float = 1.0) -> np.ndarray:
    with np.errstate(under="ignore"):
        clip = cam.view_projection(aspect) @ np.append(np.asarray(p, dtype=float), 1.0)
        return clip[:3] / clip[3]


def box_corners(bmin, bmax) -> np.ndarray:
    return np.array(list(itertools.product(*zip(bmin, bmax, strict=True))), dtype=float)


# ---------------------------------------------------------------- matrices


def test_view_matrix_by_hand_side_view():
    # Eye at (0, -5, 0) looking along +y with z up: view x = world x, view y = world z,
    # view z = -(depth) = -(y + 5).
    cam = OrbitCamera(target=(0, 0, 0), azimuth=-90, elevation=0, distance=5)
    expected = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0, -5.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(cam.view_matrix(), expected, atol=1e-15)
    assert cam.view_matrix().dtype == np.float64
    np.testing.assert_allclose(cam.eye, [0.0, -5.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("az, el", [(-60, 30), (10, -45), (123, 89.5), (-90, 90), (33, -90)])
def test_view_matrix_general_hand_formula(az, el):
    target = np.array([0.3, -1.2, 2.0])
    cam = OrbitCamera(target=target, azimuth=az, elevation=el, distance=7.5)
    a, e = math.radians(az), math.radians(el)
    eye = target + 7.5 * np.array(
        [math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)]
    )
    f = (target - eye) / 7.5
    u = np.array([-math.sin(e) * math.cos(a), -math.sin(e) * math.sin(a), math.cos(e)])
    r = np.cross(f, u)
    V = np.eye(4)
    V[0, :3], V[1, :3], V[2, :3] = r, u, -f
    V[:3, 3] = -V[:3, :3] @ eye
    np.testing.assert_allclose(cam.view_matrix(), V, atol=1e-13)
    # The target sits on the view axis at depth d; the eye at the origin.
    np.testing.assert_allclose(
        cam.view_matrix() @ np.append(target, 1), [0, 0, -7.5, 1], atol=1e-13
    )
    np.testing.assert_allclose(cam.view_matrix() @ np.append(eye, 1), [0, 0, 0, 1], atol=1e-13)
    assert np.all(np.isfinite(cam.view_matrix()))


def test_perspective_matrix_by_hand():
    cam = OrbitCamera(distance=4.0, fov_y=60.0)
    n, f = cam.clip_planes()
    aspect = 1.6
    c = 1.0 / math.tan(math.radians(30.0))
    expected = np.array(
        [
            [c / aspect, 0, 0, 0],
            [0, c, 0, 0],
            [0, 0, (f + n) / (n - f), 2 * f * n / (n - f)],
            [0, 0, -1, 0],
        ]
    )
    np.testing.assert_allclose(cam.projection_matrix(aspect), expected, rtol=1e-14, atol=1e-15)


def test_orthographic_matrix_by_hand_and_height_follows_distance():
    cam = OrbitCamera(distance=4.0, fov_y=60.0, projection="orthographic")
    n, f = cam.clip_planes()
    aspect = 0.5
    hh = 4.0 * math.tan(math.radians(30.0))
    hw = hh * aspect
    expected = np.array(
        [
            [1 / hw, 0, 0, 0],
            [0, 1 / hh, 0, 0],
            [0, 0, -2 / (f - n), -(f + n) / (f - n)],
            [0, 0, 0, 1],
        ]
    )
    np.testing.assert_allclose(cam.projection_matrix(aspect), expected, rtol=1e-14, atol=1e-15)
    cam.zoom(0.5)
    cam.snap()
    assert cam.projection_matrix(aspect)[1, 1] == pytest.approx(2 / hh, rel=1e-14)


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_view_projection_maps_view_edges_to_ndc_edges(projection):
    cam = OrbitCamera(target=(1, 2, 3), azimuth=20, elevation=40, distance=6, projection=projection)
    right, up, _ = cam.basis()
    half_h = 6 * math.tan(math.radians(cam.fov_y / 2))
    aspect = 1.5
    np.testing.assert_allclose(ndc(cam, cam.target, aspect)[:2], [0, 0], atol=1e-14)
    top = cam.target + half_h * up
    np.testing.assert_allclose(ndc(cam, top, aspect)[:2], [0, 1], atol=1e-13)
    side = cam.target + half_h * aspect * right
    np.testing.assert_allclose(ndc(cam, side, aspect)[:2], [1, 0], atol=1e-13)
    # Near and far planes go to NDC z = -1 and +1.
    n, f = cam.clip_planes()
    _, _, fwd = cam.basis()
    assert ndc(cam, cam.eye + n * fwd, aspect)[2] == pytest.approx(-1, abs=1e-12)
    assert ndc(cam, cam.eye + f * fwd, aspect)[2] == pytest.approx(1, abs=1e-12)


def test_gl_bytes_is_column_major_float32():
    cam = OrbitCamera(azimuth=10, elevation=20)
    m = cam.view_projection(1.3)
    data = np.frombuffer(gl_bytes(m), dtype=np.float32)
    assert data.size == 16
    np.testing.assert_allclose(data.reshape(4, 4, order="F"), m, rtol=1e-6, atol=1e-6)
    with pytest.raises(UsageError):
        gl_bytes(np.eye(3))


def test_basis_is_right_handed_orthonormal_and_top_view_reads_as_map():
    cam = OrbitCamera(azimuth=-90, elevation=90)
    r, u, f = cam.basis()
    np.testing.assert_allclose(np.stack([r, u, f]) @ np.stack([r, u, f]).T, np.eye(3), atol=1e-15)
    np.testing.assert_allclose(r, [1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(u, [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(f, [0, 0, -1], atol=1e-15)
    # +x goes right, +y goes up on screen.
    assert ndc(cam, (1, 0, 0))[0] > 0 and abs(ndc(cam, (1, 0, 0))[1]) < 1e-12
    assert ndc(cam, (0, 1, 0))[1] > 0 and abs(ndc(cam, (0, 1, 0))[0]) < 1e-12


def test_elevation_clamped_no_pole_flip():
    cam = OrbitCamera(elevation=80, smooth_time=0)
    cam.orbit(0, 500)
    cam.snap()
    assert cam.elevation == 90
    assert np.all(np.isfinite(cam.view_matrix()))
    cam.orbit(0, -1000)
    cam.snap()
    assert cam.elevation == -90
    limited = OrbitCamera(elevation=0, elevation_limits=(-89, 89))
    limited.orbit(0, 200)
    limited.snap()
    assert limited.elevation == 89
    with pytest.raises(UsageError):
        OrbitCamera(elevation_limits=(-95, 10))


def test_invalid_arguments():
    with pytest.raises(UsageError):
        OrbitCamera(projection="fisheye")
    with pytest.raises(UsageError):
        OrbitCamera(distance=0)
    with pytest.raises(UsageError):
        OrbitCamera(fov_y=180)
    with pytest.raises(UsageError):
        OrbitCamera().projection_matrix(0)
    with pytest.raises(UsageError):
        OrbitCamera().zoom(-1)
    with pytest.raises(UsageError):
        OrbitCamera().preset("bottom")
    with pytest.raises(UsageError):
        OrbitCamera().frame((0, 0, 0), (-1, 1, 1))


# ---------------------------------------------------------------- state


def test_state_round_trip_through_json():
    cam = OrbitCamera(target=(0.5, -1, 2), azimuth=33.3, elevation=-12, distance=3.25, fov_y=50)
    cam.projection = "orthographic"
    state = json.loads(json.dumps(cam.get_state()))
    other = OrbitCamera()
    other.set_state(state)
    assert other.get_state() == cam.get_state()
    np.testing.assert_array_equal(other.view_projection(1.7), cam.view_projection(1.7))
    assert all(type(v) in (float, str) for k, v in state.items() if k != "target")
    assert all(type(v) is float for v in state["target"])


def test_get_state_reports_goal_and_set_state_partial():
    cam = OrbitCamera(azimuth=0)
    cam.orbit(45, 0)
    assert cam.get_state()["azimuth"] == 45  # the goal, not the eased current state
    assert cam.azimuth == 0
    cam.set_state({"distance": 9.0})
    assert cam.distance == 9.0 and cam.azimuth == 45


@pytest.mark.parametrize(
    "bad",
    [
        {"distance": -1.0},
        {"distance": float("nan")},
        {"azimuth": "north"},
        {"azimuth": True},
        {"elevation": 91.0},
        {"fov_y": 0.0},
        {"target": [0, 0]},
        {"target": "abc"},
        {"target": [0, 0, float("inf")]},
        {"projection": "isometric"},
        {"zoom": 2.0},
    ],
)
def test_set_state_rejects_bad_values(bad):
    cam = OrbitCamera()
    before = cam.get_state()
    with pytest.raises(UsageError):
        cam.set_state(bad)
    assert cam.get_state() == before
    with pytest.raises(UsageError):
        cam.set_state([1, 2, 3])


# ---------------------------------------------------------------- damping


def run(cam: OrbitCamera, fps: int, seconds: float = 1.0) -> None:
    for _ in range(round(fps * seconds)):
        cam.update(1.0 / fps)


def moved_camera(smooth_time: float = 0.15) -> OrbitCamera:
    cam = OrbitCamera(
        target=(0, 0, 0), azimuth=0, elevation=10, distance=5, smooth_time=smooth_time
    )
    cam.orbit(170, 50)
    cam.zoom(0.3, toward=(1.0, 2.0, 0.5))
    cam.pan(0.2, -0.1)
    return cam


def test_damping_frame_rate_independent():
    slow, fast = moved_camera(), moved_camera()
    run(slow, 30)
    run(fast, 240)
    assert slow.moving and fast.moving  # still easing after 1 s with tau 0.15 s
    np.testing.assert_allclose(slow.view_matrix(), fast.view_matrix(), atol=1e-9)
    assert slow.distance == pytest.approx(fast.distance, rel=1e-10)
    # And it matches the closed form: difference times exp(-t / tau).
    goal = slow.get_state()
    start = OrbitCamera(azimuth=0, elevation=10)
    keep = math.exp(-1.0 / 0.15)
    expected_az = goal["azimuth"] + (start.azimuth - goal["azimuth"]) * keep
    assert slow.azimuth == pytest.approx(expected_az, abs=1e-9)


def test_damping_converges_and_stops():
    cam = moved_camera()
    goal = cam.get_state()
    frames = 0
    while cam.update(1 / 60):
        frames += 1
        assert frames < 600
    assert not cam.moving
    np.testing.assert_allclose(cam.target, goal["target"], atol=1e-12)
    assert cam.distance == pytest.approx(goal["distance"])
    assert cam.update(1 / 60) is False


def test_snap_and_zero_smooth_time():
    cam = moved_camera()
    cam.snap()
    assert not cam.moving
    instant = moved_camera(smooth_time=0.0)
    assert instant.update(0.016) is False
    np.testing.assert_allclose(instant.view_matrix(), cam.view_matrix(), atol=1e-14)


def test_azimuth_eases_the_short_way_and_wraps_at_rest():
    cam = OrbitCamera(azimuth=170, smooth_time=0.1)
    cam.orbit(20, 0)  # to 190 = -170: 20 degrees, not 340
    cam.update(0.05)
    assert 170 < cam.azimuth < 190
    while cam.update(0.05):
        pass
    assert cam.azimuth == pytest.approx(-170)
    cam.preset("side")  # -90: nearest turn from -170 is a +80 turn
    assert cam.get_state()["azimuth"] == pytest.approx(-90)


# ---------------------------------------------------------------- zoom and pan


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
@settings(max_examples=40, deadline=None)
@given(
    az=st.floats(-180, 180),
    el=st.floats(-80, 89),
    sx=st.floats(-0.9, 0.9),
    sy=st.floats(-0.9, 0.9),
    depth=st.floats(0.3, 3.0),
    factor=st.floats(0.2, 4.0),
)
def test_zoom_toward_keeps_point_on_screen(projection, az, el, sx, sy, depth, factor):
    cam = OrbitCamera(
        target=(0.5, -0.5, 0.2), azimuth=az, elevation=el, distance=4, projection=projection
    )
    # A world point under screen position (sx, sy) at some depth along its ray.
    aspect = 1.4
    inv = np.linalg.inv(cam.view_projection(aspect))
    with np.errstate(under="ignore"):  # hypothesis likes subnormal screen positions
        a, b = inv @ [sx, sy, -1, 1], inv @ [sx, sy, 1, 1]
    a, b = a[:3] / a[3], b[:3] / b[3]
    point = cam.eye + depth * 4 * (b - a) / np.linalg.norm(b - a)
    if projection == "orthographic":
        point = a + depth * (b - a) / 3
    before = ndc(cam, point, aspect)[:2]
    np.testing.assert_allclose(before, [sx, sy], rtol=0, atol=1e-9)
    cam.zoom(factor, toward=point)
    cam.snap()
    np.testing.assert_allclose(ndc(cam, point, aspect)[:2], before, rtol=0, atol=1e-9)
    assert cam.distance == pytest.approx(4 * factor)


def test_zoom_limits_keep_point_fixed():
    cam = OrbitCamera(azimuth=20, elevation=30, distance=2)
    cam.frame((-1, -1, -1), (1, 1, 1), snap=True)
    point = np.array([0.4, 0.3, 0.1])
    before = ndc(cam, point)[:2]
    cam.zoom(1e-9, toward=point)
    cam.snap()
    assert cam.distance == pytest.approx(cam.min_distance)
    np.testing.assert_allclose(ndc(cam, point)[:2], before, atol=1e-9)
    cam.zoom(1e9)
    cam.snap()
    assert cam.distance == pytest.approx(cam.max_distance)


def test_zoom_without_point_keeps_target():
    cam = OrbitCamera(target=(1, 2, 3), distance=5)
    cam.zoom(0.5)
    cam.snap()
    np.testing.assert_allclose(cam.target, [1, 2, 3])
    assert cam.distance == 2.5


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_pan_moves_target_depth_point_by_screen_heights(projection):
    cam = OrbitCamera(azimuth=40, elevation=25, distance=3, projection=projection)
    right, up, _ = cam.basis()
    p = cam.target + 0.3 * right - 0.2 * up  # on the target's depth plane
    before = ndc(cam, p)
    cam.pan(0.1, -0.25)
    cam.snap()
    after = ndc(cam, p)
    # NDC spans 2 per view height.
    np.testing.assert_allclose(after[:2] - before[:2], [0.2, -0.5], atol=1e-12)


# ---------------------------------------------------------------- frame, presets, near/far

BANANA = ((-2.0, -1.0, -0.5), (2.0, 3.0, 2.5))
RASTRIGIN = ((-5.12, -5.12, 0.0), (5.12, 5.12, 8.0))


@pytest.mark.parametrize("bounds", [BANANA, RASTRIGIN])
@pytest.mark.parametrize("aspect", [0.5, 1.0, 2.2])
def test_frame_fits_box(bounds, aspect):
    cam = OrbitCamera()
    cam.frame(*bounds, aspect=aspect, snap=True)
    pts = np.array([ndc(cam, c, aspect) for c in box_corners(*bounds)])
    assert np.all(np.abs(pts) <= 1.0)
    # The projected outline is centred and fills the view along one side, to the margin
    # (the bounding sphere left a flat box at a third of a wide view).
    lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
    np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-4)
    assert np.max(hi - lo) / 2 == pytest.approx(1 - OrbitCamera.FRAME_MARGIN, abs=1e-3)


@pytest.mark.parametrize("region", [(0.25, 0.05, 1.0, 1.0), (0.0, 0.0, 0.5, 1.0)])
def test_frame_fits_the_free_region(region):
    cam = OrbitCamera(projection="orthographic")  # the home view is perspective anyway
    cam.view_region = region
    cam.frame(*BANANA, aspect=16 / 9, snap=True)
    pts = np.array([ndc(cam, c, 16 / 9) for c in box_corners(*BANANA)])[:, :2]
    left, bottom, right, top = (2 * v - 1 for v in region)
    assert pts[:, 0].min() >= left - 1e-6 and pts[:, 0].max() <= right + 1e-6
    assert pts[:, 1].min() >= bottom - 1e-6 and pts[:, 1].max() <= top + 1e-6
    assert cam.at_home()
    cam.orbit(10, 0)
    assert not cam.at_home()


def test_frame_eases_unless_snapped():
    cam = OrbitCamera()
    cam.frame(*RASTRIGIN)
    assert cam.moving
    goal = cam.get_state()["target"]
    cam.snap()
    assert cam.get_state()["target"] == goal


@settings(max_examples=60, deadline=None)
@given(
    az=st.floats(-180, 180),
    el=st.floats(-90, 90),
    log_zoom=st.floats(-9, 4),
    projection=st.sampled_from(["perspective", "orthographic"]),
    toward=st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0, 8)),
)
def test_near_far_contain_scene(az, el, log_zoom, projection, toward):
    cam = OrbitCamera()
    cam.frame(*RASTRIGIN, snap=True)
    cam.set_state({"azimuth": az, "elevation": el, "projection": projection})
    cam.zoom(math.exp(log_zoom), toward=toward)
    cam.snap()
    n, f = cam.clip_planes()
    assert f > n
    for c in box_corners(*RASTRIGIN):
        with np.errstate(under="ignore"):  # hypothesis picks elevations like 1e-300
            depth = -(cam.view_matrix() @ np.append(c, 1))[2]
        if projection == "orthographic" or depth > 0:
            assert depth <= f * (1 + 1e-12)
        if projection == "orthographic" or depth > 0.01 * cam.distance:
            assert depth >= n * (1 - 1e-12)
    # The target itself is never clipped.
    assert -1 < ndc(cam, cam.target)[2] < 1


def test_presets():
    cam = OrbitCamera()
    cam.frame(*BANANA, snap=True)
    cam.preset("top", aspect=1.5, snap=True)
    assert cam.projection == "orthographic"
    assert (cam.azimuth, cam.elevation) == (-90, 90)
    corners = np.array([ndc(cam, c, 1.5) for c in box_corners(*BANANA)])
    assert np.all(np.abs(corners[:, :2]) <= 1)
    # the y extent fills the view to the framing margin, centred
    assert np.max(np.abs(corners[:, 1])) == pytest.approx(1 - OrbitCamera.FRAME_MARGIN)
    assert corners[:, 1].max() == pytest.approx(-corners[:, 1].min())
    cam.preset("side", snap=True)
    assert cam.projection == "perspective" and cam.elevation == 0
    np.testing.assert_allclose(cam.basis()[2], [0, 1, 0], atol=1e-15)
    cam.preset("three_quarter", snap=True)
    assert (cam.azimuth, cam.elevation) == PRESETS["three_quarter"][:2]


def test_reset_returns_home():
    cam = OrbitCamera()
    cam.frame(*BANANA, snap=True)
    home = cam.view_projection(1.0)
    cam.orbit(400, -20)
    cam.pan(0.3, 0.3)
    cam.zoom(0.1)
    cam.projection = "orthographic"
    cam.snap()
    cam.reset()
    while cam.update(1 / 60):
        pass
    np.testing.assert_allclose(cam.view_projection(1.0), home, atol=1e-9)
    assert cam.projection == "perspective"


def test_repr_mentions_state():
    assert "azimuth=-60" in repr(OrbitCamera())


def test_matrix_cache_returns_copies_and_follows_state():
    cam = OrbitCamera(azimuth=10, elevation=20)
    vp = cam.view_projection(1.5)
    vp[:] = 0.0  # callers may scribble on what they get
    again = cam.view_projection(1.5)
    assert np.any(again != 0.0)
    np.testing.assert_allclose(cam.inverse_view_projection(1.5) @ again, np.eye(4), atol=1e-12)
    assert not np.array_equal(cam.view_projection(2.0), again)  # aspect is part of the key
    cam.orbit(30, 0)
    cam.update(0.05)
    assert not np.array_equal(cam.view_projection(1.5), again)
    before = cam.projection_matrix(1.5)
    cam.projection = "orthographic"
    assert not np.array_equal(cam.projection_matrix(1.5), before)
    cam.frame((-10, -10, -10), (10, 10, 10), snap=True)
    np.testing.assert_allclose(
        cam.view_projection(1.5) @ np.append(cam.target, 1)[:, None][:, 0],
        cam.projection_matrix(1.5) @ cam.view_matrix() @ np.append(cam.target, 1),
    )
