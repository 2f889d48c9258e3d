"""Text that must stay on one line: cut to a width with an ellipsis (the full text then
goes in a tooltip)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ELLIPSIS", "ellipsize"]

ELLIPSIS = "..."


def ellipsize(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` if it is at most ``width`` wide, else its longest start that fits with
    :data:`ELLIPSIS` after it (cut after a space where one is near, so words stay whole).

    ``measure(s)`` is the drawn width of ``s`` (``imgui.calc_text_size(s).x``).
    """
    if measure(text) <= width:
        return text
    lo, hi = 0, len(text)  # the longest start text[:lo] + ELLIPSIS that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid].rstrip() + ELLIPSIS) <= width:
            lo = mid
        else:
            hi = mid - 1
    head = text[:lo]
    space = head.rfind(" ")
    if space >= 0.8 * lo:  # a whole word less, if that costs little room
        head = head[:space]
    return head.rstrip() + ELLIPSIS
