"""``gradient-explorer render``: one picture, headless, through the window's scene code."""

from __future__ import annotations

from gradient_explorer.cli.common import add_surface_args, parse_floats, surface_from_args
from gradient_explorer.errors import UsageError
from gradient_explorer.state import LIGHTING_MODES, AppState, ViewOptions


def register(sub) -> None:
    parser = sub.add_parser(
        "render",
        help="render a PNG headless (no display needed)",
        description="Render the explorer's 3D view of a surface into a PNG, through EGL.",
    )
    add_surface_args(parser, required=False)
    add_session_arg(parser)
    add_view_args(parser)
    parser.add_argument("--out", required=True, metavar="FILE.png", help="where to save")
    parser.set_defaults(handler=run)


def add_session_arg(parser) -> None:
    parser.add_argument(
        "--session",
        metavar="FILE.json",
        help="start from a saved session (view options given here override it)",
    )


def add_view_args(parser) -> None:
    parser.add_argument("--size", default="1280x720", metavar="WxH", help="pixels (1280x720)")
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
    parser.add_argument("--point", metavar="X,Y", help="place the point (gradient, tangent plane)")
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


def state_from_args(args, allow_curves: bool = False) -> tuple[AppState, tuple[int, int]]:
    """The state and size the options describe: a surface (or ``--session``) and a view."""
    size = parse_size(args.size)
    if getattr(args, "session", None):
        return session_state(args, size), size
    if not (getattr(args, "surface", None) or getattr(args, "expr", None)):
        raise UsageError("give --surface NAME, --expr TEXT or --session FILE")
    surface = surface_from_args(args)
    if surface.dim != 2 and not allow_curves:
        raise UsageError("render draws height surfaces f(x, y); this is a curve in x")
    view = ViewOptions(
        lighting=args.lighting or "lit",
        floor=bool(args.floor or args.field),
        field=bool(args.field),
        normal_arrows=bool(args.normals),
        axes=not args.no_axes,
        grid=256 if args.grid is None else args.grid,
    )
    if args.contours is not None:
        view.contours = args.contours
    view.validate()
    if surface.dim == 1:  # the 1D view has no 3D camera to frame
        state = AppState(surface=surface, view=view, mode="curve")
    else:
        state = AppState.for_surface(surface, aspect=size[0] / size[1], view=view)
    _camera_and_point(args, state, size)
    return state, size


def session_state(args, size: tuple[int, int]) -> AppState:
    """Load ``--session``; the view options given on the command line override it."""
    from gradient_explorer.session import load_session

    for flag in ("surface", "expr", "domain", "display"):
        if getattr(args, flag, None):
            raise UsageError(f"--session holds the surface: drop --{flag}")
    if getattr(args, "param", None):
        raise UsageError("--session holds the surface and its parameters: drop --param")
    state = load_session(args.session, aspect=size[0] / size[1])
    view = state.view
    if args.lighting:
        view.lighting = args.lighting
    if args.contours is not None:
        view.contours = args.contours
    if args.floor or args.field:
        view.floor = True
    if args.field:
        view.field = True
    if args.normals:
        view.normal_arrows = True
    if args.no_axes:
        view.axes = False
    if args.grid is not None:
        view.grid = args.grid
    view.validate()
    _camera_and_point(args, state, size)
    return state


def _camera_and_point(args, state: AppState, size: tuple[int, int]) -> None:
    surface = state.surface
    if args.view:
        state.camera.preset(args.view, size[0] / size[1], snap=True)
    if args.camera:
        az, el, dist = parse_floats(args.camera, "--camera", (3,))
        if dist <= 0:
            raise UsageError(f"--camera distance must be positive, got {dist:g}")
        state.camera.set_state(
            {**state.camera.get_state(), "azimuth": az, "elevation": el, "distance": dist}
        )
    if args.point:
        if surface.dim != 2:
            raise UsageError("--point is for height surfaces f(x, y)")
        x, y = parse_floats(args.point, "--point", (2,))
        (x0, x1), (y0, y1) = surface.domain
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            raise UsageError(
                f"--point {x:g},{y:g} is outside the domain [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]"
            )
        state.point = (x, y)


def say_drawing_note(state: AppState) -> None:
    """What could not be drawn (heights past float32), in one line on stderr."""
    import sys

    from gradient_explorer.scene import drawing_note

    note = drawing_note(state.surface) if state.mode != "curve" else None
    if note:
        print(note, file=sys.stderr)


def run(args) -> int:
    from gradient_explorer.headless import render_image, save_png

    state, size = state_from_args(args)
    pixels = render_image(state, size)
    save_png(pixels, args.out)
    say_drawing_note(state)
    print(f"wrote {args.out} ({size[0]}x{size[1]}, {state.surface.name})")
    return 0
