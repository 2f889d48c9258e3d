"""Options shared by the subcommands: which surface, its parameters, where to write."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from gradient_explorer.cli.model_args import (
    add_model_args,
    check_model_flags,
    model_given,
    model_surface_from_args,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import give_plain_mode, write_atomic  # re-exported
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.surfaces.syntax import SYNTAX_HELP
from gradient_explorer.view.formatting import parse_floats

__all__ = [
    "add_command",
    "add_json_arg",
    "add_surface_args",
    "give_plain_mode",
    "parse_floats",
    "parse_params",
    "print_json",
    "surface_from_args",
    "write_atomic",
]


def add_command(
    sub, name: str, run: Callable[[argparse.Namespace], int], **kwargs
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (``kwargs`` as ``add_parser``'s: help,
    description), with ``run`` set as the handler :func:`gradient_explorer.cli.main` calls."""
    parser = sub.add_parser(name, **kwargs)
    parser.set_defaults(handler=run)
    return parser


def add_json_arg(parser: argparse.ArgumentParser, help: str = "print one JSON object") -> None:
    """``--json``: the command prints JSON (:func:`print_json`) instead of text."""
    parser.add_argument("--json", action="store_true", help=help)


def print_json(value, ensure_ascii: bool = True) -> None:
    """What a command prints with ``--json``: ``value`` indented by two spaces."""
    print(json.dumps(value, indent=2, ensure_ascii=ensure_ascii))


def add_surface_args(
    parser: argparse.ArgumentParser, required: bool = True, sampled: bool = True
) -> None:
    """--surface NAME | --expr TEXT (| --image FILE | --heights FILE.npy with --operator
    and --sigma, unless ``sampled`` is False), repeatable --param k=v, --domain, --display."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--surface", metavar="NAME", help="a catalogue entry (see `surfaces`)")
    group.add_argument(
        "--expr",
        metavar="TEXT",
        help='a typed expression, e.g. "x^2 - y^2" or "|x| + sin² y" (syntax below)',
    )
    if sampled:
        add_sampled_args(parser, group)
        add_model_args(parser, group)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter, e.g. --param a=2 (repeatable)",
    )
    parser.add_argument(
        "--domain",
        metavar="X0,X1[,Y0,Y1]",
        help="domain of a typed expression (default -3,3 for each variable)",
    )
    parser.add_argument(
        "--display",
        choices=("none", "log1p"),
        default=None,
        help="display transform of the height (log1p for steep surfaces)",
    )
    if parser.epilog is None:  # the typed syntax, kept as written (argparse would rewrap it)
        parser.epilog = SYNTAX_HELP
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def add_sampled_args(parser: argparse.ArgumentParser, group) -> None:
    # Lazy: the image layer loads Pillow and scipy, which the CLI's start does without.
    from gradient_explorer.surfaces.images import MAX_SIDE, SAMPLES
    from gradient_explorer.surfaces.operators import OPERATORS

    image_samples = ", ".join(k for k, (_, kind) in SAMPLES.items() if kind == "image")
    height_samples = ", ".join(k for k, (_, kind) in SAMPLES.items() if kind == "heights")
    group.add_argument(
        "--image",
        metavar="FILE",
        help="a photo (PNG, JPEG, TIFF; 8/16-bit, grey or colour) as a surface: height = "
        f"intensity in [0, 1]; or a bundled sample: {image_samples}. Over {MAX_SIDE} pixels "
        "a side it is shrunk to fit",
    )
    group.add_argument(
        "--heights",
        metavar="FILE.npy",
        help=f"an elevation map (a 2D .npy array, NaN = holes); or the sample {height_samples}",
    )
    parser.add_argument(
        "--operator",
        choices=tuple(OPERATORS),
        default=None,
        help="derivatives of --image/--heights: central differences, Sobel or Scharr, "
        "normalized so a ramp a*x + b*y gives (a, b) (default sobel)",
    )
    parser.add_argument(
        "--sigma",
        type=float,
        default=None,
        metavar="S",
        help="Gaussian smoothing of --image/--heights before differentiating, in pixels (0)",
    )


def refuse_surface_with_session(args: argparse.Namespace) -> None:
    """``--session`` holds the surface: any option that would make or change one is
    refused in one line rather than silently ignored."""
    for flag in ("surface", "expr", "image", "heights", "model", "operator", "sigma", "domain",
                 "display"):  # fmt: skip
        if getattr(args, flag, None):
            raise UsageError(f"--session holds the surface: drop --{flag}")
    if getattr(args, "param", None):
        raise UsageError("--session holds the surface and its parameters: drop --param")


def has_surface(args: argparse.Namespace) -> bool:
    """Whether the options name a surface (--surface, --expr, --image or --heights)."""
    return any(getattr(args, k, None) for k in ("surface", "expr", "image", "heights", "model"))


def parse_params(items: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param needs NAME=VALUE, got '{item}'")
        (values[name.strip()],) = parse_floats(value, f"--param {name.strip()}", (1,))
    return values


def surface_from_args(args: argparse.Namespace) -> Surface:
    """Build the surface named by --surface or typed with --expr, with --param values."""
    check_model_flags(args)
    if model_given(args):
        return model_surface_from_args(args)
    params = parse_params(getattr(args, "param", []) or [])
    display = getattr(args, "display", None)
    domain_text = getattr(args, "domain", None)
    image, heights = getattr(args, "image", None), getattr(args, "heights", None)
    operator, sigma = getattr(args, "operator", None), getattr(args, "sigma", None)
    if image or heights:
        flag = "--image" if image else "--heights"
        for given, name in ((params, "--param"), (domain_text, "--domain"), (display, "--display")):
            if given:
                raise UsageError(f"{name} applies to formulas; {flag} has no parameters or domain")
        return sampled_surface(image, heights, operator or "sobel", 0.0 if sigma is None else sigma)
    if operator is not None or sigma is not None:
        raise UsageError("--operator and --sigma apply to --image and --heights")
    if getattr(args, "surface", None):
        if domain_text:
            raise UsageError("--domain applies to --expr; catalogue surfaces have their own")
        surface = Surface.named(args.surface)
        return surface.with_params(**params)
    domain = None
    if domain_text:
        values = parse_floats(domain_text, "--domain", (2, 4))
        domain = tuple(zip(values[0::2], values[1::2], strict=True))
    surface = Surface.from_expr(args.expr, domain=domain, display=display or "none")
    return surface.with_params(**params)


def sampled_surface(image, heights, operator: str, sigma: float) -> Surface:
    """The surface of ``--image`` or ``--heights``: a file, or a bundled sample's name.
    A resampling is said on stderr."""
    # Lazy: the image layer loads Pillow and scipy, which the CLI's start does without.
    from gradient_explorer.surfaces.images import load_source
    from gradient_explorer.surfaces.operators import check_sigma

    check_sigma(sigma, "--sigma")
    kind = "image" if image else "heights"
    surface = load_source(image or heights, operator=operator, sigma=sigma, kind=kind)
    if surface.samples.note:
        print(f"gradient-explorer: note: {surface.samples.note}", file=sys.stderr)
    return surface
