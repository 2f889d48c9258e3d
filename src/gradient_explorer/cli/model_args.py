"""``--model line|logistic|mlp --data FILE|NAME [--batch-size B] [--seed S]``: a model's
loss as the surface, for probe, descend, render, record and the app.

The surface's x and y are the model's two coordinates: ``(w, b)`` for line and logistic;
for the MLP ``(α, β)`` on a filter-normalized plane through its trained weights, or two
weights picked with ``--weights``.
"""

from __future__ import annotations

import argparse

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.minibatch import check_batch_size, check_seed

MODEL_FLAGS = ("data", "batch_size", "inputs", "hidden", "activation", "directions", "weights")


def add_model_args(parser: argparse.ArgumentParser, group) -> None:
    """Add ``--model`` to the surface group and the model's options to ``parser``."""
    from gradient_explorer.surfaces.datasets import BUNDLED

    group.add_argument(
        "--model",
        choices=("line", "logistic", "mlp"),
        help="a model's loss on data as the surface: line (MSE over w, b), logistic (BCE "
        "over w, b), mlp (BCE over a filter-normalized plane through trained weights)",
    )
    models = parser.add_argument_group("model surfaces (--model)")
    models.add_argument(
        "--data",
        metavar="FILE|NAME",
        help="CSV with a header (x,y for line; x,label for logistic; x1,x2,label for mlp) "
        f"or a bundled set: {', '.join(f'{k} ({v})' for k, v in BUNDLED.items())}; "
        "default: the model's bundled set",
    )
    models.add_argument(
        "--batch-size",
        type=checked_int(lambda size: check_batch_size(size, None)),
        metavar="B",
        help="each ball's gradient from shuffled mini-batches of B (default: the whole set)",
    )
    if not any("--seed" in a.option_strings for a in parser._actions):
        models.add_argument(
            "--seed",
            type=checked_int(check_seed),
            default=0,
            metavar="S",
            help="seed of the mini-batch shuffles (and of a swarm's spread) (0)",
        )
    models.add_argument(
        "--inputs",
        choices=("raw", "centred", "standardized"),
        help="centre or standardize the inputs first (a rounder bowl; default raw)",
    )
    models.add_argument("--hidden", type=int, metavar="H", help="mlp: hidden units (16)")
    models.add_argument("--activation", choices=("tanh", "relu"), help="mlp: activation (tanh)")
    models.add_argument(
        "--directions",
        choices=("filter", "random"),
        help="mlp: the plane's directions, filter-normalized (Li et al. 2018) or raw random",
    )
    models.add_argument(
        "--weights",
        nargs=2,
        metavar=("W1", "W2"),
        help="mlp: two weights as the axes instead of a plane, e.g. 'w1[0,1]' b2 "
        "(names w1[UNIT,INPUT], b1[UNIT], w2[UNIT], b2)",
    )


def checked_int(check):
    """An argparse type: a whole number checked by ``check`` (the API's own check, so its
    one message), else argparse's one line naming the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = text  # not a whole number: the check refuses it in its words
        try:
            return check(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def model_given(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "model", None))


def check_model_flags(args: argparse.Namespace) -> None:
    """Refuse model options without ``--model`` (one line)."""
    if model_given(args):
        return
    for name in MODEL_FLAGS:
        if getattr(args, name, None) is not None:
            raise UsageError(f"--{name.replace('_', '-')} applies to --model")


def model_surface_from_args(args: argparse.Namespace):
    """The :class:`~gradient_explorer.surfaces.model_surface.ModelSurface` of the flags."""
    from gradient_explorer.surfaces.model_surface import from_model

    for flag, name in (("param", "--param"), ("domain", "--domain"), ("display", "--display")):
        if getattr(args, flag, None):
            raise UsageError(f"{name} applies to formulas; --model has its own coordinates")
    if args.model != "mlp":
        for name in ("hidden", "activation", "directions", "weights"):
            if getattr(args, name, None) is not None:
                raise UsageError(f"--{name} applies to --model mlp")
    options = {}
    if args.model == "mlp":
        for name in ("hidden", "activation", "directions"):
            if getattr(args, name, None) is not None:
                options[name] = getattr(args, name)
        if args.weights:
            options["weights"] = tuple(args.weights)
    seed = getattr(args, "seed", 0)
    seed = 0 if seed is None else seed
    return from_model(
        args.model,
        args.data,
        batch_size=args.batch_size,
        seed=seed,
        inputs=args.inputs or "raw",
        **options,
    )
