"""Mouse and keyboard input to :class:`~gradient_explorer.view.camera.OrbitCamera` actions.

Window-library free: the app maps its events to these methods (moderngl-window's
``on_mouse_press_event(x, y, button)`` -> :meth:`OrbitController.press`, and so on).
Mouse positions and deltas are in window points with the origin at the top-left, y down.

Bindings
--------
========================  ==========================================================
left drag                 orbit (drag right turns the scene right, drag down tilts
                          the camera to look more from above)
shift + left drag         pan
right or middle drag      pan (the point under the cursor follows it at target depth)
wheel                     zoom toward the surface point under the cursor (``pick_fn``),
                          else toward the target; wheel up zooms in
========================  ==========================================================

Keys come from the one table of :mod:`gradient_explorer.view.keys` (R reset, T / S / Q
presets, O perspective / orthographic, arrows orbit, + / - zoom): :meth:`OrbitController.key`
performs the camera actions bound there, :meth:`OrbitController.do` any of them by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.keys import BINDINGS, CAMERA_ACTIONS

__all__ = ["KEY_BINDINGS", "OrbitController"]

# moderngl-window numbers its buttons 1 left, 2 right, 3 middle.
_BUTTONS: dict[int | str, str] = {1: "left", 2: "right", 3: "middle"}
_BUTTONS.update({name: name for name in ("left", "right", "middle")})

#: Key name (lower case) -> camera action, read from the one key table.
KEY_BINDINGS: dict[str, str] = {
    b.key.lower(): b.action
    for b in BINDINGS
    if b.action in CAMERA_ACTIONS and not (b.ctrl or b.char)
}

PickFn = Callable[[float, float], Sequence[float] | np.ndarray | None]


class OrbitController:
    """Turn pointer and key events into camera actions.

    Parameters
    ----------
    camera : OrbitCamera
        The camera driven; actions change its goal, the app calls ``camera.update(dt)``.
    orbit_speed : float
        Degrees of rotation per window point dragged.
    pan_speed : float
        1 makes a point at the target's depth follow the cursor exactly.
    zoom_speed : float
        Natural log of the distance change per wheel notch (0.1: about 10 % per notch).
    key_orbit_step : float
        Degrees per arrow-key press.
    invert_orbit_y : bool
        Swap the vertical orbit direction.
    viewport_size : (float, float)
        Width and height of the 3D view in window points; keep it current with
        :meth:`resize` (pan scales mouse deltas by the height).
    """

    def __init__(
        self,
        camera: OrbitCamera,
        *,
        orbit_speed: float = 0.3,
        pan_speed: float = 1.0,
        zoom_speed: float = 0.1,
        key_orbit_step: float = 15.0,
        invert_orbit_y: bool = False,
        viewport_size: tuple[float, float] = (800.0, 600.0),
    ) -> None:
        self.camera = camera
        self.orbit_speed = float(orbit_speed)
        self.pan_speed = float(pan_speed)
        self.zoom_speed = float(zoom_speed)
        self.key_orbit_step = float(key_orbit_step)
        self.invert_orbit_y = bool(invert_orbit_y)
        self.viewport_size = (1.0, 1.0)
        self.resize(*viewport_size)
        self._mode: str | None = None  # "orbit" | "pan" while a button is held
        self._button: str | None = None

    @property
    def aspect(self) -> float:
        """Viewport width / height."""
        return self.viewport_size[0] / self.viewport_size[1]

    @property
    def dragging(self) -> str | None:
        """``"orbit"`` or ``"pan"`` while a drag is in progress, else None."""
        return self._mode

    def resize(self, width: float, height: float) -> None:
        """Set the 3D viewport size in window points (framebuffer pixels / pixel_ratio)."""
        w, h = float(width), float(height)
        if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
            raise UsageError(f"viewport size must be positive, got {width} x {height}")
        self.viewport_size = (w, h)

    def press(self, x: float, y: float, button: int | str, shift: bool = False) -> bool:
        """Start a drag. Returns True if the button starts an action.

        ``button`` is 1/2/3 (moderngl-window) or "left"/"right"/"middle". The position is
        not needed for orbit/pan but is accepted so events map one to one.
        """
        name = _BUTTONS.get(button)
        if name is None or self._mode is not None:
            return False  # a second button during a drag is ignored
        self._button = name
        self._mode = "pan" if (name != "left" or shift) else "orbit"
        return True

    def drag(self, x: float, y: float, dx: float, dy: float) -> bool:
        """Apply a pointer move of ``(dx, dy)`` window points. Returns True if it acted."""
        if self._mode is None:
            return False
        if self._mode == "orbit":
            sy = -1.0 if self.invert_orbit_y else 1.0
            # Drag right: the camera goes round to the left (azimuth down), so the scene
            # appears to turn with the cursor; drag down: look more from above.
            self.camera.orbit(-dx * self.orbit_speed, sy * dy * self.orbit_speed)
        else:
            h = self.viewport_size[1]
            # Window y grows downward, the camera's screen y upward.
            self.camera.pan(self.pan_speed * dx / h, -self.pan_speed * dy / h)
        return True

    def release(self, button: int | str) -> bool:
        """End the drag started by ``button``. Returns True if one ended."""
        if self._mode is None or _BUTTONS.get(button) != self._button:
            return False
        self._mode = None
        self._button = None
        return True

    def scroll(self, x: float, y: float, dy: float, pick_fn: PickFn | None = None) -> bool:
        """Zoom by ``dy`` wheel notches (positive zooms in) toward the point under the cursor.

        Parameters
        ----------
        x, y : float
            Cursor position in window points (top-left origin), passed to ``pick_fn``.
        dy : float
            Wheel amount; moderngl-window's ``y_offset``.
        pick_fn : callable, optional
            ``pick_fn(x, y) -> (3,) world point or None``, e.g. a surface pick. When it
            returns a point the zoom keeps that point under the cursor. It should pick
            with the camera as drawn (current state); the zoom changes the goal, so the
            point stays put exactly once the easing has settled, and nearly so while a
            previous zoom is still easing.
        """
        if dy == 0:
            return False
        point = pick_fn(x, y) if pick_fn is not None else None
        self.camera.zoom(math.exp(-self.zoom_speed * dy), toward=point)
        return True

    def key(self, name: str) -> bool:
        """Handle a key by name (``"R"``, ``"LEFT"``: the key table's names, any case).

        Returns True if the table binds it to a camera action (then performed).
        """
        action = KEY_BINDINGS.get(str(name).lower())
        return action is not None and self.do(action)

    def do(self, action: str) -> bool:
        """Perform a camera action of :data:`~gradient_explorer.view.keys.CAMERA_ACTIONS`.

        Returns False for any other action.
        """
        cam, step = self.camera, self.key_orbit_step
        if action == "reset":
            cam.reset()
        elif action.startswith("preset ") and action in CAMERA_ACTIONS:
            cam.preset(action.removeprefix("preset "), aspect=self.aspect)
        elif action == "toggle projection":
            cam.projection = "orthographic" if cam.projection == "perspective" else "perspective"
        elif action == "orbit left":
            cam.orbit(step, 0.0)
        elif action == "orbit right":
            cam.orbit(-step, 0.0)
        elif action == "orbit up":
            cam.orbit(0.0, step)
        elif action == "orbit down":
            cam.orbit(0.0, -step)
        elif action == "zoom in":
            cam.zoom(math.exp(-self.zoom_speed))
        elif action == "zoom out":
            cam.zoom(math.exp(self.zoom_speed))
        else:
            return False
        return True
