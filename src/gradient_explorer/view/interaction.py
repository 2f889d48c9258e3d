"""Mouse interaction with the 3D view, window-free: place and drag the point, orbit, zoom.

The app forwards the events imgui did not take, as plain numbers (window points, origin
top-left, y down). The rules:

========================  ==========================================================
left click (no drag)      place the point where the mouse ray meets the surface, else
                          the floor map
left drag on the point    move it along the surface (grabbed on the floor map: across
                          the floor)
left drag elsewhere       orbit
right / middle drag,      pan
shift + left drag
wheel                     zoom toward the surface point under the cursor
========================  ==========================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gradient_explorer.view.controller import OrbitController
from gradient_explorer.view.picking import (
    pick_floor,
    pick_height_surface,
    screen_to_ray,
    world_to_screen,
)

if TYPE_CHECKING:  # for annotations only: view/ never imports the app layer
    from gradient_explorer.app.state import AppState

__all__ = ["CLICK_SLOP", "GRAB_RADIUS", "Interaction"]

# A press that moves less than this (window points) before release is a click.
CLICK_SLOP = 4.0
# How close (window points) to the drawn point a press grabs it.
GRAB_RADIUS = 14.0

_LEFT = (1, "left")


class Interaction:
    """Turn pointer events into point placement and camera actions on an :class:`AppState`.

    Parameters
    ----------
    state : AppState
        Read for the surface and camera, written for ``state.point``.
    controller : OrbitController, optional
        Camera control; one is made for ``state.camera`` if not given.
    on_point : callable, optional
        Called with no arguments whenever the user places or moves the point (the app
        uses it to stop a scripted animation of the point).

    Notes
    -----
    Call :meth:`set_view` whenever the window size or pixel ratio changes: picking maps
    the mouse through the same viewport and aspect the renderer draws with.
    """

    def __init__(
        self,
        state: AppState,
        controller: OrbitController | None = None,
        on_point: Callable[[], None] | None = None,
        on_drop: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self.state = state
        self.controller = controller or OrbitController(state.camera)
        self.on_point = on_point
        self.on_drop = on_drop  # shift+click: drop a ball there (the descent mode)
        self._shift_press: tuple[float, float] | None = None
        self.viewport: tuple[float, float, float, float] = (0.0, 0.0, 800.0, 600.0)
        self.framebuffer_size: tuple[float, float] = (800.0, 600.0)
        self.pixel_ratio = 1.0
        self._press: tuple[float, float] | None = None  # where a left press started
        self._moved = 0.0
        self._shift = False
        self._grab: str | None = None  # "surface" | "floor" while dragging the point
        self._camera_drag = False

    # ------------------------------------------------------------------ geometry

    def set_view(
        self,
        viewport: Sequence[float],
        framebuffer_size: Sequence[float],
        pixel_ratio: float = 1.0,
    ) -> None:
        """Set the GL viewport (framebuffer pixels), framebuffer size and pixel ratio.

        A zero-sized framebuffer (minimised window) is kept but turns picking off.
        """
        self.viewport = tuple(float(v) for v in viewport)
        self.framebuffer_size = tuple(float(v) for v in framebuffer_size)
        self.pixel_ratio = float(pixel_ratio) if pixel_ratio > 0 else 1.0
        vw, vh = self.viewport[2], self.viewport[3]
        if vw > 0 and vh > 0:
            self.controller.resize(vw / self.pixel_ratio, vh / self.pixel_ratio)

    @property
    def _usable(self) -> bool:
        vw, vh = self.viewport[2], self.viewport[3]
        return vw > 0 and vh > 0 and self.framebuffer_size[1] > 0 and self.state.surface.dim == 2

    @property
    def active(self) -> bool:
        """True while a press or drag that this object owns is in progress."""
        return self._press is not None or self._camera_drag or self._grab is not None

    def ray(self, x: float, y: float) -> tuple[np.ndarray, np.ndarray] | None:
        """World ray under the mouse, or None outside the viewport."""
        if not self._usable:
            return None
        return screen_to_ray(
            self.state.camera, (x, y), self.viewport, self.framebuffer_size, self.pixel_ratio
        )

    def to_screen(self, world) -> np.ndarray:
        """Window position (points, top-left origin) of world point(s)."""
        return world_to_screen(
            self.state.camera, world, self.viewport, self.framebuffer_size, self.pixel_ratio
        )

    def pick_surface(self, x: float, y: float) -> np.ndarray | None:
        """World point of the displayed surface under the mouse, or None."""
        ray = self.ray(x, y)
        if ray is None:
            return None
        surface = self.state.surface
        heights = surface.height_range()
        domain = (*surface.domain, (heights.clip_lo, heights.clip_hi))
        return pick_height_surface(ray[0], ray[1], surface.height, domain)

    def pick_floor(self, x: float, y: float) -> np.ndarray | None:
        """World point of the floor map under the mouse, or None (also when it is hidden)."""
        ray = self.ray(x, y)
        if ray is None or not self.state.view.floor:
            return None
        surface = self.state.surface
        floor_z = surface.height_range().floor_z
        xy = pick_floor(ray[0], ray[1], floor_z, surface.domain)
        return None if xy is None else np.array([xy[0], xy[1], floor_z])

    def pick(self, x: float, y: float) -> np.ndarray | None:
        """The surface under the mouse, else the floor map: a world point or None."""
        hit = self.pick_surface(x, y)
        return hit if hit is not None else self.pick_floor(x, y)

    # ------------------------------------------------------------------ point

    def point_screen(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Window positions of the point on the surface and on the floor map."""
        point = self.state.point
        if point is None or not self._usable:
            return None
        surface = self.state.surface
        h = float(surface.height(np.asarray(point, dtype=np.float64)))
        floor_z = surface.height_range().floor_z
        on_surface = np.array([point[0], point[1], h if math.isfinite(h) else np.nan])
        on_floor = np.array([point[0], point[1], floor_z])
        with np.errstate(invalid="ignore"):
            screen = self.to_screen(np.array([on_surface, on_floor]))
        return screen[0], screen[1]

    def _grab_at(self, x: float, y: float) -> str | None:
        screens = self.point_screen()
        if screens is None:
            return None
        best, best_d = None, GRAB_RADIUS
        names = ("surface", "floor") if self.state.view.floor else ("surface",)
        for name, s in zip(names, screens, strict=False):
            if name == "floor" and self.pick_surface(x, y) is not None:
                continue  # the surface hides the floor marker there
            if np.all(np.isfinite(s)):
                d = math.hypot(s[0] - x, s[1] - y)
                if d <= best_d:
                    best, best_d = name, d
        return best

    def _place(self, x: float, y: float, grab: str | None = None) -> bool:
        hit = self.pick_floor(x, y) if grab == "floor" else self.pick(x, y)
        if hit is None:
            return False
        self.state.point = (float(hit[0]), float(hit[1]))
        if self.on_point is not None:
            self.on_point()
        return True

    # ------------------------------------------------------------------ events

    def press(self, x: float, y: float, button: int | str, shift: bool = False) -> bool:
        """A button went down over the 3D view. Returns True if it starts something."""
        if self.active:
            return False
        if button in _LEFT and not shift:
            self._press = (float(x), float(y))
            self._moved = 0.0
            self._grab = self._grab_at(x, y)
            return True
        if button in _LEFT:  # shift: a drag pans, a click drops a ball
            self._shift_press = (float(x), float(y))
        self._camera_drag = self.controller.press(x, y, button, shift=shift)
        return self._camera_drag

    def drag(self, x: float, y: float, dx: float, dy: float) -> bool:
        """The mouse moved with a button held. Returns True if it acted."""
        if self._grab is not None:
            if self._press is not None:
                px, py = self._press
                if math.hypot(x - px, y - py) < CLICK_SLOP:
                    return False
                self._press = None  # a drag now: the point follows the mouse
            self._place(x, y, self._grab)
            return True
        if self._press is not None:
            px, py = self._press
            if math.hypot(x - px, y - py) < CLICK_SLOP:
                return False
            # Became a drag: orbit, including the motion held back while it might be a click.
            self._press = None
            self._camera_drag = self.controller.press(x, y, "left")
            return self.controller.drag(x, y, x - px, y - py)
        if self._camera_drag:
            return self.controller.drag(x, y, dx, dy)
        return False

    def release(self, x: float, y: float, button: int | str) -> bool:
        """A button went up. A left press that never became a drag places the point."""
        if self._grab is not None and button in _LEFT:
            if self._press is not None:  # pressed on the point and let go: still a click
                self._place(x, y)
            self._grab = None
            self._press = None
            return True
        if self._press is not None and button in _LEFT:
            self._press = None
            self._place(x, y)
            return True
        dropped = False
        if self._shift_press is not None and button in _LEFT:
            px, py = self._shift_press
            self._shift_press = None
            if math.hypot(x - px, y - py) < CLICK_SLOP and self.on_drop is not None:
                world = self.pick_surface(x, y)
                if world is not None:
                    self.on_drop(np.asarray(world[:2], dtype=np.float64))
                    dropped = True
        if self._camera_drag and self.controller.release(button):
            self._camera_drag = False
            return True
        return dropped

    def scroll(self, x: float, y: float, dy: float) -> bool:
        """Wheel: zoom toward what is under the cursor."""
        pick = self.pick if self._usable else None
        return self.controller.scroll(x, y, dy, pick_fn=pick)

    def cancel(self) -> None:
        """Forget any press or drag (e.g. when the window loses the mouse)."""
        self._press = None
        self._shift_press = None
        self._grab = None
        for button in ("left", "right", "middle"):
            self.controller.release(button)
        self._camera_drag = False
