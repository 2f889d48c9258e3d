"""When the window draws: while something moves, and not otherwise.

Redrawing a picture that has not changed costs a laptop its battery (on llvmpipe, both
cores). The window's loop asks :meth:`Pacer.wants_frame` before each frame: yes while
something moves (an animation, the camera easing, balls rolling, a build on its way, a
recording, input in the last :data:`SETTLE_S` seconds, so that imgui's hover effects
and tooltips settle); otherwise the loop sleeps in the windowing system until an event
arrives, waking every :data:`IDLE_WAIT_S` seconds to look for a finished build. While a
build runs and nothing moves, frames are spaced :data:`BUILDING_FRAME_S` apart (typing
still shows) and the finished build is drawn at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Frames go on this long after the last input or movement (imgui's hover delays).
SETTLE_S = 1.0
#: An idle window wakes this often to see whether a build has arrived.
IDLE_WAIT_S = 0.1
#: While a build runs in the helpers (and nothing moves), the window draws at most this
#: often and looks for the result this often: on a software renderer every frame takes
#: CPU from the build, which is what the user is waiting for.
BUILDING_FRAME_S = 0.1
BUILDING_WAIT_S = 0.01

#: The ExplorerApp handlers that mean input (each marks the window active).
INPUT_HANDLERS = (
    "on_resize",
    "on_iconify",
    "on_key_event",
    "on_mouse_position_event",
    "on_mouse_press_event",
    "on_mouse_drag_event",
    "on_mouse_release_event",
    "on_mouse_scroll_event",
    "on_unicode_char_entered",
)


class Pacer:
    """Decides whether the next frame is worth drawing; counts the frames drawn.

    Parameters
    ----------
    clock : callable
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_activity = clock()
        self.frames = 0  # frames drawn: what an idle window does not add to
        self.last_frame = -1e9
        self.throttle_while_building = True

    def touch(self) -> None:
        """Input arrived: draw for the next :data:`SETTLE_S` seconds."""
        self.last_activity = self.clock()

    def drew(self) -> None:
        """A frame was drawn (the app's on_render calls this)."""
        self.frames += 1
        self.last_frame = self.clock()

    def wants_frame(self, moving: bool, building: bool = False, built: bool = False) -> bool:
        """Whether to draw now: something moves, a build has ``built`` (install it now),
        input came lately; while ``building``, at most every :data:`BUILDING_FRAME_S`."""
        now = self.clock()
        if moving or built:
            self.last_activity = now
            return True
        if building and self.throttle_while_building:
            return now - self.last_frame >= BUILDING_FRAME_S
        if building:
            self.last_activity = now
            return True
        return now - self.last_activity < SETTLE_S

    @staticmethod
    def wait(building: bool) -> float:
        """How long the loop may sleep for events when no frame is wanted."""
        return BUILDING_WAIT_S if building else IDLE_WAIT_S

    def marking(self, handler: Callable) -> Callable:
        """``handler`` that first marks input (installed over the app's event methods)."""

        def handle(*args, **kwargs):
            self.touch()
            return handler(*args, **kwargs)

        handle.__wrapped__ = handler
        return handle


def app_moving(app) -> bool:
    """Whether anything in the app changes the picture without input."""
    state, ui = app.state, app.ui
    descent, curve = state.descent, state.curve
    return bool(
        ui.animation is not None
        or state.camera.moving
        or (state.mode == "curve" and curve.playing)
        or (descent.active and descent.playing)
        or ui.session_request is not None
        or ui.after_build is not None
        or ui.screenshot_requested
        or app.recorder is not None
        or app.exit_after is not None
        or app._exit_pending
        or app.interaction.active
        or app.quality.reduced  # a reduced frame is owed its full-quality follow-up
    )
