"""``gradient-explorer app`` (the default command): the interactive window.

Without a display (no DISPLAY / WAYLAND_DISPLAY on Linux, or no window could be made)
it says so in one line and renders the same picture headless to a PNG instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from gradient_explorer.cli.common import (
    add_command,
    add_surface_args,
    has_surface,
    refuse_surface_with_session,
    surface_from_args,
)
from gradient_explorer.cli.render import DEFAULT_SIZE, parse_size
from gradient_explorer.errors import GradientExplorerError, UsageError
from gradient_explorer.surfaces.surface import Surface

FALLBACK_NAME = "gradient-explorer.png"


def register(sub) -> None:
    parser = add_command(
        sub,
        "app",
        run,
        help="open the interactive window (the default command)",
        description="Explore a surface in a window: orbit, place the point, type expressions.",
    )
    add_surface_args(parser, required=False)
    parser.add_argument(
        "--size", default=DEFAULT_SIZE, metavar="WxH", help=f"window size ({DEFAULT_SIZE})"
    )
    parser.add_argument(
        "--session",
        metavar="FILE.json",
        help="open a saved session; Ctrl+S saves back to it, Ctrl+O reloads it",
    )


def has_display() -> bool:
    """False where a window certainly cannot open (Linux/BSD without X11 or Wayland)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _state(args, size):
    # the app's modules load here, not at the top: `--help` and the other commands start
    # without them (tests/test_cli_start.py)
    from gradient_explorer.app.curve_mode import follow_surface
    from gradient_explorer.app.session import load_session
    from gradient_explorer.app.state import AppState

    if getattr(args, "session", None):
        refuse_surface_with_session(args)
        return load_session(args.session, aspect=size[0] / size[1])
    if has_surface(args):
        surface = surface_from_args(args)
    else:
        surface = Surface.named("banana")
    state = AppState.for_surface(surface, aspect=size[0] / size[1])
    follow_surface(state)  # a curve opens the 1D mode, showing that curve
    return state


def fallback_path() -> Path:
    """``gradient-explorer.png`` in the current folder, or a temp folder if it is read-only."""
    cwd = Path.cwd()
    if os.access(cwd, os.W_OK):
        return cwd / FALLBACK_NAME
    return Path(tempfile.gettempdir()) / FALLBACK_NAME


def render_headless(state, size, reason: str) -> int:
    """Say why there is no window, in one line, and save the picture as a PNG."""
    # GL loads only for the commands that draw: the CLI starts fast.
    from gradient_explorer.render.headless import render_image, save_png

    path = fallback_path()
    print(
        f"{reason}: rendering headless to {path} instead; "
        "use `gradient-explorer render ...` for more options"
    )
    pixels = render_image(state, size)
    try:
        save_png(pixels, path)
    except UsageError:  # cwd became unwritable between the check and the write
        path = Path(tempfile.gettempdir()) / FALLBACK_NAME
        save_png(pixels, path)
        print(f"wrote {path}")
    return 0


def run(args) -> int:
    size = parse_size(args.size)
    state = _state(args, size)
    if not has_display():
        return render_headless(state, size, "no display found")
    # GL loads only for the commands that draw: the CLI starts fast.
    from gradient_explorer.app.window import run as run_window

    try:
        return run_window(state, size, session_path=getattr(args, "session", None))
    except GradientExplorerError as exc:
        if "OpenGL 3.3 is required" in str(exc):
            raise  # the one-line message names the renderer found
        return render_headless(state, size, f"no window ({exc})")
