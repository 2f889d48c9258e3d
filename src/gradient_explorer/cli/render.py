"""``gradient-explorer render``: one picture, headless, through the window's scene code."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from gradient_explorer.cli.common import (
    add_command,
    add_surface_args,
    has_surface,
    parse_floats,
    refuse_surface_with_session,
    surface_from_args,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import fastcode
from gradient_explorer.surfaces.surface import check_point

if TYPE_CHECKING:
    from gradient_explorer.app.state import AppState

# app.state (and what it pulls in: the descent mode, the optimizers, the camera) is
# imported where a picture is made, not here: building the parser for `--help` or
# `surfaces` must not pay for it. Its LIGHTING_MODES, for --lighting's choices
# (tests/test_cli_start.py keeps the two in step):
LIGHTING_MODES = ("lit", "unlit", "normals")


def register(sub) -> None:
    parser = add_command(
        sub,
        "render",
        run,
        help="render a PNG headless (no display needed)",
        description=(
            "Render the explorer's view into a PNG, through EGL: the 3D view of a surface "
            "f(x, y), or the 1D mode's picture of a curve f(x) (the curve, f' beneath it, "
            "the tangent at --point X and the points where f' = 0, labelled). The 3D-only "
            "options (--camera, --view, --lighting, --contours, --floor, --field, --normals, "
            "--grid, --display) are refused for a curve; --size, --point X, --param, --session and "
            "--no-axes apply to both."
        ),
    )
    add_surface_args(parser, required=False)
    add_session_arg(parser)
    add_view_args(parser)
    add_view2d_args(parser)
    parser.add_argument("--out", required=True, metavar="FILE.png", help="where to save")


def add_view2d_args(parser) -> None:
    from gradient_explorer.render.image_views import LIGHT, VIEWS_2D
    from gradient_explorer.surfaces.images import CANNY_STAGES

    group = parser.add_argument_group(
        "2D views of --image / --heights, or of a --session holding one (a PNG the size "
        "of the picture)"
    )
    group.add_argument(
        "--view2d",
        choices=VIEWS_2D,
        help="emboss (lit from above), edges (|grad| as brightness), direction (angle as "
        "hue, length as value) or canny (see --canny-stage)",
    )
    group.add_argument(
        "--light",
        metavar="AZ,EL",
        help=f"emboss light: azimuth from +x and elevation, degrees ({LIGHT[0]:g},{LIGHT[1]:g})",
    )
    group.add_argument(
        "--relief",
        type=float,
        metavar="S",
        help="emboss height scale (default: the 3D view's height scale)",
    )
    group.add_argument(
        "--canny-stage",
        choices=CANNY_STAGES,
        default="edges",
        help="smoothed gradient, non-maximum suppression, or edges after hysteresis (edges)",
    )
    group.add_argument(
        "--canny-sigma", type=float, default=1.0, metavar="S", help="Canny's smoothing (1)"
    )
    group.add_argument(
        "--canny-low",
        type=float,
        metavar="T",
        help="hysteresis low threshold on |grad| per pixel (1.25%% of the data's range)",
    )
    group.add_argument(
        "--canny-high",
        type=float,
        metavar="T",
        help="hysteresis high threshold (2.5%% of the data's range)",
    )


def add_session_arg(parser) -> None:
    parser.add_argument(
        "--session",
        metavar="FILE.json",
        help="start from a saved session (view options given here override it)",
    )


DEFAULT_SIZE = "1280x720"


def add_view_args(parser) -> None:
    # no default here: --view2d refuses a --size it would not use (the picture's own size)
    parser.add_argument("--size", default=None, metavar="WxH", help=f"pixels ({DEFAULT_SIZE})")
    parser.add_argument(
        "--camera", metavar="AZ,EL,DIST", help="azimuth and elevation (degrees), distance"
    )
    parser.add_argument(
        "--view", choices=("three_quarter", "top", "side"), help="a preset camera view"
    )
    parser.add_argument("--lighting", choices=LIGHTING_MODES, default=None, help="(lit)")
    parser.add_argument("--contours", type=int, default=None, metavar="N", help="level curves")
    parser.add_argument("--floor", action="store_true", help="draw the floor contour map")
    parser.add_argument("--field", action="store_true", help="gradient arrows on the floor")
    parser.add_argument("--normals", action="store_true", help="normal arrows on the surface")
    parser.add_argument("--no-axes", action="store_true", help="hide the axes and labels")
    parser.add_argument(
        "--point",
        metavar="X,Y",
        help="place the point: X,Y on a surface (gradient, tangent plane); X on a curve (tangent)",
    )
    parser.add_argument("--grid", type=int, default=None, help="vertices per side (256)")


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--size must look like 800x600, got '{text}'") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise UsageError(f"--size must be between 16x16 and 8192x8192, got '{text}'")
    return w, h


def state_from_args(args) -> tuple[AppState, tuple[int, int]]:
    """The state and size the options describe: a surface (or ``--session``) and a view.

    A curve (or a session left in the 1D mode) gets the 1D mode's picture; the options
    of the 3D view are refused for it (see :data:`THREE_D_ONLY`).
    """
    from gradient_explorer.app.curve_mode import follow_surface  # see the top
    from gradient_explorer.app.state import AppState, ViewOptions

    size = parse_size(args.size or DEFAULT_SIZE)
    if getattr(args, "session", None):
        return session_state(args, size), size
    if not has_surface(args):
        raise UsageError(
            "give --surface NAME, --expr TEXT, --image FILE, --heights FILE or --session FILE"
        )
    surface = surface_from_args(args)
    # the command line's floor is off unless asked for; the rest are ViewOptions' defaults
    view = ViewOptions(floor=False).override(**_view_flags(args))
    if surface.dim == 1:  # the 1D view has no 3D camera to frame
        state = AppState(surface=surface, view=view)
        follow_surface(state)
    else:
        state = AppState.for_surface(surface, aspect=size[0] / size[1], view=view)
    _camera_and_point(args, state, size)
    return state, size


def session_state(args, size: tuple[int, int]) -> AppState:
    """Load ``--session``; the view options given on the command line override it."""
    refuse_surface_with_session(args)
    from gradient_explorer.app.session import load_session  # see the top

    state = load_session(args.session, aspect=size[0] / size[1])
    state.view.override(**_view_flags(args))
    _camera_and_point(args, state, size)
    return state


def _view_flags(args) -> dict:
    """The view options given on the command line (None: not given; a flag not set is
    not given either, so a session's own choice stays)."""
    return {
        "lighting": args.lighting,
        "contours": args.contours,
        "floor": args.floor or None,
        "field": args.field or None,
        "normal_arrows": args.normals or None,
        "axes": False if args.no_axes else None,
        "grid": args.grid,
    }


#: Options of the 3D view that a curve's picture has no use for: (attribute, flag).
THREE_D_ONLY = (
    ("camera", "--camera"),
    ("view", "--view"),
    ("lighting", "--lighting"),
    ("contours", "--contours"),
    ("floor", "--floor"),
    ("field", "--field"),
    ("normals", "--normals"),
    ("grid", "--grid"),
    ("display", "--display"),  # the 1D view plots f itself
)


def shows_curve(state: AppState) -> bool:
    """True when the picture is the 1D mode's (a curve, or a session left in 1D mode)."""
    return state.mode == "curve" or state.surface.dim == 1


def _refuse_3d_options(args) -> None:
    for attr, flag in THREE_D_ONLY:
        if getattr(args, attr, None) not in (None, False):
            raise UsageError(
                f"{flag} is for the 3D view of a surface f(x, y); a curve is drawn in the "
                f"1D view: drop {flag}"
            )


def _camera_and_point(args, state: AppState, size: tuple[int, int]) -> None:
    surface = state.surface
    if shows_curve(state):
        _refuse_3d_options(args)
        if args.point:
            from gradient_explorer.app.curve_mode import active_curve  # see the top

            state.curve.x = curve_point(args.point, active_curve(state))
        return
    if args.point:
        state.point = check_point(
            parse_floats(args.point, "--point", (2,)), surface.domain, "--point"
        )
        if state.camera.at_home():  # (a session's own view stays)
            state.frame_camera(size[0] / size[1])  # the home view fits its arrow and plane
    if args.view:
        state.camera.preset(args.view, size[0] / size[1], snap=True)
    if args.camera:
        az, el, dist = parse_floats(args.camera, "--camera", (3,))
        if dist <= 0:
            raise UsageError(f"--camera distance must be positive, got {dist:g}")
        state.camera.set_state(
            {**state.camera.get_state(), "azimuth": az, "elevation": el, "distance": dist}
        )


def curve_point(text: str, curve) -> float:
    """``--point X`` for a curve: one number inside the curve's domain."""
    parts = str(text).split(",")
    if len(parts) != 1:
        raise UsageError(f"--point takes one number (x) for a curve, got '{text}'")
    (x,) = check_point(parse_floats(text, "--point", (1,)), curve.domain, "--point")
    return x


def say_drawing_note(state: AppState, size=(1280, 720)) -> None:
    """What could not be drawn, in one line on stderr: heights past float32 on a surface,
    values past the plot's band or not finite on a curve."""
    # GL loads only for the commands that draw: the CLI starts fast.
    from gradient_explorer.render.scene import drawing_note

    if shows_curve(state):
        # GL loads only for the commands that draw: the CLI starts fast.
        from gradient_explorer.app.curve_mode import active_curve  # see the top
        from gradient_explorer.render.visuals.curve_visual import unshown_note

        note = unshown_note(active_curve(state), size, state.curve.show_derivative)
        if note:
            print(f"gradient-explorer: note: {note}", file=sys.stderr)
        return
    note = drawing_note(state.surface)
    if note:
        print(f"gradient-explorer: {note}", file=sys.stderr)


def session_image(args):
    """The image or elevation surface ``--session`` holds, with its operator, sigma and
    height scale (the emboss relief's default), for ``--view2d``."""
    refuse_surface_with_session(args)
    from gradient_explorer.app.session import load_session  # see the top

    surface = load_session(args.session).surface
    # a model's loss or an input plane is sampled too, but read from no image file
    if getattr(getattr(surface, "samples", None), "kind", "") not in ("image", "heights"):
        raise UsageError(
            f"--view2d draws an image or elevation map; the session {args.session} holds "
            f"{surface.name}: drop --view2d for its 3D view"
        )
    return surface


def run_view2d(args) -> int:
    # GL and the image layer load only for the commands that draw: the CLI starts fast.
    from gradient_explorer.render.headless import save_png
    from gradient_explorer.render.image_views import LIGHT, view_2d
    from gradient_explorer.surfaces.operators import check_sigma

    session = getattr(args, "session", None)
    if not (session or getattr(args, "image", None) or getattr(args, "heights", None)):
        raise UsageError(
            "--view2d draws --image or --heights data (or a --session holding one): give one"
        )
    # the 2D view is the picture's own pixels: options of the 3D view are refused, not ignored
    for attr, flag in (*THREE_D_ONLY, ("size", "--size"), ("point", "--point"),
                       ("no_axes", "--no-axes")):  # fmt: skip
        if getattr(args, attr, None) not in (None, False):
            raise UsageError(
                f"{flag} is for the 3D view; --view2d writes the picture at its own size: "
                f"drop {flag}"
            )
    light = parse_floats(args.light, "--light", (2,)) if args.light else LIGHT
    if args.relief is not None and not (math.isfinite(args.relief) and args.relief >= 0):
        raise UsageError(f"--relief must be a number >= 0, got {args.relief:g}")
    check_sigma(args.canny_sigma, "--canny-sigma")
    surface = session_image(args) if session else surface_from_args(args)
    pixels = view_2d(
        surface,
        args.view2d,
        light=light,
        relief=args.relief,
        stage=args.canny_stage,
        sigma=args.canny_sigma,
        low=args.canny_low,
        high=args.canny_high,
    )
    save_png(pixels, args.out)
    height, width = pixels.shape[:2]
    print(f"wrote {args.out} ({width}x{height}, {args.view2d} of {surface.name})")
    return 0


def run(args) -> int:
    # GL loads only for the commands that draw: the CLI starts fast.
    from gradient_explorer.render.headless import render_image, save_png

    if args.view2d:
        return run_view2d(args)
    # one picture: loading the compiled engine (0.3 s, seconds the first time) for one
    # gradient of the field's grid would never pay; numpy gives the same bits
    fastcode.numpy_unless_chosen()
    state, size = state_from_args(args)
    pixels = render_image(state, size)
    save_png(pixels, args.out)
    say_drawing_note(state, size)
    print(f"wrote {args.out} ({size[0]}x{size[1]}, {state.surface.name})")
    return 0
