"""Command-line interface: ``gradient-explorer <command> ...``.

Each subcommand lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``handler``. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from gradient_explorer import __version__
from gradient_explorer.errors import GradientExplorerError

# Modules under gradient_explorer.cli that each add one subcommand.
COMMANDS = ("surfaces", "probe", "backprop", "render", "descend", "record", "attack", "app")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2, like every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradient-explorer",
        description="Make derivatives and gradients visible: a real-time 3D explorer.",
        epilog="Typed expressions (--expr) take what you would type into Desmos or paste: "
        "|x| + |y|, x² + y², x·y, sin^2(x), sin x, e^{-x}, max, relu, sigmoid ... "
        "`gradient-explorer probe --help` lists the syntax.",
    )
    parser.add_argument("--version", action="version", version=f"gradient-explorer {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gradient_explorer.cli.{name}")
        except ModuleNotFoundError as exc:  # a command still being written is simply absent
            if exc.name != f"gradient_explorer.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


_NEGATIVE_NUMBER = re.compile(r"^-(\d|\.\d)")


def join_negative_values(argv: list[str]) -> list[str]:
    """``--at -1,0`` means ``--at=-1,0``: argparse would take -1,0 for an option."""
    out: list[str] = []
    for token in argv:
        after_option = out and out[-1].startswith("--") and "=" not in out[-1]
        if after_option and _NEGATIVE_NUMBER.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = join_negative_values(list(sys.argv[1:] if argv is None else argv))
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        if "app" in sub_names(parser):
            argv = ["app", *argv]
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except GradientExplorerError as exc:
        print(f"gradient-explorer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gradient-explorer surfaces | head` is fine
        sys.stderr.close()
        return 0


def sub_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
