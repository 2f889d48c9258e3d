"""Picking: screen <-> ray round trips, ray vs height surface and floor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradient_explorer.errors import UsageError
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.picking import (
    pick_floor,
    pick_height_surface,
    screen_to_ray,
    world_to_screen,
)

# ---------------------------------------------------------------- surfaces (displayed heights)


def saddle(xy):
    return 0.5 * (xy[:, 0] ** 2 - xy[:, 1] ** 2)


def bump(xy):
    return 2.0 * np.exp(-(xy[:, 0] ** 2 + xy[:, 1] ** 2))


def holed(xy):
    # A tilted sheet with a round hole of radius 0.6 in the middle.
    r2 = xy[:, 0] ** 2 + xy[:, 1] ** 2
    return np.where(r2 < 0.36, np.nan, 0.5 * xy[:, 0] * xy[:, 1] + 1.0)


SURFACES = {
    "saddle": (saddle, ((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0))),
    "bump": (bump, ((-3.0, 3.0), (-3.0, 3.0), (0.0, 2.0))),
    "holed": (holed, ((-2.0, 2.0), (-2.0, 2.0), (-1.0, 3.0))),
}

# (azimuth, elevation, projection)
VIEWS = [
    (-60.0, 30.0, "perspective"),
    (20.0, 55.0, "perspective"),
    (135.0, 12.0, "perspective"),
    (-30.0, 80.0, "perspective"),
    (-90.0, 90.0, "orthographic"),
    (200.0, 40.0, "orthographic"),
]

# (framebuffer size, viewport, pixel ratio): plain, letterboxed, pillarboxed on HiDPI.
SCREENS = [
    ((1200, 800), (0, 0, 1200, 800), 1.0),
    ((1600, 1000), (0, 100, 1600, 800), 2.0),
    ((2000, 1200), (300, 0, 1400, 1200), 2.0),
]


def camera_for(domain, az, el, projection, aspect) -> OrbitCamera:
    cam = OrbitCamera()
    bmin = [lo for lo, _ in domain]
    bmax = [hi for _, hi in domain]
    cam.frame(bmin, bmax, aspect=aspect, snap=True)
    cam.set_state({"azimuth": az, "elevation": el, "projection": projection})
    return cam


def reference_first_hit(origin, direction, height_fn, domain, n=20001):
    """Brute force: first sign change of ray_z - h on a very fine sampling, in t."""
    lo = np.array([a for a, _ in domain])
    hi = np.array([b for _, b in domain])
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - origin) / direction, (hi - origin) / direction
    t0 = max(0.0, np.nanmax(np.minimum(ta, tb)))
    t1 = np.nanmin(np.maximum(ta, tb))
    if t0 > t1:
        return None
    t = np.linspace(t0, t1, n)
    pts = origin + t[:, None] * direction
    with np.errstate(all="ignore"):
        g = pts[:, 2] - height_fn(pts[:, :2])
    ok = np.isfinite(g[:-1]) & np.isfinite(g[1:]) & (np.sign(g[:-1]) != np.sign(g[1:]))
    idx = np.flatnonzero(ok)
    return None if idx.size == 0 else t[idx[0]]


def normal(height_fn, p, eps=1e-6):
    xy = np.array([[p[0] + eps, p[1]], [p[0] - eps, p[1]], [p[0], p[1] + eps], [p[0], p[1] - eps]])
    h = height_fn(xy)
    n = np.array([-(h[0] - h[1]) / (2 * eps), -(h[2] - h[3]) / (2 * eps), 1.0])
    return n / np.linalg.norm(n)


# ---------------------------------------------------------------- screen <-> ray


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("view", VIEWS)
def test_ray_through_viewport_centre_is_view_axis(screen, view):
    fb, vp, ratio = screen
    cam = camera_for(SURFACES["bump"][1], *view, aspect=vp[2] / vp[3])
    centre = ((vp[0] + vp[2] / 2) / ratio, (fb[1] - vp[1] - vp[3] / 2) / ratio)
    origin, direction = screen_to_ray(cam, centre, vp, fb, pixel_ratio=ratio)
    np.testing.assert_allclose(direction, cam.basis()[2], atol=1e-12)
    # The ray passes through the target.
    to_target = cam.target - origin
    off_axis = to_target - np.dot(to_target, direction) * direction
    assert np.linalg.norm(off_axis) < 1e-10
    assert np.linalg.norm(direction) == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(world_to_screen(cam, cam.target, vp, fb, ratio), centre, atol=1e-9)


@pytest.mark.parametrize("screen", SCREENS[1:])
def test_outside_viewport_gives_none(screen):
    fb, vp, ratio = screen
    cam = OrbitCamera()
    vx, vy, vw, vh = vp
    fb_h = fb[1]
    # Points just outside each edge of the viewport (window points, top-left origin).
    outside = [
        ((vx - 1) / ratio, (fb_h - vy - vh / 2) / ratio),
        ((vx + vw + 1) / ratio, (fb_h - vy - vh / 2) / ratio),
        ((vx + vw / 2) / ratio, (fb_h - vy + 1) / ratio),
        ((vx + vw / 2) / ratio, (fb_h - vy - vh - 1) / ratio),
    ]
    assert vx > 0 or vy > 0  # letterboxed: there are bars to point at
    for mouse in outside:
        px, py = mouse[0] * ratio, fb_h - mouse[1] * ratio
        assert not (vx <= px <= vx + vw and vy <= py <= vy + vh)
        assert screen_to_ray(cam, mouse, vp, fb, pixel_ratio=ratio) is None
    # The corners themselves are inside.
    corner = (vx / ratio, (fb_h - vy) / ratio)
    assert screen_to_ray(cam, corner, vp, fb, pixel_ratio=ratio) is not None


@settings(max_examples=80, deadline=None)
@given(
    u=st.floats(0, 1),
    v=st.floats(0, 1),
    depth=st.floats(0.05, 0.95),
    az=st.floats(-180, 180),
    el=st.floats(-90, 90),
    screen=st.sampled_from(SCREENS),
    projection=st.sampled_from(["perspective", "orthographic"]),
)
def test_screen_ray_world_round_trip(u, v, depth, az, el, screen, projection):
    fb, vp, ratio = screen
    cam = camera_for(SURFACES["saddle"][1], az, el, projection, vp[2] / vp[3])
    mouse = ((vp[0] + u * vp[2]) / ratio, (fb[1] - vp[1] - v * vp[3]) / ratio)
    ray = screen_to_ray(cam, mouse, vp, fb, pixel_ratio=ratio)
    assert ray is not None
    origin, direction = ray
    n, f = cam.clip_planes()
    point = origin + depth * (f - n) * direction
    back = world_to_screen(cam, point, vp, fb, pixel_ratio=ratio)
    np.testing.assert_allclose(back, mouse, rtol=0, atol=1e-7)


def test_world_to_screen_vectorized_and_behind_eye():
    cam = OrbitCamera(azimuth=-90, elevation=0, distance=5)
    fb, vp = (800, 600), (0, 0, 800, 600)
    pts = np.array([[0.0, 0.0, 0.0], [0.0, -10.0, 0.0], [1.0, 0.0, 1.0]])
    out = world_to_screen(cam, pts, vp, fb)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[0], [400, 300], atol=1e-9)
    assert np.all(np.isnan(out[1]))  # behind the eye
    assert out[2, 0] > 400 and out[2, 1] < 300  # +x right, +z up (window y down)
    with pytest.raises(UsageError):
        world_to_screen(cam, [1.0, 2.0], vp, fb)
    with pytest.raises(UsageError):
        screen_to_ray(cam, (1, 1), (0, 0, 0, 600), fb)


# ---------------------------------------------------------------- height surface


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("name", sorted(SURFACES))
def test_pick_back_projected_surface_points(name, view, screen, rng):
    height_fn, domain = SURFACES[name]
    fb, vp, ratio = screen
    cam = camera_for(domain, *view, aspect=vp[2] / vp[3])
    size = max(hi - lo for lo, hi in domain[:2])
    tol = 1e-6 * size
    lo = np.array([domain[0][0], domain[1][0]])
    hi = np.array([domain[0][1], domain[1][1]])
    xy = lo + (hi - lo) * rng.random((80, 2))
    with np.errstate(invalid="ignore"):
        heights = height_fn(xy)
    checked_visible = 0
    for (x, y), h in zip(xy, heights, strict=True):
        if not np.isfinite(h):
            continue
        q = np.array([x, y, h])
        mouse = world_to_screen(cam, q, vp, fb, pixel_ratio=ratio)
        if np.any(np.isnan(mouse)):
            continue
        ray = screen_to_ray(cam, mouse, vp, fb, pixel_ratio=ratio)
        if ray is None:
            continue
        origin, direction = ray
        if abs(np.dot(normal(height_fn, q), direction)) < 0.15:
            continue  # grazing: the hit is ill-conditioned, skip
        t_q = np.dot(q - origin, direction)
        assert np.linalg.norm(origin + t_q * direction - q) < 1e-9 * size  # ray through q
        p = pick_height_surface(origin, direction, height_fn, domain)
        assert p is not None, (name, view, q)
        t_p = np.dot(p - origin, direction)
        assert np.linalg.norm(origin + t_p * direction - p) < 1e-9 * size
        with np.errstate(invalid="ignore"):
            assert abs(p[2] - height_fn(p[None, :2])[0]) < tol
        t_ref = reference_first_hit(origin, direction, height_fn, domain)
        diagonal = np.linalg.norm([hi - lo for lo, hi in domain])
        seg = 2.0 * diagonal / 20000  # two reference sample steps
        assert t_ref is not None
        if t_p > t_ref + seg and _next_to_hole(origin, direction, t_ref, height_fn, diagonal):
            continue  # a sliver of sheet at a hole's rim, thinner than the coarse march
            # (pick_height_surface documents it): the picker may see through it
        assert t_p <= t_ref + seg
        if abs(t_ref - t_q) <= seg:
            # q is the first thing the ray meets: we get it back.
            assert np.linalg.norm(p - q) < tol, (name, view, q, p)
            checked_visible += 1
        else:
            assert t_p < t_q  # hidden: something nearer was picked
    assert checked_visible >= 10


def _next_to_hole(origin, direction, t, height_fn, diagonal, steps=256) -> bool:
    """Whether the ray is over a hole within one coarse picking step of ``t``."""
    ts = t + np.linspace(-1.0, 1.0, 9) * diagonal / steps / np.linalg.norm(direction)
    with np.errstate(invalid="ignore"):
        h = height_fn((origin + ts[:, None] * direction)[:, :2])
    return bool(np.isnan(h).any())


def test_hidden_point_picks_nearer_hill():
    height_fn, domain = SURFACES["bump"]
    fb, vp = (1000, 800), (0, 0, 1000, 800)
    cam = OrbitCamera(target=(0, 0, 0.4), azimuth=-90, elevation=8, distance=9)
    behind = np.array([0.0, 1.6, 2.0 * math.exp(-(1.6**2))])
    mouse = world_to_screen(cam, behind, vp, fb)
    origin, direction = screen_to_ray(cam, mouse, vp, fb)
    p = pick_height_surface(origin, direction, height_fn, domain)
    assert p is not None
    assert p[1] < 0.0  # on the camera's side of the hill
    assert np.dot(p - origin, direction) < np.dot(behind - origin, direction)
    assert p[2] == pytest.approx(float(bump(p[None, :2])[0]), abs=1e-9)


def test_rays_that_miss():
    height_fn, domain = SURFACES["saddle"]
    up = pick_height_surface((0, 0, 5), (0.1, 0, 1), height_fn, domain)
    assert up is None  # toward the sky
    outside = pick_height_surface((5, 5, 5), (1, 0, -1), height_fn, domain)
    assert outside is None  # never enters the domain box
    parallel = pick_height_surface((0, 3, 0), (1, 0, 0), height_fn, domain)
    assert parallel is None  # parallel to a side, outside it
    behind = pick_height_surface((0, 0, 5), (0, 0, 1), height_fn, domain[:2])
    assert behind is None  # vertical, surface behind the origin
    fb, vp = (800, 600), (0, 0, 800, 600)
    cam = OrbitCamera(target=(0, 0, 0), azimuth=-90, elevation=5, distance=8)
    origin, direction = screen_to_ray(cam, (400, 5), vp, fb)  # near the top edge: sky
    assert pick_height_surface(origin, direction, height_fn, domain) is None


def test_hole_gives_no_hit_and_rays_through_it_do_not_hit_the_rim():
    def flat_with_hole(xy):
        r2 = xy[:, 0] ** 2 + xy[:, 1] ** 2
        return np.where(r2 < 1.0, np.nan, 1.0)

    domain2 = ((-2.0, 2.0), (-2.0, 2.0))
    domain3 = (*domain2, (0.5, 1.5))
    for domain in (domain2, domain3):
        assert pick_height_surface((0.2, 0.1, 3), (0, 0, -1), flat_with_hole, domain) is None
        # Enters above the sheet, crosses z = 1 inside the hole, leaves below the far rim.
        assert pick_height_surface((-1.5, 0, 2), (3, 0, -2), flat_with_hole, domain) is None
        # Over solid ground it hits.
        p = pick_height_surface((1.5, 0.0, 3), (0, 0, -1), flat_with_hole, domain)
        np.testing.assert_allclose(p, [1.5, 0, 1], atol=1e-12)
    # A ray through the hole that then meets the sheet beyond it hits there.
    p = pick_height_surface((-0.9, 0, 2), (1, 0, -0.5), flat_with_hole, domain2)
    np.testing.assert_allclose(p, [1.1, 0, 1], atol=1e-12)


def test_hole_from_sqrt_of_negative_needs_no_errstate():
    def dome(xy):
        return np.sqrt(1.0 - xy[:, 0] ** 2 - xy[:, 1] ** 2)  # NaN (invalid) off the disk

    domain = ((-1.5, 1.5), (-1.5, 1.5), (0.0, 1.0))
    p = pick_height_surface((0.6, 0.0, 4), (0, 0, -1), dome, domain)
    np.testing.assert_allclose(p, [0.6, 0, 0.8], atol=1e-12)
    # A ray along the x axis at height 0.5 meets the dome at x = -sqrt(0.75).
    p = pick_height_surface((-1.4, 0.0, 0.5), (1, 0, 0), dome, domain)
    np.testing.assert_allclose(p, [-math.sqrt(0.75), 0, 0.5], atol=1e-12)


def test_underside_and_origin_on_surface():
    height_fn, domain = SURFACES["saddle"]
    p = pick_height_surface((0.5, 0.5, -1.5), (0, 0, 1), height_fn, domain)
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0], atol=1e-12)
    p = pick_height_surface((1.0, 0.0, 0.5), (0.3, 0.2, -1), height_fn, domain)
    np.testing.assert_allclose(p, [1.0, 0.0, 0.5], atol=0)


@settings(max_examples=200, deadline=None)
@given(
    ox=st.floats(-1.5, 1.5),
    oy=st.floats(-1.5, 1.5),
    oz=st.floats(1.5, 4.0),
    dx=st.floats(-1, 1),
    dy=st.floats(-1, 1),
    dz=st.floats(-1, -0.05),
    with_z=st.booleans(),
)
def test_paraboloid_hit_matches_closed_form(ox, oy, oz, dx, dy, dz, with_z):
    # z = 0.3 (x^2 + y^2): the first root of a quadratic in t.
    def para(xy):
        return 0.3 * (xy[:, 0] ** 2 + xy[:, 1] ** 2)

    domain = ((-2.0, 2.0), (-2.0, 2.0), (0.0, 2.4)) if with_z else ((-2.0, 2.0), (-2.0, 2.0))
    o, d = np.array([ox, oy, oz]), np.array([dx, dy, dz])
    np.seterr(under="ignore")  # hypothesis likes subnormal directions; conftest restores
    a = 0.3 * (dx * dx + dy * dy)
    b = 0.6 * (ox * dx + oy * dy) - dz
    c = 0.3 * (ox * ox + oy * oy) - oz
    # Numerically stable roots; c < 0 < a makes exactly one of them positive.
    q = -0.5 * (b + math.copysign(math.sqrt(b * b - 4 * a * c), b))
    roots = [c / q] + ([q / a] if a > 0 else [])
    t = max(roots)
    hit = o + t * d
    inside = np.all(np.abs(hit[:2]) <= 2.0)
    assume(inside)
    p = pick_height_surface(o, d, para, domain)
    assert p is not None
    np.testing.assert_allclose(p, hit, rtol=0, atol=1e-12)


def test_extremes_on_the_z_range_boundary_are_hit():
    # The app passes the mesh's exact min/max: the bowl's bottom lies on z = zmin.
    def bowl(xy):
        return 0.3 * (xy[:, 0] ** 2 + xy[:, 1] ** 2)

    domain = ((-2.0, 2.0), (-2.0, 2.0), (0.0, 2.4))
    for oz, dz in [(2.8938182348611026, -0.5019100312879159), (5.0, -1.0), (-3.0, 0.7)]:
        p = pick_height_surface((0.0, 0.0, oz), (0.0, 0.0, dz), bowl, domain)
        np.testing.assert_allclose(p, [0, 0, 0], atol=1e-12)
    # And the rim corner at z = zmax, from above.
    p = pick_height_surface((2.0, 2.0, 9.0), (0.0, 0.0, -1.0), bowl, domain)
    np.testing.assert_allclose(p, [2, 2, 2.4], atol=1e-12)


def test_linear_surface_refines_to_machine_precision():
    def plane(xy):
        return 0.2 * xy[:, 0] - 0.7 * xy[:, 1] + 0.1

    o, d = np.array([-3.0, 2.0, 5.0]), np.array([0.7, -0.3, -1.0])
    # o_z + t d_z = 0.2 (o_x + t d_x) - 0.7 (o_y + t d_y) + 0.1
    t = (0.2 * o[0] - 0.7 * o[1] + 0.1 - o[2]) / (d[2] - 0.2 * d[0] + 0.7 * d[1])
    p = pick_height_surface(o, d, plane, ((-5, 5), (-5, 5), (-10, 10)))
    np.testing.assert_allclose(p, o + t * d, rtol=0, atol=4e-15 * 10)


def test_vertical_ray_without_z_range():
    p = pick_height_surface((0.3, -0.4, 10), (0, 0, -1), bump, ((-3, 3), (-3, 3)))
    np.testing.assert_allclose(p, [0.3, -0.4, 2 * math.exp(-0.25)], atol=1e-15)
    assert pick_height_surface((0.0, 0.0, 10), (0, 0, -1), holed, ((-2, 2), (-2, 2))) is None


def test_bad_arguments():
    with pytest.raises(UsageError):
        pick_height_surface((0, 0, 1), (0, 0, 0), bump, ((-1, 1), (-1, 1)))
    with pytest.raises(UsageError):
        pick_height_surface((0, 0, 1), (0, 0, -1), bump, ((-1, 1),))
    with pytest.raises(UsageError):
        pick_height_surface((0, 0, 1), (0, 0, -1), bump, ((1, -1), (-1, 1)))
    with pytest.raises(UsageError):
        pick_height_surface((0, 0, 1), (0, 0, -1), bump, ((-1, 1), (-1, 1)), steps=1)


# ---------------------------------------------------------------- floor


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("view", VIEWS[:2] + VIEWS[4:])
def test_pick_floor_back(view, screen, rng):
    fb, vp, ratio = screen
    domain = ((-2.0, 2.0), (-1.0, 3.0))  # banana
    z_floor = -0.8
    cam = camera_for((*domain, (z_floor, 2.0)), *view, aspect=vp[2] / vp[3])
    xy = np.array([-2.0, -1.0]) + 4.0 * rng.random((40, 2))
    for x, y in xy:
        mouse = world_to_screen(cam, (x, y, z_floor), vp, fb, pixel_ratio=ratio)
        ray = screen_to_ray(cam, mouse, vp, fb, pixel_ratio=ratio)
        if ray is None:
            continue
        got = pick_floor(*ray, z_floor, domain)
        np.testing.assert_allclose(got, [x, y], rtol=0, atol=1e-9)


def test_pick_floor_misses():
    domain = ((-1.0, 1.0), (-1.0, 1.0))
    assert pick_floor((0, 0, 1), (1, 0, 0), 0.0, domain) is None  # parallel
    assert pick_floor((0, 0, 1), (0, 0, 1), 0.0, domain) is None  # pointing away
    assert pick_floor((0, 0, 1), (2, 0, -1), 0.0, domain) is None  # lands outside
    np.testing.assert_allclose(pick_floor((0, 0, 1), (1, 0, -1), 0.0, domain), [1, 0])  # edge
