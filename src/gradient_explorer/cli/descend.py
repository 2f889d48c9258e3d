"""``gradient-explorer descend``: roll one ball and print its path as CSV or JSON."""

from __future__ import annotations

import argparse
import sys

from gradient_explorer.cli.common import (
    add_command,
    add_surface_args,
    parse_floats,
    surface_from_args,
    write_atomic,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.optim.descent import DEFAULT_FAR, DEFAULT_TOL, descend
from gradient_explorer.optim.optimizers import OPTIMIZERS
from gradient_explorer.optim.schedules import SCHEDULE_HELP, parse_schedule

# (flag, hyperparameter, kind): kind is "float", "bool", "pair" or "eps"
_HYPER_FLAGS = (
    ("--lr", "lr", "float"),
    ("--momentum", "momentum", "float"),
    ("--dampening", "dampening", "float"),
    ("--nesterov", "nesterov", "bool"),
    ("--betas", "betas", "pair"),
    ("--eps", "eps", "eps"),
    ("--weight-decay", "weight_decay", "float"),
    ("--alpha", "alpha", "float"),
    ("--centered", "centered", "bool"),
    ("--amsgrad", "amsgrad", "bool"),
    ("--lr-decay", "lr_decay", "float"),
    ("--initial-accumulator-value", "initial_accumulator_value", "float"),
    ("--momentum-decay", "momentum_decay", "float"),
    ("--decoupled-weight-decay", "decoupled_weight_decay", "bool"),
    ("--beta2-decay", "beta2_decay", "float"),
    ("--d", "d", "float"),
    ("--damping", "damping", "float"),
    ("--maximize", "maximize", "bool"),
)


def register(sub) -> None:
    parser = add_command(
        sub,
        "descend",
        run,
        help="roll a ball downhill with an optimizer; print its path as CSV or JSON",
        description="Roll one ball from --start with an optimizer that follows torch.optim "
        "and print every step (x, y, f, gradient). Write negative numbers with '=', "
        "e.g. --start=-1.5,2.",
    )
    add_surface_args(parser)
    parser.add_argument(
        "--optimizer",
        required=True,
        type=str.lower,
        choices=tuple(OPTIMIZERS),
        metavar="NAME",
        help=f"one of: {', '.join(OPTIMIZERS)}",
    )
    parser.add_argument(
        "--start", metavar="X[,Y]", help="where the ball starts (required without --teaching)"
    )
    parser.add_argument(
        "--teaching",
        action="store_true",
        help="start from the surface's teaching start with the optimizer's teaching lr "
        "(and momentum); --start and hyperparameter flags still override",
    )
    parser.add_argument("--steps", required=True, type=int, metavar="N", help="at most N steps")
    parser.add_argument(
        "--tol",
        type=float,
        default=DEFAULT_TOL,
        metavar="T",
        help=f"stop when the gradient length is under T (default {DEFAULT_TOL:g})",
    )
    parser.add_argument(
        "--schedule",
        metavar="SPEC",
        help=f"learning-rate schedule as torch.optim.lr_scheduler's: {SCHEDULE_HELP}",
    )
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--out", metavar="FILE", help="write here (atomically), not stdout")
    hyper = parser.add_argument_group(
        "hyperparameters",
        "torch.optim's names and defaults (the surface's teaching lr with --teaching); "
        "only those of --optimizer apply",
    )
    for flag, name, kind in _HYPER_FLAGS:
        dest = f"hp_{name}"
        if kind == "bool":
            hyper.add_argument(flag, dest=dest, action="store_true", default=None)
        elif kind == "pair":
            hyper.add_argument(flag, dest=dest, metavar="B1,B2")
        elif kind == "eps":
            hyper.add_argument(flag, dest=dest, metavar="EPS", help="adafactor: EPS2 or EPS1,EPS2")
        else:
            hyper.add_argument(flag, dest=dest, metavar="X")


def hyper_from_args(args: argparse.Namespace) -> dict:
    """The hyperparameters given on the command line, checked against the optimizer."""
    spec = OPTIMIZERS[args.optimizer]
    allowed = set(spec.defaults)
    out: dict = {}
    for flag, name, kind in _HYPER_FLAGS:
        value = getattr(args, f"hp_{name}", None)
        if value is None:
            continue
        if name not in allowed:
            raise UsageError(
                f"{flag} does not apply to {spec.name} (its hyperparameters: "
                f"{', '.join(spec.defaults)})"
            )
        if kind == "bool":
            out[name] = True
        elif kind == "pair":
            out[name] = parse_floats(value, flag, (2,))
        elif kind == "eps" and spec.name == "adafactor":
            parts = [p.strip() for p in value.split(",")]
            if len(parts) == 2 and parts[0].lower() == "none":
                out[name] = (None, *parse_floats(parts[1], flag, (1,)))
            else:
                values = parse_floats(value, flag, (1, 2))
                out[name] = (None, values[0]) if len(values) == 1 else values
        else:
            (out[name],) = parse_floats(value, flag, (1,))
    return out


def run(args: argparse.Namespace) -> int:
    surface = surface_from_args(args)
    if args.start is not None:
        start = parse_floats(args.start, "--start", (surface.dim,))
    elif args.teaching:
        start = None  # the surface's teaching start
    else:
        raise UsageError("--start is required (or --teaching for the surface's teaching start)")
    if args.steps < 0:
        raise UsageError(f"--steps must be >= 0, got {args.steps}")
    if not args.tol >= 0:
        raise UsageError(f"--tol must be >= 0, got {args.tol}")
    hyper = hyper_from_args(args)
    if args.schedule is not None:
        parse_schedule(args.schedule)  # a bad spec fails before any work
    # without --teaching (and --lr), torch.optim's defaults: parity with torch stays exact
    traj = descend(
        surface,
        args.optimizer,
        start,
        args.steps,
        tol=args.tol,
        teaching=args.teaching,
        schedule=args.schedule,
        **hyper,
    )
    text = traj.to_json() + "\n" if args.format == "json" else traj.to_csv()
    if args.out:
        write_atomic(args.out, text)
        why = f" ({diverged_why(traj)})" if traj.status == "diverged" else ""
        print(f"{traj.status} at step {traj.end_step}{why}; wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        if traj.status == "diverged" and args.format != "json":
            # CSV has no status column: without this line a diverged run reads as a
            # finished one that just stopped (JSON says "status": "diverged" itself)
            sys.stdout.flush()
            print(
                f"gradient-explorer: note: diverged at step {traj.end_step}: {diverged_why(traj)}",
                file=sys.stderr,
            )
    return 0


def diverged_why(traj) -> str:
    """Why the rows of a diverged run stop where they do, for one line on stderr."""
    last = traj.end_step - 1
    return (
        f"that step made f or the gradient NaN or infinite, or threw the ball more than "
        f"{DEFAULT_FAR:g} domain widths from its centre; the rows stop at step {last}, the last "
        "finite point"
    )
