"""``gradient-explorer record``: an MP4 or GIF of the explorer, rendered headless.

The camera can orbit, a race or a swarm of balls can roll, and the 1D mode's tangent
can sweep; see :mod:`gradient_explorer.render.recording`.
"""

from __future__ import annotations

import sys

from gradient_explorer.app.curve_mode import active_curve
from gradient_explorer.app.descent_mode import MAX_SWARM
from gradient_explorer.cli.common import add_command, add_surface_args, parse_floats
from gradient_explorer.cli.render import (
    add_session_arg,
    add_view_args,
    say_drawing_note,
    state_from_args,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.surfaces import fastcode


def register(sub) -> None:
    parser = add_command(
        sub,
        "record",
        run,
        help="record an MP4 or GIF headless (orbit, descent race or swarm, 1D sweep)",
        description=(
            "Record the explorer's view frame by frame into an MP4 (H.264) or a GIF. "
            "Example: gradient-explorer record --surface banana --orbit --descent adam sgd "
            "--frames 120 --out banana.mp4"
        ),
    )
    add_surface_args(parser, required=False)
    add_session_arg(parser)
    add_view_args(parser)
    parser.add_argument("--out", required=True, metavar="FILE.mp4|FILE.gif", help="the video")
    parser.add_argument("--frames", type=int, required=True, metavar="N", help="frame count")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second (30)")
    parser.add_argument("--orbit", action="store_true", help="turn the camera 360 degrees")
    parser.add_argument(
        "--descent",
        nargs="+",
        metavar="OPT",
        help="race these optimizers from --start (e.g. adam sgd rmsprop)",
    )
    parser.add_argument(
        "--swarm", type=int, metavar="N", help="N balls spread over the domain instead"
    )
    parser.add_argument(
        "--start",
        metavar="X,Y",
        help="where the race starts (default: the surface's teaching start)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        help="learning rate for every optimizer used (default: each one's teaching lr)",
    )
    parser.add_argument(
        "--steps-per-frame", type=int, default=1, metavar="K", help="descent steps a frame (1)"
    )
    # --seed (the swarm's spread and the mini-batches) comes with the surface options
    parser.add_argument("--sweep", action="store_true", help="record the 1D mode's tangent sweep")
    parser.add_argument(
        "--no-plot",
        action="store_true",
        help="leave out the f-against-step plot a descent recording shows, bottom right",
    )


#: Ball-steps of a recording from which the compiled engine may pay for its first
#: compile (1.5 s cold for Descent.step's kernels) by the steps it makes faster (about
#: 23 ns a ball-step at 10k balls: 2.3 s here); below, numpy.
ENGINE_MIN_BALL_STEPS = 100_000_000


def choose_engine(state, frames: int, steps_per_frame: int) -> None:
    """The numpy path for a recording whose descent is small (same bits; see
    :func:`~gradient_explorer.surfaces.fastcode.numpy_unless_chosen`): the engine would
    pause it for a compile worth more than it saves. Large swarms run for many steps
    keep the engine's automatic choice."""
    balls = sum(d.n for d in state.descent.descents) if state.descent.active else 0
    if balls * frames * steps_per_frame < ENGINE_MIN_BALL_STEPS:
        fastcode.numpy_unless_chosen()


def say_diverged(state) -> None:
    """One line on stderr naming the runs that diverged: the video shows it on the ball's
    label, but a script reading the output would otherwise never know."""
    from gradient_explorer.optim.descent import DIVERGED  # see the top

    ds = state.descent
    parts = []
    for name, d in zip(ds.names, ds.descents, strict=False) if ds.active else ():
        gone = d.status_codes == DIVERGED
        if d.n == 1 and gone[0]:
            parts.append(f"{name} diverged at step {int(d.stopped_at[0])}")
        elif gone.any():
            parts.append(f"{int(gone.sum())} of {d.n} {name} balls diverged")
    if parts:
        print(f"gradient-explorer: note: {'; '.join(parts)}", file=sys.stderr)


def setup_descent(state, args) -> None:
    """Start the race (``--descent``) or the swarm (``--swarm``) the options ask for."""
    ds = state.descent
    names = [n.lower() for n in (args.descent or [])]
    for name in names:
        if name not in OPTIMIZERS:
            raise UsageError(f"unknown optimizer '{name}'; choose from {', '.join(OPTIMIZERS)}")
    if args.lr is not None:
        for name in names or [ds.optimizer]:
            error = ds.set_hyper(name, "lr", args.lr)
            if error:
                raise UsageError(error)
    surface = state.surface
    if args.swarm is not None:
        if not 1 <= args.swarm <= MAX_SWARM:
            raise UsageError(f"--swarm must be between 1 and {MAX_SWARM}, got {args.swarm}")
        if len(names) > 1:
            raise UsageError("a swarm uses one optimizer: give one name to --descent")
        ds.kind, ds.swarm_size, ds.seed = "swarm", args.swarm, args.seed
        if names:
            ds.optimizer = names[0]
        ds.start_run(surface)
    elif names:
        # without --start: the surface's teaching start (a session's start, if it has one)
        start = parse_floats(args.start, "--start", (surface.dim,)) if args.start else None
        if len(names) == 1:
            ds.kind, ds.optimizer = "single", names[0]
        else:
            ds.kind, ds.race = "race", names
        ds.start_run(surface, start)
    elif args.start:
        raise UsageError("--start needs --descent")
    if ds.active:
        ds.playing = True


def setup_sweep(state, args, frames: int, fps: float, from_session: bool) -> None:
    """The 1D mode: the slice through the point (a curve itself), once there and back."""
    state.mode = "curve"
    cs = state.curve
    if not from_session:
        cs.source = "slice"  # a curve shows itself; a surface its cut through the point
        cs.wrap = False
        (lo, hi) = active_curve(state).domain[0]
        # One round trip over the recording, so it loops. Starting a quarter frame in
        # keeps the frames on the way back from landing on those on the way out (a GIF
        # merges two identical frames into one).
        cs.speed = 2.0 / (frames / fps)
        cs.x, cs.sweep_direction = lo + 0.5 * (hi - lo) / frames, 1
    cs.playing = True
    state.playing = True


def run(args) -> int:
    # GL loads only for the commands that draw: the CLI starts fast.
    from gradient_explorer.render.recording import progress_printer, record

    if args.frames is None or not 1 <= args.frames <= 100_000:
        raise UsageError(f"--frames must be between 1 and 100000, got {args.frames}")
    if not 1 <= args.fps <= 240:
        raise UsageError(f"--fps must be between 1 and 240, got {args.fps:g}")
    if not 0 <= args.steps_per_frame <= 10_000:
        raise UsageError(f"--steps-per-frame must be 0..10000, got {args.steps_per_frame}")
    if not str(args.out).lower().endswith((".mp4", ".gif")):
        raise UsageError(f"--out must end in .mp4 or .gif, got '{args.out}'")
    state, size = state_from_args(args)
    setup_descent(state, args)
    choose_engine(state, args.frames, args.steps_per_frame)
    if state.descent.kind == "swarm" and state.descent.active and not state.view.floor:
        # the basins of attraction are painted on the floor map: show it, in the frame
        state.view.floor = True
        if not (args.session or getattr(args, "camera", None) or getattr(args, "view", None)):
            state.frame_camera(size[0] / size[1])
    if args.sweep:
        setup_sweep(state, args, args.frames, args.fps, bool(args.session))
    elif state.surface.dim == 1:
        state.mode = "curve"
    path = record(
        state,
        args.out,
        args.frames,
        args.fps,
        size,
        orbit=args.orbit,
        steps_per_frame=args.steps_per_frame,
        sweep=args.sweep,
        progress=progress_printer(sys.stderr),
        plot=not args.no_plot,
    )
    w, h = size if path.suffix.lower() == ".gif" else (size[0] - size[0] % 2, size[1] - size[1] % 2)
    say_drawing_note(state, size)
    say_diverged(state)
    print(f"wrote {path} ({args.frames} frames, {w}x{h}, {args.fps:g} fps)")
    return 0
