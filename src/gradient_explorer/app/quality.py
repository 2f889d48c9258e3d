"""Adaptive quality on a software renderer: a cheaper picture while it moves.

On Mesa llvmpipe (or softpipe) the window at 1280x720 with 4x MSAA draws a few frames a
second, too few to orbit by hand. While the picture moves (an orbit or zoom, a drag, the
camera easing, balls rolling, the 1D sweep playing), the scene is drawn at a fraction
:data:`MOVING_SCALE` of the pixels per side, one sample each, and stretched over the
window (:class:`gradient_explorer.render.lowres.LowResTarget`); the overlay stays sharp.
:data:`RESTORE_S` after the last movement the full picture comes back. On a GPU nothing
changes. ``GRADIENT_EXPLORER_ADAPTIVE=1`` (or ``0``) forces it on (or off).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

#: Fraction of the window's pixels per side drawn while moving (0.5: a quarter of them).
MOVING_SCALE = 0.5
#: The full picture comes back this long after the last movement.
RESTORE_S = 0.15
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer")


def is_software(renderer: str) -> bool:
    """Whether the GL_RENDERER string names a CPU rasterizer."""
    name = renderer.lower()
    return any(word in name for word in SOFTWARE_RENDERERS)


class AdaptiveQuality:
    """Which quality the next frame gets: full, or reduced while the picture moves.

    Parameters
    ----------
    renderer : str
        The GL_RENDERER string (adaptive only on a software renderer).
    clock : callable
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, renderer: str, clock: Callable[[], float] = time.monotonic) -> None:
        forced = os.environ.get("GRADIENT_EXPLORER_ADAPTIVE", "")
        self.enabled = forced == "1" or (forced != "0" and is_software(renderer))
        self.clock = clock
        self.last_moved = -1e9
        self.reduced = False  # whether the last frame was drawn reduced
        self.last_view: tuple | None = None  # the camera at the last frame (picture_moving)

    def frame_scale(self, moving: bool) -> float | None:
        """The render scale for this frame: None for the full picture."""
        now = self.clock()
        if moving:
            self.last_moved = now
        self.reduced = self.enabled and now - self.last_moved < RESTORE_S
        return MOVING_SCALE if self.reduced else None

    def restore_pending(self) -> bool:
        """True while the last frame was reduced: one more full frame is owed."""
        return self.reduced


#: The camera counts as still once its eye moves less than this fraction of its distance
#: in a frame (about a pixel at 1280 wide): its easing's long tail is not movement.
STILL_FRACTION = 5e-4


def picture_moving(app) -> bool:
    """Whether the 3D picture changes visibly from frame to frame (not just the overlay)."""
    state = app.state
    camera, descent = state.camera, state.descent
    view = (*camera.eye, *camera.target, camera.fov_y)
    last, app.quality.last_view = app.quality.last_view, view
    camera_moves = last is None or max(abs(a - b) for a, b in zip(view, last, strict=True)) > (
        STILL_FRACTION * camera.distance
    )
    return bool(
        (camera.moving and camera_moves)
        or app.interaction.active
        or app.controller.dragging is not None
        or app.ui.animation is not None
        or (descent.active and descent.playing)
    )
