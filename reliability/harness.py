"""The app on a headless (EGL) moderngl-window window, driven by script, with meters.

Shared by the reliability commands in this folder and their bounded runs in the tests.
It follows ``tests/test_app_headless.py``: the real :class:`ExplorerApp` with its event
handlers, on an offscreen window, with every GL object it creates counted (the context's
factory methods are wrapped), plus resident memory and per-frame wall time.
"""

from __future__ import annotations

import ctypes
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import moderngl
import numpy as np
from moderngl_window.context.base import KeyModifiers
from moderngl_window.context.glfw.keys import Keys
from moderngl_window.context.headless import Window

from gradient_explorer.app.state import AppState
from gradient_explorer.app.window import ExplorerApp
from gradient_explorer.surfaces.surface import Surface

__all__ = ["TRACKED", "AppHarness", "rss_bytes"]

#: Context factory methods whose objects count as "live GL objects".
TRACKED = (
    "buffer",
    "program",
    "vertex_array",
    "texture",
    "framebuffer",
    "renderbuffer",
    "depth_renderbuffer",
    "depth_texture",
    "scope",  # made per frame by the imgui renderer: each one must be released
)

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: measure as it is
        pass


def rss_bytes(trim: bool = True) -> int:
    """Resident memory of this process (``/proc/self/statm``, Linux).

    With ``trim``, glibc first hands freed heap pages back to the system (``malloc_trim``):
    the driver's freed framebuffers otherwise stay resident until reused, and RSS would
    then depend on the largest window size seen rather than on what is still allocated.
    """
    gc.collect()
    if trim:
        _malloc_trim()
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


class AppHarness:
    """A headless window, the app on it, and meters for GL objects and frame times.

    Parameters
    ----------
    size : (int, int)
        Window size in pixels.
    surface : str
        Catalogue surface to start from.
    samples : int
        MSAA samples of the window's framebuffer (the real window asks for 4).
    screenshot_dir : path, optional
        Where F12 writes.
    precompile : bool
        Compile new surfaces' shaders in the helper process first, as the real app does
        (off by default here: the soak counts this process's objects and memory).
    """

    def __init__(
        self,
        size: tuple[int, int] = (800, 600),
        surface: str = "saddle",
        samples: int = 4,
        screenshot_dir: str | os.PathLike | None = None,
        precompile: bool = False,
    ) -> None:
        self.size = size
        self.wnd = Window(size=size, backend="egl", gl_version=(3, 3), samples=samples)
        ctx = self.wnd.ctx
        self.created: list = []
        for name in TRACKED:
            original = getattr(ctx, name)

            def make(*args, _original=original, **kwargs):
                obj = _original(*args, **kwargs)
                self.created.append(obj)
                return obj

            setattr(ctx, name, make)  # an instance attribute: this context only
        state = AppState.for_surface(Surface.named(surface), aspect=size[0] / size[1])
        self.app = ExplorerApp(
            ctx=ctx,
            wnd=self.wnd,
            state=state,
            keys=Keys,
            screenshot_dir=Path(screenshot_dir) if screenshot_dir is not None else None,
            precompile=precompile,
        )
        self.t = 0.0
        self.frame_times: list[float] = []  # wall seconds of each frame, finish included
        self.frame(2)  # imgui sizes auto-resizing windows on their second frame

    # ------------------------------------------------------------------ meters

    @property
    def state(self) -> AppState:
        return self.app.state

    def live(self) -> int:
        """GL objects the app (and the window's own framebuffer) hold right now."""
        invalid = moderngl.InvalidObject
        self.created = [o for o in self.created if not isinstance(o.mglo, invalid)]
        return len(self.created)

    # ------------------------------------------------------------------ driving

    def frame(self, n: int = 1, dt: float | None = 1 / 60) -> None:
        """Run ``n`` frames; ``dt=None`` passes the real time since the last frame."""
        for _ in range(n):
            began = time.perf_counter()
            previous = getattr(self, "_began", None)
            # Real time: from the start of the previous frame, as a window's timer gives.
            step = dt if dt is not None else (began - previous if previous else 1 / 60)
            self._began = began
            self.t += step
            self.wnd.use()
            self.app.on_render(self.t, step)
            self.wnd.ctx.finish()  # the GPU's share of the frame counts too
            self.frame_times.append(time.perf_counter() - began)
            if len(self.frame_times) % 200 == 0:
                self.live()  # drop released objects: holding them would grow memory

    def frames_until(self, done: Callable[[], bool], timeout: float, dt=1 / 60) -> int:
        """Run frames until ``done()`` (checked between frames); return how many ran."""
        n, limit = 0, time.monotonic() + timeout
        while not done():
            if time.monotonic() > limit:
                raise TimeoutError(f"not done after {timeout} s ({n} frames)")
            self.frame(dt=dt)
            n += 1
        return n

    def move(self, x: float, y: float) -> None:
        self.app.on_mouse_position_event(x, y, 0, 0)
        self.frame()

    def click(self, x: float, y: float, button: int = 1) -> None:
        self.move(x, y)
        self.app.on_mouse_press_event(x, y, button)
        self.frame()
        self.app.on_mouse_release_event(x, y, button)
        self.frame()

    def key(self, name: str, ctrl: bool = False) -> None:
        mods = KeyModifiers()
        mods.ctrl = ctrl
        code = getattr(Keys, name)
        self.app.on_key_event(code, Keys.ACTION_PRESS, mods)
        self.frame()
        self.app.on_key_event(code, Keys.ACTION_RELEASE, KeyModifiers())
        self.frame()

    def type_text(self, text: str) -> None:
        for char in text:
            self.app.on_unicode_char_entered(char)
        self.frame()

    def enter_expression(self, text: str) -> None:
        """Click the expression field, replace its text, press Enter (as a person would)."""
        x0, y0, x1, y1 = self.app.ui.rects["expression"]
        self.click((x0 + x1) / 2, (y0 + y1) / 2)
        self.key("A", ctrl=True)  # select all: typing replaces it
        self.type_text(text)
        # Enter by hand: the frame that sees it submits the build; time it apart.
        mods = KeyModifiers()
        self.app.on_key_event(Keys.ENTER, Keys.ACTION_PRESS, mods)
        self.frame()
        self.app.on_key_event(Keys.ENTER, Keys.ACTION_RELEASE, mods)

    def resize(self, width: int, height: int) -> None:
        """Resize the window (0 means minimised: the framebuffer is kept, as glfw does)."""
        w = self.wnd
        if width > 0 and height > 0 and (width, height) != w.size:
            # A new framebuffer of that size, made while the old one is still bound:
            # moderngl-window's own ``size`` setter frees the bound framebuffer first and
            # moderngl then rebinds the freed name (GL_INVALID_OPERATION, not the app's).
            old = w._fbo
            w._fbo = None
            w._width, w._height = width, height
            w._create_fbo()
            w.use()
            attachments = [*old.color_attachments, old.depth_attachment]
            old.release()
            for attachment in attachments:
                if attachment is not None:
                    attachment.release()
        elif width <= 0 or height <= 0:
            w._width, w._height = width, height
        w._buffer_width, w._buffer_height = width, height
        self.app.on_resize(width, height)

    def pixels(self) -> np.ndarray:
        return self.app.read_pixels()

    def close(self) -> str:
        """Release the app and the window; return the context's GL error state."""
        self.app.release()
        error = self.wnd.ctx.error
        self.wnd.destroy()
        return error
