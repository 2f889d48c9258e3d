"""The project's own errors: each carries one line that tells the user what to do."""

from collections.abc import Mapping
from typing import Any


class GradientExplorerError(Exception):
    """Base class: the message is one line, shown to the user as it is."""


class ExpressionError(GradientExplorerError, ValueError):
    """A typed expression was refused (syntax, unknown name, too large, too slow)."""


class UsageError(GradientExplorerError, ValueError):
    """A command-line or API argument is out of range or malformed."""


class SessionError(UsageError):
    """A session file was refused (unreadable, malformed, out of range); nothing changed."""


def check_state_keys(where: str, given: Any, required, optional=()) -> None:
    """What every ``load_state_dict`` checks first: ``given`` is a mapping with all the
    ``required`` keys and no key beyond ``optional`` (a typo is refused, not ignored).
    Raises :class:`UsageError` naming ``where`` and the key."""
    if not isinstance(given, Mapping):
        raise UsageError(f"{where} must be a mapping, got {type(given).__name__}")
    unknown = sorted(str(k) for k in set(given) - set(required) - set(optional))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}")
    missing = [k for k in required if k not in given]
    if missing:
        raise UsageError(f"{where}: missing key {missing[0]!r}")
