"""Text in the picture: the :class:`Label` the scene and the visuals hand to the overlay.

A label is placed either at a world point, which the overlay projects with the camera
(the 3D axes' ticks and names), or at a pixel of the picture it was made for (the 1D
view, laid out in pixels): then the overlay only scales it to the display, so a label
flows one way, from where it is placed to where it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradient_explorer.render.palette import TEXT_COLOR

__all__ = ["TEXT_COLOR", "Label"]


@dataclass(frozen=True)
class Label:
    """Text to draw at a point, centred on it.

    Attributes
    ----------
    position : tuple of float
        A world point ``(x, y, z)``; or, with ``screen_size``, pixels ``(x, y)`` of that
        picture, origin top-left, y down.
    text : str
    color : (r, g, b, a)
    priority : int
        Which labels stay when they would overlap: higher first.
    screen_size : (int, int), optional
        Width and height in pixels of the picture ``position`` is in; None for a world
        point.
    """

    position: tuple[float, ...]
    text: str
    color: tuple[float, float, float, float] = TEXT_COLOR
    priority: int = 0
    screen_size: tuple[int, int] | None = None
