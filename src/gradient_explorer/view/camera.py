"""Orbit camera around a target point, with eased (damped) motion.

World conventions: right-handed, z up; world x, y are the domain coordinates of the surface
and world z is the displayed height. The camera sits on a sphere around ``target``:

    eye = target + distance * (cos(el) cos(az), cos(el) sin(az), sin(el))

with azimuth ``az`` measured in degrees counter-clockwise from +x around +z and elevation
``el`` in degrees above the xy plane. Azimuth -90 looks along +y with +x to the right.

Matrix convention
-----------------
Every matrix returned here is a float64 ``(4, 4)`` numpy array in the **column-vector**
convention::

    clip = P @ V @ world          # world = (x, y, z, 1)

pyrr builds its matrices for row vectors (``world @ M``), i.e. the transpose of ours; this
module transposes them on the way out. To upload one of our matrices to a GLSL ``mat4``
(column-major storage) write ``M.T`` in C order as float32, which :func:`gl_bytes` does.

Damping
-------
Every action (orbit, pan, zoom, presets, ...) changes a *goal* state. :meth:`OrbitCamera.update`
eases the *current* state toward the goal exponentially: after ``dt`` seconds the remaining
difference is multiplied by ``exp(-dt / smooth_time)``, so the motion after one second is the
same whether it was drawn at 30 or 240 frames per second. The matrices use the current state.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pyrr

from gradient_explorer.errors import UsageError, check_state_keys

__all__ = ["PRESETS", "PROJECTIONS", "OrbitCamera", "gl_bytes", "underflow_ok"]

PROJECTIONS = ("perspective", "orthographic")

# name -> (azimuth, elevation, projection). "top" looks straight down with +x right and
# +y up on screen, orthographic, so the floor map reads as a 2D contour plot.
PRESETS: dict[str, tuple[float, float, str]] = {
    "top": (-90.0, 90.0, "orthographic"),
    "side": (-90.0, 0.0, "perspective"),
    "three_quarter": (-60.0, 30.0, "perspective"),
}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def underflow_ok(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with float underflow ignored: flushing tiny terms to zero is harmless in
    this geometry, and callers (the tests) may have made underflow an error."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with np.errstate(under="ignore"):
            return fn(*args, **kwargs)

    return wrapper


_STATE_KEYS = ("target", "azimuth", "elevation", "distance", "fov_y", "projection")


def gl_bytes(matrix: np.ndarray) -> bytes:
    """Pack a column-vector-convention matrix for a GLSL ``mat4`` uniform.

    Parameters
    ----------
    matrix : ndarray, shape (4, 4)
        A matrix as returned by :class:`OrbitCamera` (``clip = M @ p``).

    Returns
    -------
    bytes
        64 bytes, float32, column-major, ready for ``program["u_mvp"].write(...)``.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise UsageError(f"expected a 4x4 matrix, got shape {m.shape}")
    # Entries past float32 (a scene whose size overflows it) are clamped to its largest
    # finite value: the cast would make them inf and warn. Column-major storage of M is
    # the C-order storage of M.T.
    big = float(np.finfo(np.float32).max)
    m = np.clip(m, -big, big)
    with np.errstate(under="ignore"):  # tiny entries flush to 0 in float32: harmless
        return np.ascontiguousarray(m.T, dtype=np.float32).tobytes()


@dataclass(frozen=True)
class _View:
    """The continuous part of the camera state (the projection kind is discrete)."""

    target: tuple[float, float, float]
    azimuth: float
    elevation: float
    distance: float
    fov_y: float


def _current_field(name: str, doc: str) -> property:
    """A read-only property: the float ``name`` of the view the camera shows now."""
    return property(lambda camera: getattr(camera._current, name), doc=doc)


def _finite_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise UsageError(f"camera {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise UsageError(f"camera {name} must be finite, got {v!r}")
    return v


def _vec3(value: Any, name: str) -> tuple[float, float, float]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise UsageError(f"camera {name} must be a list of 3 numbers, got {value!r}")
    if len(value) != 3:
        raise UsageError(f"camera {name} must have 3 components, got {len(value)}")
    x, y, z = (_finite_float(v, name) for v in value)
    return (x, y, z)


def _box_corners(bmin: np.ndarray, bmax: np.ndarray) -> np.ndarray:
    """The 8 corners of a box, (8, 3)."""
    xs, ys, zs = zip(bmin, bmax, strict=True)
    return np.array([[x, y, z] for x in xs for y in ys for z in zs], dtype=np.float64)


def _centre(p: np.ndarray, depth: np.ndarray, lo: float, hi: float, want: float) -> float:
    """The eye offset in ``[lo, hi]`` centring ``(p - offset) / depth`` on ``want``.

    The outline's middle, ``(max + min) / 2`` of the projected coordinates, falls as the
    offset grows: bisection finds where it meets ``want`` (an end if it never does).
    """
    lo, hi = min(lo, hi), max(lo, hi)

    def middle(offset: float) -> float:
        q = (p - offset) / depth
        return 0.5 * (float(q.max()) + float(q.min())) - want

    if middle(lo) <= 0.0:
        return lo
    if middle(hi) >= 0.0:
        return hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if middle(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _hull_area(xy: np.ndarray) -> float:
    """Area of the convex hull of 2D points (Andrew's monotone chain, shoelace)."""
    pts = sorted({(float(x), float(y)) for x, y in xy})
    if len(pts) < 3:
        return 0.0

    def half(seq):
        chain: list[tuple[float, float]] = []
        for p in seq:
            while len(chain) >= 2:
                (ax, ay), (bx, by) = chain[-2], chain[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                chain.pop()
            chain.append(p)
        return chain

    hull = half(pts)[:-1] + half(reversed(pts))[:-1]
    x = np.array([p[0] for p in hull])
    y = np.array([p[1] for p in hull])
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _nearest_turn(angle: float, reference: float) -> float:
    """``angle`` shifted by whole turns to lie within 180 degrees of ``reference``."""
    return angle + 360.0 * round((reference - angle) / 360.0)


class OrbitCamera:
    """A damped orbit camera looking at ``target`` from azimuth/elevation/distance.

    Parameters
    ----------
    target : sequence of 3 floats
        The point the camera looks at and orbits around (world coordinates).
    azimuth : float
        Degrees counter-clockwise from +x around +z of the eye as seen from the target.
    elevation : float
        Degrees above the xy plane; clamped to ``elevation_limits``.
    distance : float
        Eye-to-target distance (> 0). In orthographic mode it sets the zoom: the visible
        height is ``2 * distance * tan(fov_y / 2)``, the same as the perspective view's
        height at the target, so switching projection keeps the target plane's scale.
    fov_y : float
        Vertical field of view in degrees, in (0, 180).
    projection : {"perspective", "orthographic"}
    smooth_time : float
        Time constant of the easing in seconds; 0 makes every action immediate.
    elevation_limits : (float, float)
        Within [-90, 90]. The up vector follows the azimuth, so even +-90 (straight down/up)
        is well defined; the clamp only stops the camera from rolling over the pole.

    Notes
    -----
    The state is a goal (where actions send the camera) and a current state (what is drawn).
    Call :meth:`update` once per frame; :meth:`snap` jumps to the goal.
    """

    def __init__(
        self,
        target: Sequence[float] = (0.0, 0.0, 0.0),
        azimuth: float = -60.0,
        elevation: float = 30.0,
        distance: float = 5.0,
        fov_y: float = 45.0,
        projection: str = "perspective",
        *,
        smooth_time: float = 0.1,
        elevation_limits: tuple[float, float] = (-90.0, 90.0),
    ) -> None:
        lo, hi = (_finite_float(v, "elevation limit") for v in elevation_limits)
        if not -90.0 <= lo <= hi <= 90.0:
            raise UsageError(f"elevation limits must satisfy -90 <= lo <= hi <= 90, got {lo}, {hi}")
        self.elevation_limits = (lo, hi)
        self.smooth_time = _finite_float(smooth_time, "smooth_time")
        if self.smooth_time < 0:
            raise UsageError(f"smooth_time must be >= 0, got {self.smooth_time}")
        # Zoom limits; frame() sets them from the scene size.
        self.min_distance = 1e-6
        self.max_distance = 1e6
        # Scene bounding sphere (centre, radius) for near/far planes; set by frame().
        self._scene: tuple[np.ndarray, float] | None = None
        self._scene_version = 0  # bumped by frame(): part of the matrix cache key
        # name -> (key, matrix): the last matrix of each kind, reused while the state and
        # aspect are unchanged (a frame draws and picks with the same matrices).
        self._cache: dict[str, tuple[tuple, np.ndarray]] = {}
        self._scene_box: tuple[np.ndarray, np.ndarray] | None = None
        self._fit_points: np.ndarray | None = None  # what frame() fitted the home view to
        # The part of the viewport the picture may use (left, bottom, right, top as
        # fractions); the app narrows it to what its panels leave free.
        self.view_region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
        # Whether the user zoomed, panned or set the view since it was last fitted: a
        # change of the free region then slides the picture instead of fitting it again.
        self._user_framed = False
        self._projection = "perspective"
        view = self._validated_view(
            {
                "target": target,
                "azimuth": azimuth,
                "elevation": elevation,
                "distance": distance,
                "fov_y": fov_y,
            },
            base=None,
        )
        self.projection = projection
        self._goal = view
        self._current = view
        self._home = (view, self._projection)

    # ------------------------------------------------------------------ state access
    @property
    def projection(self) -> str:
        """``"perspective"`` or ``"orthographic"``; switching is immediate (not eased)."""
        return self._projection

    @projection.setter
    def projection(self, value: str) -> None:
        if value not in PROJECTIONS:
            raise UsageError(f"camera projection must be one of {PROJECTIONS}, got {value!r}")
        self._projection = value

    @property
    def target(self) -> np.ndarray:
        """Current target point, shape (3,)."""
        return np.array(self._current.target, dtype=np.float64)

    # The current (eased) view's numbers, read-only: set them with set_state or the gestures.
    azimuth = _current_field("azimuth", "Current azimuth in degrees (not wrapped while moving).")
    elevation = _current_field("elevation", "Current elevation in degrees.")
    distance = _current_field("distance", "Current eye-to-target distance.")
    fov_y = _current_field("fov_y", "Current vertical field of view in degrees.")

    @property
    @underflow_ok
    def eye(self) -> np.ndarray:
        """Current eye position, shape (3,)."""
        return self._eye_of(self._current)

    @property
    def scene_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The box last given to :meth:`frame` as ``(bmin, bmax)``, or None."""
        if self._scene_box is None:
            return None
        return (self._scene_box[0].copy(), self._scene_box[1].copy())

    @staticmethod
    def _offset_dir(view: _View) -> np.ndarray:
        az, el = math.radians(view.azimuth), math.radians(view.elevation)
        return np.array(
            [math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)],
            dtype=np.float64,
        )

    @staticmethod
    def _up_of(view: _View) -> np.ndarray:
        # d(offset_dir)/d(el): orthogonal to the view direction and defined at the poles,
        # which is why the elevation may reach +-90 without the look-at degenerating.
        az, el = math.radians(view.azimuth), math.radians(view.elevation)
        return np.array(
            [-math.sin(el) * math.cos(az), -math.sin(el) * math.sin(az), math.cos(el)],
            dtype=np.float64,
        )

    def _eye_of(self, view: _View) -> np.ndarray:
        return np.array(view.target, dtype=np.float64) + view.distance * self._offset_dir(view)

    def _basis_of(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        forward = -self._offset_dir(view)
        up = self._up_of(view)
        # By hand: np.cross costs ~20 us per call, and this runs several times per frame.
        right = np.array(
            [
                forward[1] * up[2] - forward[2] * up[1],
                forward[2] * up[0] - forward[0] * up[2],
                forward[0] * up[1] - forward[1] * up[0],
            ]
        )
        return right, up, forward

    @underflow_ok
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current camera axes in world coordinates.

        Returns
        -------
        right, up, forward : ndarray, shape (3,)
            Orthonormal, right-handed (``right = forward x up``); screen x follows ``right``
            and screen y follows ``up``.
        """
        return self._basis_of(self._current)

    # ------------------------------------------------------------------ matrices
    @underflow_ok
    def _cached(self, name: str, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            hit = (key, compute())
            self._cache[name] = hit
        return hit[1].copy()  # callers may modify what they get

    def _key(self, aspect: float | None = None) -> tuple:
        return (self._current, self._projection, self._scene_version, aspect)

    def view_matrix(self) -> np.ndarray:
        """World-to-eye matrix ``V`` (column-vector convention, float64, shape (4, 4))."""
        return self._cached("view", (self._current,), self._compute_view)

    @underflow_ok
    def _compute_view(self) -> np.ndarray:
        view = self._current
        m = pyrr.matrix44.create_look_at(
            self._eye_of(view),
            np.array(view.target, dtype=np.float64),
            self._up_of(view),
            dtype=np.float64,
        )
        return np.ascontiguousarray(m.T)  # pyrr is row-vector: transpose to column-vector

    @underflow_ok
    def clip_planes(self) -> tuple[float, float]:
        """Near and far plane distances for the current state.

        Chosen from the distance and, once :meth:`frame` has been called, from the scene's
        bounding sphere so that the whole scene stays between them while zoomed in close.
        In orthographic mode the near plane may be negative (behind the eye): an
        orthographic view shows the whole column of the scene whatever the distance.
        """
        d = self._current.distance
        if self._scene is None:
            near, far = 0.01 * d, 100.0 * d
            return (near, far)
        centre, radius = self._scene
        # The scene sphere spans depths [dc - R, dc + R] along the view axis.
        dc = float(np.dot(centre - self.eye, self._basis_of(self._current)[2]))
        far = 1.01 * max(dc + radius, 2.0 * d)
        if self._projection == "orthographic":
            near = min(dc - radius, 0.5 * d) - 0.01 * radius
        else:
            # Push the near plane out as far as the scene allows (depth precision), but never
            # past half the distance, so the target region is never clipped.
            near = max(min(dc - radius, 0.5 * d), 0.01 * d, 1e-6 * far)
        return (near, far)

    def projection_matrix(self, aspect: float) -> np.ndarray:
        """Eye-to-clip matrix ``P`` (column-vector convention, float64, shape (4, 4)).

        Parameters
        ----------
        aspect : float
            Viewport width / height (> 0).
        """
        aspect = self._check_aspect(aspect)
        return self._cached("proj", self._key(aspect), lambda: self._compute_projection(aspect))

    @underflow_ok
    def _compute_projection(self, aspect: float) -> np.ndarray:
        near, far = self.clip_planes()
        if self._projection == "perspective":
            m = pyrr.matrix44.create_perspective_projection(
                self._current.fov_y, aspect, near, far, dtype=np.float64
            )
        else:
            half_h = self._current.distance * math.tan(math.radians(self._current.fov_y) / 2.0)
            half_w = half_h * aspect
            m = pyrr.matrix44.create_orthogonal_projection(
                -half_w, half_w, -half_h, half_h, near, far, dtype=np.float64
            )
        return np.ascontiguousarray(m.T)

    @staticmethod
    def _check_aspect(aspect: float) -> float:
        aspect = _finite_float(aspect, "aspect")
        if aspect <= 0:
            raise UsageError(f"aspect must be > 0, got {aspect}")
        return aspect

    def view_projection(self, aspect: float) -> np.ndarray:
        """``P @ V``: world to clip coordinates (column-vector convention)."""
        aspect = self._check_aspect(aspect)
        return self._cached(
            "vp", self._key(aspect), lambda: self.projection_matrix(aspect) @ self.view_matrix()
        )

    def inverse_view_projection(self, aspect: float) -> np.ndarray:
        """``inv(P @ V)``: clip (or NDC with w = 1) back to world, for picking."""
        aspect = self._check_aspect(aspect)
        return self._cached(
            "inv_vp", self._key(aspect), lambda: np.linalg.inv(self.view_projection(aspect))
        )

    def visible_height(self) -> float:
        """World height of the view at the target's depth (goal state)."""
        return 2.0 * self._goal.distance * math.tan(math.radians(self._goal.fov_y) / 2.0)

    # ------------------------------------------------------------------ actions (on the goal)
    def _clamp_el(self, el: float) -> float:
        lo, hi = self.elevation_limits
        return min(max(el, lo), hi)

    def _clamp_distance(self, d: float) -> float:
        return min(max(d, self.min_distance), self.max_distance)

    def orbit(self, d_azimuth: float, d_elevation: float) -> None:
        """Turn the goal around the target by the given angles in degrees.

        Elevation is clamped to ``elevation_limits``; azimuth is not wrapped, so easing
        never takes the long way round.
        """
        g = self._goal
        self._goal = replace(
            g,
            azimuth=g.azimuth + _finite_float(d_azimuth, "d_azimuth"),
            elevation=self._clamp_el(g.elevation + _finite_float(d_elevation, "d_elevation")),
        )

    @underflow_ok
    def zoom(self, factor: float, toward: Sequence[float] | np.ndarray | None = None) -> None:
        """Scale the goal distance by ``factor`` (< 1 zooms in), optionally toward a point.

        Parameters
        ----------
        factor : float
            Distance multiplier (> 0), limited so the distance stays within
            ``[min_distance, max_distance]``.
        toward : sequence of 3 floats, optional
            World point to zoom toward. The camera is scaled about this point (target and
            eye both move toward it by the same ratio, orientation unchanged), so the point
            keeps its place on screen exactly, in both projections. None zooms toward the
            target.
        """
        factor = _finite_float(factor, "zoom factor")
        if factor <= 0:
            raise UsageError(f"zoom factor must be > 0, got {factor}")
        g = self._goal
        new_d = self._clamp_distance(g.distance * factor)
        ratio = new_d / g.distance  # the factor actually applied after the limits
        target = np.array(g.target, dtype=np.float64)
        if toward is not None:
            p = np.array(_vec3(toward, "zoom point"), dtype=np.float64)
            target = p + ratio * (target - p)
        self._goal = replace(g, distance=new_d, target=tuple(float(v) for v in target))
        self._user_framed = True

    @underflow_ok
    def pan(self, dx: float, dy: float) -> None:
        """Slide the scene on screen by ``(dx, dy)`` view heights (+x right, +y up).

        A point at the target's depth moves by exactly that much on screen, so passing the
        mouse delta divided by the viewport height makes it follow the cursor.
        """
        self._slide(_finite_float(dx, "pan dx"), _finite_float(dy, "pan dy"))
        self._user_framed = True

    def _slide(self, dx: float, dy: float) -> None:
        """Move the goal's target so the scene slides ``(dx, dy)`` view heights on screen."""
        right, up, _ = self._basis_of(self._goal)
        h = self.visible_height()
        target = np.array(self._goal.target) - h * (dx * right + dy * up)
        self._goal = replace(self._goal, target=tuple(float(v) for v in target))

    @underflow_ok
    def frame(
        self,
        bounds_min: Sequence[float],
        bounds_max: Sequence[float],
        aspect: float = 1.0,
        *,
        snap: bool = False,
        points: np.ndarray | None = None,
        go: bool = True,
    ) -> None:
        """Aim at a box: it becomes the scene (near/far, zoom limits) and the home view.

        The home view looks from the three-quarter preset's direction (whatever the
        region's shape: opening a panel never turns it), moved and zoomed so the
        projected outline of ``points`` fills :attr:`view_region` less a small margin;
        the goal goes there.

        Parameters
        ----------
        bounds_min, bounds_max : sequence of 3 floats
            Opposite corners, ``bounds_min <= bounds_max`` componentwise.
        aspect : float
            Viewport width / height, so a tall narrow view also fits the box.
        snap : bool
            Jump there instead of easing.
        points : ndarray (n, 3), optional
            What the home view must show, inside the box (the surface as drawn); the
            box's corners if None. Their projected outline fills ``view_region``.
        go : bool
            Send the goal to the new home view; False keeps the view the user chose and
            only updates home (where Reset goes) and the scene.
        """
        bmin = np.array(_vec3(bounds_min, "bounds_min"))
        bmax = np.array(_vec3(bounds_max, "bounds_max"))
        if np.any(bmax < bmin):
            raise UsageError(f"frame bounds are inverted: {bmin.tolist()} > {bmax.tolist()}")
        aspect = self._check_aspect(aspect)
        centre = 0.5 * (bmin + bmax)
        radius = 0.5 * float(np.linalg.norm(bmax - bmin))
        if radius == 0.0:
            radius = 1.0
        self._scene = (centre, radius)
        self._scene_version += 1
        self._scene_box = (bmin, bmax)
        self.min_distance = 1e-4 * radius
        self.max_distance = 100.0 * radius
        az, el, proj = PRESETS["three_quarter"]
        view = _View(
            target=tuple(float(v) for v in centre),
            azimuth=az,
            elevation=self._clamp_el(el),
            distance=self._fit_distance(radius, aspect, self._goal.fov_y),
            fov_y=self._goal.fov_y,
        )
        corners = _box_corners(bmin, bmax)
        if points is not None:
            fit = np.asarray(points, dtype=np.float64).reshape(-1, 3)
            fit = fit[np.all(np.isfinite(fit), axis=1)]
            corners = fit if len(fit) >= 2 else corners
        self._fit_points = corners
        # The home direction depends on the whole picture's shape, never on the free
        # region's: a panel opening changes the framing (zoom, centre), not the angle.
        view = self._fit_box(
            self._home_direction(view, corners, aspect, proj), corners, aspect, proj
        )
        self._home = (view, proj)
        if go:
            self.reset(snap=snap)

    #: Room left around the fitted outline, as a fraction of the region's half-size:
    #: the labels stand centred on their points, half outside the outline.
    FRAME_MARGIN = 0.08

    #: Directions a portrait picture's home view may take instead of the three-quarter
    #: one, when one fills it clearly better (a tall picture shows a flat surface best
    #: from higher up, its edges square to the screen). A landscape picture keeps the
    #: three-quarter angle.
    HOME_AZIMUTHS = (-60.0, -75.0, -90.0)
    HOME_ELEVATIONS = (30.0, 40.0, 50.0, 60.0, 70.0)

    def _home_direction(
        self, view: _View, points: np.ndarray, aspect: float, projection: str
    ) -> _View:
        """``view`` turned to the home direction: the three-quarter preset's, or in a
        portrait picture (``aspect < 1``) the one among ``HOME_AZIMUTHS`` x
        ``HOME_ELEVATIONS`` whose fitted outline covers over 10% more of the whole
        picture. The whole picture, not the free region: the panels never turn it."""
        if aspect >= 1.0:
            return view
        region, self.view_region = self.view_region, (0.0, 0.0, 1.0, 1.0)
        try:
            best = self._fit_box(view, points, aspect, projection, centre=False)
            best_fill = self._fill(best, points, aspect)
            choice, choice_fill = view, best_fill
            for azimuth in self.HOME_AZIMUTHS:
                for elevation in self.HOME_ELEVATIONS:
                    turned = replace(view, azimuth=azimuth, elevation=self._clamp_el(elevation))
                    candidate = self._fit_box(turned, points, aspect, projection, centre=False)
                    fill = self._fill(candidate, points, aspect)
                    if fill > choice_fill:
                        choice, choice_fill = turned, fill
        finally:
            self.view_region = region
        return choice if choice_fill > 1.1 * best_fill else view

    def _fill(self, view: _View, points: np.ndarray, aspect: float) -> float:
        """Area of the points' projected convex hull over the free region's, in NDC."""
        right, up, forward = self._basis_of(view)
        rel = points - self._eye_of(view)
        depth = rel @ forward
        if not np.all(depth > 0):
            return 0.0
        ty = math.tan(math.radians(view.fov_y) / 2.0)
        xy = np.column_stack([(rel @ right) / (depth * aspect * ty), (rel @ up) / (depth * ty)])
        left, bottom, right_, top = self.view_region
        region = 4.0 * (right_ - left) * (top - bottom)
        return _hull_area(xy) / region if region > 0 else 0.0

    def _fit_box(
        self,
        view: _View,
        corners: np.ndarray,
        aspect: float,
        projection: str,
        centre: bool = True,
    ) -> _View:
        """``view`` moved and zoomed so the points' projected outline fills ``view_region``.

        The bounding sphere fit leaves a flat box small on screen (a third of a wide
        picture); this fits the outline of the projected points instead, centred in the
        free region (the window less its panels), with a small margin.

        For a perspective view of fixed direction it is exact, in closed form: each side
        of the region is a plane through the eye, ``n . (p - eye) >= 0`` for every point
        ``p``. In camera coordinates (eye = a right + b up + c forward), the left and right
        planes bound ``c`` by ``(k_left + k_right) / (width * tan_x)`` (``k`` the smallest
        ``n . p``), top and bottom likewise; the eye goes as far forward as both allow,
        then sideways where the outline is centred. An orthographic view is left as is.
        """
        left, bottom, right, top = self.view_region
        margin = self.FRAME_MARGIN
        # The region in NDC, shrunk about its centre by the margin.
        cx, cy = left + right - 1.0, bottom + top - 1.0
        hx, hy = (1.0 - margin) * (right - left), (1.0 - margin) * (top - bottom)
        if not (hx > 0 and hy > 0) or len(corners) < 2:
            return view
        if projection != "perspective":
            return self._fit_orthographic(view, corners, aspect, (cx, cy, hx, hy))
        ty = math.tan(math.radians(view.fov_y) / 2.0)
        tx = aspect * ty
        r_vec, u_vec, f_vec = self._basis_of(view)
        # Points in camera axes (right, up, forward), relative to the world origin.
        pr, pu, pf = corners @ r_vec, corners @ u_vec, corners @ f_vec
        x0, x1 = (cx - hx) * tx, (cx + hx) * tx  # ndc_x * tan_x at the region's sides
        y0, y1 = (cy - hy) * ty, (cy + hy) * ty
        k_left, k_right = np.min(pr - x0 * pf), np.min(x1 * pf - pr)
        k_bottom, k_top = np.min(pu - y0 * pf), np.min(y1 * pf - pu)
        c = min((k_left + k_right) / (x1 - x0), (k_bottom + k_top) / (y1 - y0))
        depth_of = pf - c
        if not np.all(depth_of > 0):
            return view
        # Sideways, anywhere in [lo, hi] fits; centre the outline on the region there.
        if centre:
            a = _centre(pr, depth_of, x1 * c - k_right, k_left + x0 * c, cx * tx)
            b = _centre(pu, depth_of, y1 * c - k_top, k_bottom + y0 * c, cy * ty)
        else:  # the middle of what fits: nearly centred, a cheap first look
            a = 0.5 * ((k_left + x0 * c) + (x1 * c - k_right))
            b = 0.5 * ((k_bottom + y0 * c) + (y1 * c - k_top))
        eye = a * r_vec + b * u_vec + c * f_vec
        # The target: on the view axis at the depth of the points' middle.
        depth = 0.5 * (float(np.max(pf)) + float(np.min(pf))) - c
        if not (depth > 0 and np.all(np.isfinite(eye))):
            return view
        target = eye + depth * f_vec
        return replace(view, target=tuple(float(v) for v in target), distance=float(depth))

    def _fit_orthographic(
        self,
        view: _View,
        points: np.ndarray,
        aspect: float,
        region: tuple[float, float, float, float],
    ) -> _View:
        """``view`` (orthographic) moved and zoomed so the points' outline fills the region
        ``(cx, cy, hx, hy)`` (centre and half-size in NDC, the margin taken off).

        On screen a point lands at ``(p . right - a) / (half_h * aspect)``,
        ``(p . up - b) / half_h``: the visible half-height ``half_h`` is the larger of
        what the outline's width and height need, and ``a``, ``b`` centre it.
        """
        cx, cy, hx, hy = region
        r_vec, u_vec, f_vec = self._basis_of(view)
        pr, pu, pf = points @ r_vec, points @ u_vec, points @ f_vec
        span_x, span_y = float(np.ptp(pr)), float(np.ptp(pu))
        half_h = max(span_x / (2.0 * hx * aspect), span_y / (2.0 * hy))
        if not (half_h > 0 and math.isfinite(half_h)):
            return view
        a = 0.5 * (float(pr.max()) + float(pr.min())) - cx * half_h * aspect
        b = 0.5 * (float(pu.max()) + float(pu.min())) - cy * half_h
        c = 0.5 * (float(pf.max()) + float(pf.min()))
        target = a * r_vec + b * u_vec + c * f_vec
        distance = half_h / math.tan(math.radians(view.fov_y) / 2.0)
        return replace(view, target=tuple(float(v) for v in target), distance=float(distance))

    @staticmethod
    def _fit_distance(radius: float, aspect: float, fov_y: float) -> float:
        half_y = math.radians(fov_y) / 2.0
        half_x = math.atan(aspect * math.tan(half_y))
        # A sphere of radius R fits a cone of half-angle a at distance R / sin(a).
        return 1.05 * radius / math.sin(min(half_x, half_y))

    def at_home(self) -> bool:
        """Whether the goal is the home view (nothing orbited, zoomed or panned since)."""
        view, proj = self._home
        g = self._goal
        return (
            proj == self._projection
            and replace(g, azimuth=_nearest_turn(g.azimuth, view.azimuth)) == view
        )

    @underflow_ok
    def reset(self, *, snap: bool = False) -> None:
        """Send the goal back to the home view (the last :meth:`frame`, else construction)."""
        view, proj = self._home
        self._goal = replace(view, azimuth=_nearest_turn(view.azimuth, self._goal.azimuth))
        self._projection = proj
        self._user_framed = False
        if snap:
            self.snap()

    @underflow_ok
    def preset(self, name: str, aspect: float = 1.0, *, snap: bool = False) -> None:
        """Go to a standard view of the scene.

        Parameters
        ----------
        name : {"top", "side", "three_quarter"}
            ``"top"``: straight down, +x right, +y up, orthographic, zoomed so the domain
            and its axes fill the free region, so the floor map reads as a 2D contour
            plot. ``"side"``: level view along +y. ``"three_quarter"``: azimuth -60,
            elevation 30 (the home view's direction). Each is fitted to the scene.
        aspect : float
            Viewport width / height, used to fit the top view.
        snap : bool
            Jump there instead of easing.
        """
        if name not in PRESETS:
            raise UsageError(f"unknown camera preset {name!r}; choose from {tuple(PRESETS)}")
        aspect = self._check_aspect(aspect)
        az, el, proj = PRESETS[name]
        home, _ = self._home
        box = self.scene_bounds
        goal = _View(
            target=home.target,
            azimuth=_nearest_turn(az, self._goal.azimuth),
            elevation=self._clamp_el(el),
            distance=home.distance,
            fov_y=home.fov_y,
        )
        if box is not None:
            # Each preset fits the scene afresh from its own direction, into the free
            # region (the top view's orthographic zoom too).
            goal = replace(goal, target=tuple(float(v) for v in 0.5 * (box[0] + box[1])))
            points = self._fit_points if self._fit_points is not None else _box_corners(*box)
            if name == "top":  # a map of the whole domain, whatever part of it is drawn
                points = np.vstack([points, _box_corners(*box)])
            goal = self._fit_box(goal, points, aspect, proj)
        goal = replace(goal, distance=self._clamp_distance(goal.distance))
        self._user_framed = False
        self._goal = goal
        self._projection = proj
        if snap:
            self.snap()

    @underflow_ok
    def follow_region(
        self, old_region: tuple[float, float, float, float], aspect: float, *, snap: bool = False
    ) -> None:
        """Follow a change of :attr:`view_region` (a panel opened or closed) from a view
        that is not the home view; ``old_region`` is the region it was framed for.

        The angle and the projection always stay. If the user has not zoomed or panned
        since the view was last fitted (only turned it), the scene is fitted again from
        that angle into the new region, as the home view is. Otherwise the zoom they chose
        stays and the picture slides with the region's centre, so what they were looking
        at stays beside the panels rather than under one.
        """
        aspect = self._check_aspect(aspect)
        points = self._fit_points
        if points is not None and self._projection == "orthographic" and self._scene_box:
            points = np.vstack([points, _box_corners(*self._scene_box)])  # as preset("top")
        if not self._user_framed and points is not None:
            goal = self._fit_box(self._goal, points, aspect, self._projection)
            self._goal = replace(goal, distance=self._clamp_distance(goal.distance))
        else:
            (l0, b0, r0, t0), (l1, b1, r1, t1) = old_region, self.view_region
            # NDC moves 2 per view height vertically, 2 / aspect per view height across
            dx = 0.5 * aspect * ((l1 + r1) - (l0 + r0))
            dy = 0.5 * ((b1 + t1) - (b0 + t0))
            self._slide(dx, dy)
        if snap:
            self.snap()

    # ------------------------------------------------------------------ damping
    @underflow_ok
    def update(self, dt: float) -> bool:
        """Ease the current state toward the goal over ``dt`` seconds.

        The remaining difference shrinks by ``exp(-dt / smooth_time)``, which composes
        exactly over frames, so the result does not depend on the frame rate.

        Returns
        -------
        bool
            True while the camera is still moving (redraw again next frame).
        """
        dt = _finite_float(dt, "dt")
        if dt < 0:
            raise UsageError(f"dt must be >= 0, got {dt}")
        if self.smooth_time == 0.0:
            self.snap()
            return False
        keep = math.exp(-dt / self.smooth_time)
        c, g = self._current, self._goal
        ct, gt = np.array(c.target), np.array(g.target)

        def ease(a: float, b: float) -> float:
            return b + (a - b) * keep

        self._current = _View(
            target=tuple(float(v) for v in gt + (ct - gt) * keep),
            azimuth=ease(c.azimuth, g.azimuth),
            elevation=ease(c.elevation, g.elevation),
            distance=ease(c.distance, g.distance),
            fov_y=ease(c.fov_y, g.fov_y),
        )
        if self._settled():
            self.snap()
            return False
        return True

    def _settled(self) -> bool:
        c, g = self._current, self._goal
        # Well below a pixel: 1e-6 of the view size, 1e-5 degrees.
        scale = 1e-6 * g.distance
        return bool(
            np.max(np.abs(np.subtract(c.target, g.target))) <= scale
            and abs(c.distance - g.distance) <= scale
            and abs(c.azimuth - g.azimuth) <= 1e-5
            and abs(c.elevation - g.elevation) <= 1e-5
            and abs(c.fov_y - g.fov_y) <= 1e-5
        )

    @property
    def moving(self) -> bool:
        """Whether the current state still differs from the goal."""
        return self._current != self._goal

    def snap(self) -> None:
        """Jump the current state to the goal (no easing)."""
        g = self._goal
        # At rest, wrap the azimuth into (-180, 180] so it does not grow without bound.
        az = g.azimuth - 360.0 * math.floor((g.azimuth + 180.0) / 360.0)
        if az == -180.0:
            az = 180.0
        self._goal = replace(g, azimuth=az)
        self._current = self._goal

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        """The goal state as plain JSON-friendly values.

        Returns
        -------
        dict
            ``{"target": [x, y, z], "azimuth": deg, "elevation": deg, "distance": d,
            "fov_y": deg, "projection": "perspective" | "orthographic"}``.
        """
        g = self._goal
        return {
            "target": [float(v) for v in g.target],
            "azimuth": float(g.azimuth),
            "elevation": float(g.elevation),
            "distance": float(g.distance),
            "fov_y": float(g.fov_y),
            "projection": self._projection,
        }

    def set_state(self, state: Mapping[str, Any], *, snap: bool = True) -> None:
        """Restore a state from :meth:`get_state` (keys may be omitted to keep them).

        Raises
        ------
        UsageError
            Unknown keys, non-numbers, non-finite values, distance <= 0, fov_y outside
            (0, 180), elevation outside ``elevation_limits``, unknown projection.
        """
        if not isinstance(state, Mapping):
            raise UsageError(f"camera state must be a mapping, got {type(state).__name__}")
        unknown = set(state) - set(_STATE_KEYS)
        if unknown:
            raise UsageError(f"unknown camera state keys: {sorted(map(str, unknown))}")
        view = self._validated_view(state, base=self._goal)
        if "projection" in state:
            self.projection = state["projection"]
        self._goal = view
        # a view given in full (a session, --camera) is the user's framing; the angles
        # alone (recording's orbit) are not
        if {"target", "distance", "fov_y"} & set(state):
            self._user_framed = True
        if snap:
            self.snap()

    def state_dict(self) -> dict[str, Any]:
        """:meth:`get_state` plus ``scene``: the box last framed (``[bmin, bmax]`` or
        None), which sets the near/far planes and zoom limits (torch's naming, so every
        stateful part of a session saves itself the same way)."""
        out = self.get_state()
        bounds = self.scene_bounds
        out["scene"] = None if bounds is None else [bounds[0].tolist(), bounds[1].tolist()]
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], aspect: float = 1.0) -> None:
        """Restore :meth:`state_dict`'s output (keys may be left out to keep them; a
        ``scene`` box is framed for ``aspect`` first, then the view is set, snapped).
        Everything is checked before anything changes: a bad dict raises
        :class:`~gradient_explorer.errors.UsageError` naming the key."""
        check_state_keys("camera state", state_dict, (), (*_STATE_KEYS, "scene"))
        view = {k: v for k, v in state_dict.items() if k != "scene"}
        self._validated_view(view, base=self._goal)  # raises before anything changes
        if "projection" in view and view["projection"] not in PROJECTIONS:
            raise UsageError(f"camera projection must be one of {PROJECTIONS}")
        scene = state_dict.get("scene")
        if scene is not None:
            try:
                bmin, bmax = scene
            except (TypeError, ValueError):
                raise UsageError("camera state: 'scene' must be [bmin, bmax]") from None
            bmin, bmax = _vec3(bmin, "scene[0]"), _vec3(bmax, "scene[1]")
            if any(hi < lo for lo, hi in zip(bmin, bmax, strict=True)):
                raise UsageError("camera state: 'scene' is inverted (bmin > bmax)")
            self._check_aspect(aspect)
            self.frame(bmin, bmax, aspect, snap=True)
        self.set_state(view, snap=True)

    def _validated_view(self, state: Mapping[str, Any], base: _View | None) -> _View:
        def get(key: str) -> Any:
            return state[key] if key in state else getattr(base, key)

        target = _vec3(get("target"), "target")
        azimuth = _finite_float(get("azimuth"), "azimuth")
        elevation = _finite_float(get("elevation"), "elevation")
        lo, hi = self.elevation_limits
        if not lo <= elevation <= hi:
            raise UsageError(f"camera elevation must be within [{lo}, {hi}], got {elevation}")
        distance = _finite_float(get("distance"), "distance")
        if distance <= 0:
            raise UsageError(f"camera distance must be > 0, got {distance}")
        fov_y = _finite_float(get("fov_y"), "fov_y")
        if not 0 < fov_y < 180:
            raise UsageError(f"camera fov_y must be within (0, 180) degrees, got {fov_y}")
        return _View(target, azimuth, elevation, distance, fov_y)

    def __repr__(self) -> str:
        s = self.get_state()
        return (
            f"OrbitCamera(target={s['target']}, azimuth={s['azimuth']:.6g}, "
            f"elevation={s['elevation']:.6g}, distance={s['distance']:.6g}, "
            f"fov_y={s['fov_y']:.6g}, projection={s['projection']!r})"
        )
