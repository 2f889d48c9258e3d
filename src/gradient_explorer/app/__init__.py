"""app layer."""

import importlib.util
import os
import sys
from pathlib import Path


def _point_glfw_at_its_library() -> None:
    # pyglfw, imported without PYGLFW_LIBRARY, checks the version of each library it finds
    # in a new Python process (~20 ms of the window's start); on Linux the one it finds
    # is its wheel's own, for X11 or Wayland as it would choose. Set before the window
    # imports glfw; a user's PYGLFW_LIBRARY stays.
    if os.environ.get("PYGLFW_LIBRARY") or not sys.platform.startswith("linux"):
        return
    spec = importlib.util.find_spec("glfw")
    if spec is None or not spec.origin:
        return
    variant = os.environ.get("PYGLFW_LIBRARY_VARIANT", "").lower()
    if variant not in ("wayland", "x11"):
        wayland = os.environ.get("XDG_SESSION_TYPE") == "wayland"
        variant = "wayland" if wayland else "x11"
    library = Path(spec.origin).parent / variant / "libglfw.so"
    if library.is_file():
        os.environ["PYGLFW_LIBRARY"] = str(library)


_point_glfw_at_its_library()
