"""The renderer the window got last time, so that a start opens the right window first.

On a software renderer (Mesa llvmpipe) the window is made without MSAA and the still
picture gets its samples offscreen (:mod:`gradient_explorer.app.quality`). Which renderer a
window gets is known only once one is open, so every start opened a multisampled window,
asked, and on llvmpipe closed it and opened another: 0.1-0.15 s before the first frame.
The renderer's name is remembered per kind of display in the user's cache folder (next to the
generated code, :mod:`gradient_explorer.surfaces.codecache`; ``GRADIENT_EXPLORER_NO_CACHE=1``
turns it off); a start opens the window that name calls for and reopens only when the
renderer turns out to be another.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gradient_explorer.fileio import write_atomic
from gradient_explorer.surfaces import codecache

__all__ = ["remember", "remembered"]


def _path() -> Path:
    return codecache.cache_dir().parent / "window-renderer.json"


def _display() -> str:
    """The kind of display: Wayland, or the X server's host ("" for this machine's, whose
    numbered servers, virtual ones included, share one entry)."""
    if os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return os.environ.get("DISPLAY", "").rsplit(":", 1)[0]


def _read() -> dict:
    try:
        doc = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def remembered() -> str | None:
    """GL_RENDERER of the last window on this display, or None (not known)."""
    if not codecache.enabled():
        return None
    name = _read().get(_display())
    return name if isinstance(name, str) else None


def remember(renderer: str) -> None:
    """Keep ``renderer`` for this display (written only when it changed; never an error)."""
    if not codecache.enabled():
        return
    doc = _read()
    if doc.get(_display()) == renderer:
        return
    doc[_display()] = renderer
    try:
        _path().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(_path(), json.dumps(doc, sort_keys=True))
    except OSError:
        pass
