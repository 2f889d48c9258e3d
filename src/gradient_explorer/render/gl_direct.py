"""Draw calls during which other Python threads run, on a software rasterizer.

On llvmpipe a draw call is CPU work on the calling thread: every vertex is shaded and
every triangle set up and binned before the call returns (1.5 ms for the 128 x 128
surface, 31 ms at 512), and moderngl holds the GIL for all of it, while the machine's
other cores wait for the rasterization that starts at the frame's flush. The same call
made through ctypes releases the GIL, so the frame's numpy work (the balls' trails,
:meth:`~gradient_explorer.render.visuals.balls_visual.BallsVisual.prepare`) runs meanwhile
on another thread (:class:`~gradient_explorer.render.scene.SceneRenderer`): the same work,
overlapped, the same pixels. On a GPU a draw call only queues work: nothing to overlap,
and none of this is used.
"""

from __future__ import annotations

import ctypes
import os
import sys

import moderngl

__all__ = ["SOFTWARE_RENDERERS", "DirectDraw"]

#: GL_RENDERER names of rasterizers whose draw calls run on the calling thread
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast")
GL_UNSIGNED_INT = 0x1405
# glvnd's libOpenGL (or libGL) dispatches each call to the context current on the
# calling thread, EGL's or GLX's alike: the one moderngl made current
_LIBRARIES = ("libOpenGL.so.0", "libGL.so.1")


def _load_draw_elements():
    """``glDrawElements`` from the system's GL dispatch library, or None."""
    if not sys.platform.startswith("linux"):
        return None
    for name in _LIBRARIES:
        try:
            library = ctypes.CDLL(name)
            draw = library.glDrawElements
        except (OSError, AttributeError):
            continue
        draw.argtypes = [ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
        draw.restype = None
        return draw
    return None


class DirectDraw:
    """``glDrawElements`` of a moderngl vertex array, with the GIL released.

    The first draw is counted by a primitives query: if the call reached another
    context (or none), it drew nothing there, moderngl draws it again, and moderngl's
    own calls are used from then on (:attr:`ok`).
    """

    def __init__(self, ctx: moderngl.Context, draw_elements):
        self.ctx = ctx
        self._draw_elements = draw_elements
        self.checked = False
        self.ok = True

    @classmethod
    def for_context(cls, ctx: moderngl.Context) -> DirectDraw | None:
        """The direct path for ``ctx`` where it pays (a software rasterizer), else None.

        ``GRADIENT_EXPLORER_OVERLAP=0`` turns it off.
        """
        if os.environ.get("GRADIENT_EXPLORER_OVERLAP", "").strip() == "0":
            return None
        renderer = str(ctx.info.get("GL_RENDERER", "")).lower()
        if not any(name in renderer for name in SOFTWARE_RENDERERS):
            return None
        draw = _load_draw_elements()
        return None if draw is None else cls(ctx, draw)

    def render(self, vao: moderngl.VertexArray, mode: int) -> None:
        """``vao.render(mode)`` for a vertex array of 32-bit indices."""
        count = vao.vertices
        if not self.ok or count <= 0:
            vao.render(mode)
            return
        if self.checked:
            self._render(vao, mode, count)
            return
        query = self.ctx.query(primitives=True)  # once: moderngl has no release for it
        with query:
            self._render(vao, mode, count)
        self.ok = query.primitives > 0
        self.checked = True
        if not self.ok:
            vao.render(mode)

    def _render(self, vao: moderngl.VertexArray, mode: int, count: int) -> None:
        vao.render(mode, vertices=0)  # moderngl binds the program and the vertex array
        self._draw_elements(mode, count, GL_UNSIGNED_INT, None)
