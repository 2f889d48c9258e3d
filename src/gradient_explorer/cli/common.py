"""Options shared by the subcommands: which surface, its parameters, where to write."""

from __future__ import annotations

import argparse

from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import give_plain_mode, write_atomic  # re-exported
from gradient_explorer.surfaces.expressions import SYNTAX_HELP
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.formatting import parse_floats

__all__ = [
    "add_surface_args",
    "give_plain_mode",
    "parse_floats",
    "parse_params",
    "surface_from_args",
    "write_atomic",
]


def add_surface_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--surface NAME | --expr TEXT, repeatable --param k=v, --domain, --display."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--surface", metavar="NAME", help="a catalogue entry (see `surfaces`)")
    group.add_argument(
        "--expr",
        metavar="TEXT",
        help='a typed expression, e.g. "x^2 - y^2" or "|x| + sin² y" (syntax below)',
    )
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
    params = parse_params(getattr(args, "param", []) or [])
    display = getattr(args, "display", None)
    domain_text = getattr(args, "domain", None)
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
