"""Options shared by the subcommands: which surface, its parameters, where to write."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.surfaces.syntax import SYNTAX_HELP


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


def parse_floats(text: str, what: str, counts: tuple[int, ...]) -> tuple[float, ...]:
    """'1,2' -> (1.0, 2.0), with a one-line error naming ``what``."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise UsageError(f"{what} must be numbers separated by commas, got '{text}'") from None
    if len(values) not in counts:
        expected = " or ".join(str(c) for c in counts)
        noun = "number" if counts == (1,) else "numbers"
        raise UsageError(f"{what} needs {expected} {noun}, got {len(values)} in '{text}'")
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{what} must be finite numbers, got '{text}'")
    return values


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


def give_plain_mode(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Give a temporary file (``mkstemp`` makes it private, 0600) the mode that ``target``
    has, or that a plain ``open()`` would give it, before it is renamed over ``target``."""
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write a file so that a crash never leaves it half written.

    A temporary file in the same folder is written, flushed and fsynced, then renamed
    over the target (atomic on POSIX and Windows).
    """
    target = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    try:
        give_plain_mode(tmp, target)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
