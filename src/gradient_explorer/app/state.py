"""Everything the user sets, in one place, without GPU handles.

The UI edits an :class:`AppState`; the renderer and the numerics read it. Data flows one
way: state -> numerics -> GPU -> pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradient_explorer.app.curve_mode import CurveState
from gradient_explorer.app.descent_mode import DescentState
from gradient_explorer.errors import UsageError
from gradient_explorer.render.geometry import AXIS_NAME_OUT, AXIS_TICK, TICK_LABEL_OUT
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.camera import OrbitCamera

LIGHTING_MODES = ("lit", "unlit", "normals")


@dataclass
class ViewOptions:
    """What the picture shows."""

    lighting: str = "lit"
    contours: int = 12
    floor: bool = True
    field: bool = False
    normal_arrows: bool = False
    axes: bool = True
    tangent_plane: bool = True
    slice: bool = False  # the curve cut along the point's direction dial
    light_direction: tuple[float, float, float] = (0.45, -0.55, 0.75)
    line_width: float = 1.6
    grid: int = 256
    field_grid: int = 18
    background: tuple[float, float, float] = (0.075, 0.08, 0.1)
    # Framebuffer pixels covered by side panels (left, right): 2D plots keep clear of them.
    insets: tuple[float, float] = (0.0, 0.0)
    bottom_inset: float = 0.0  # pixels the bottom panels (Backprop) take, over the status line
    top_inset: float = 0.0  # pixels of short panels above the free band under them

    def override(
        self,
        *,
        lighting: str | None = None,
        contours: int | None = None,
        floor: bool | None = None,
        field: bool | None = None,
        normal_arrows: bool | None = None,
        axes: bool | None = None,
        grid: int | None = None,
    ) -> ViewOptions:
        """These options with each one that is given (not None) set, then checked.

        The one way the command line, the API and a session's overrides set the view, so
        the defaults are this class's alone. ``field`` turns the floor on: its arrows lie
        on it.
        """
        if lighting is not None:
            self.lighting = lighting
        if contours is not None:
            self.contours = int(contours)
        if floor is not None:
            self.floor = bool(floor)
        if field is not None:
            self.field = bool(field)
            self.floor = self.floor or self.field
        if normal_arrows is not None:
            self.normal_arrows = bool(normal_arrows)
        if axes is not None:
            self.axes = bool(axes)
        if grid is not None:
            self.grid = int(grid)
        return self.validate()

    def validate(self) -> ViewOptions:
        if self.lighting not in LIGHTING_MODES:
            raise UsageError(
                f"lighting must be one of {', '.join(LIGHTING_MODES)}, got {self.lighting!r}"
            )
        if not 0 <= int(self.contours) <= 200:
            raise UsageError(f"contours must be between 0 and 200, got {self.contours}")
        if not 2 <= int(self.grid) <= 4096:
            raise UsageError(f"grid must be between 2 and 4096, got {self.grid}")
        if not all(np.isfinite(self.light_direction)) or not any(self.light_direction):
            raise UsageError("light direction must be a finite, non-zero vector")
        return self


@dataclass
class AppState:
    """The surface, the view, the camera and the point: the whole picture."""

    surface: Surface
    view: ViewOptions = field(default_factory=ViewOptions)
    camera: OrbitCamera = field(default_factory=OrbitCamera)
    point: tuple[float, float] | None = None
    direction: float = 0.0  # degrees from +x: the dial for the directional derivative
    mode: str = "surface"  # "surface" (3D) or "curve" (the 1D mode)
    playing: bool = False  # Space: the animations (descent, 1D sweep) run
    curve: CurveState = field(default_factory=CurveState)  # the 1D mode
    descent: DescentState = field(default_factory=DescentState)  # balls rolling downhill
    # slider ranges the user set for the surface's parameters (else each parameter's own)
    param_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    # the input plane's attack (app.attack_mode.InputAttack) where the surface is a
    # classifier's loss over its inputs; None otherwise
    input_attack: Any = None

    def __post_init__(self) -> None:
        self.descent.adopt_teaching(self.surface)  # the balls move visibly from the start

    @classmethod
    def for_surface(cls, surface: Surface, aspect: float = 16 / 9, **kwargs) -> AppState:
        state = cls(surface=surface, **kwargs)
        state.frame_camera(aspect)
        return state

    def scene_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """World box around the surface and its floor map."""
        (x0, x1), (y0, y1) = self.surface.domain
        hr = self.surface.height_range()
        return np.array([x0, y0, hr.floor_z]), np.array([x1, y1, hr.clip_hi])

    def axes_base(self) -> float:
        """The height the x and y axes stand on: the floor's where it is drawn, else the
        lowest point of the surface's edges y = y0 and x = x1, where those axes run, so
        they sit under the surface without an empty band below it."""
        hr = self.surface.height_range()
        if self.view.floor:
            return hr.floor_z
        return self.surface.memo(("axes_base",), lambda: _edge_base(self.surface, hr))

    def framing_points(self) -> np.ndarray:
        """What the home view fits on screen, (n, 3): the surface as drawn (heights sampled,
        clipped to its box), the floor's rectangle and the axes, where they are drawn, and
        the point's arrows and tangent plane where a point is placed."""
        (x0, x1), (y0, y1) = self.surface.domain
        hr = self.surface.height_range()
        gx, gy = np.meshgrid(np.linspace(x0, x1, 17), np.linspace(y0, y1, 17))
        xy = np.stack([gx, gy], -1).reshape(-1, 2)
        h = self.surface.height(xy)
        ok = np.isfinite(h)
        points = [np.column_stack([xy[ok], np.clip(h[ok], hr.clip_lo, hr.clip_hi)])]
        if self.view.floor:
            points.append([[x, y, hr.floor_z] for x in (x0, x1) for y in (y0, y1)])
        if self.view.axes:
            # The axes and where their labels stand, as scene.axes_geometry draws them.
            base = self.axes_base()
            out = AXIS_TICK * max(x1 - x0, y1 - y0) * np.array([TICK_LABEL_OUT, AXIS_NAME_OUT])
            points.append([[x0, y0, base], [x1, y0, base], [x1, y1, base], [x0, y1, base]])
            points.append([[x0, y1, min(base, hr.clip_lo)], [x0, y1, hr.clip_hi]])
            points.append([[x, y0 - out[0], base] for x in (x0, x1)])
            points.append([[x1 + out[0], y, base] for y in (y0, y1)])
            points.append([[(x0 + x1) / 2, y0 - out[1], base], [x1 + out[1], (y0 + y1) / 2, base]])
            points.append([[x0 - out[0], y1, z] for z in (min(base, hr.clip_lo), hr.clip_hi)])
        if self.point is not None:
            points.append(self._point_points(hr.floor_z))
        return np.vstack(points)

    def _point_points(self, floor_z: float) -> np.ndarray:
        """The point's dot, arrows' tips and tangent plane's corners, as drawn, (n, 3)."""
        # GL loads only for the commands that draw (the point visual's module imports it)
        from gradient_explorer.render.visuals.point_visual import point_geometry

        g = point_geometry(self.surface, self.point, floor_z)
        if g is None:
            return np.empty((0, 3))
        out = [g.position[None, :]]
        if g.tangent_plane is not None and self.view.tangent_plane:
            # a steep plane reaches far past the box: it frames no more than half the
            # box's height beyond it (it is see-through; the surface is what matters)
            hr = self.surface.height_range()
            room = 0.5 * (hr.clip_hi - floor_z)
            plane = g.tangent_plane.copy()
            plane[:, 2] = np.clip(plane[:, 2], floor_z - room, hr.clip_hi + room)
            out.append(plane)
        for arrow in (g.floor_arrow, g.ascent_arrow):
            if arrow is not None:
                out.append((arrow[0] + arrow[1])[None, :])
        return np.vstack(out)

    def frame_camera(self, aspect: float, *, snap: bool = True, go: bool = True) -> None:
        """Fit the camera's home view to the current surface and go there (``snap``:
        immediately, else eased; ``go=False``: only home moves, for Reset).

        A curve has no 3D box: the 1D view frames itself and the camera stays as it is.
        """
        if self.surface.dim != 2:
            return
        lo, hi = self.scene_bounds()
        self.camera.frame(lo, hi, aspect, snap=snap, points=self.framing_points(), go=go)

    def set_surface(self, surface: Surface, aspect: float = 16 / 9) -> None:
        """Switch surface; the point stays if it is still inside the new domain. The
        descent panel takes the new surface's teaching defaults (start, lr)."""
        self.surface = surface
        self.descent.adopt_teaching(surface)
        if self.point is not None and surface.dim == 2:
            (x0, x1), (y0, y1) = surface.domain
            px, py = self.point
            if not (x0 <= px <= x1 and y0 <= py <= y1):
                self.point = None
        self.frame_camera(aspect)


def _edge_base(surface: Surface, hr) -> float:
    """The lowest clipped height along the edges y = y0 and x = x1 (clip_lo if none)."""
    (x0, x1), (y0, y1) = surface.domain
    t = np.linspace(0.0, 1.0, 65)
    edges = np.concatenate(
        [np.column_stack([x0 + t * (x1 - x0), np.full_like(t, y0)]),
         np.column_stack([np.full_like(t, x1), y0 + t * (y1 - y0)])]
    )  # fmt: skip
    h = surface.height(edges)
    h = h[np.isfinite(h)]
    if h.size == 0:
        return float(hr.clip_lo)
    return float(min(max(h.min(), hr.clip_lo), hr.clip_hi))
