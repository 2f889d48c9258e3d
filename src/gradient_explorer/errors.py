"""The project's own errors: each carries one line that tells the user what to do."""


class GradientExplorerError(Exception):
    """Base class: the message is one line, shown to the user as it is."""


class ExpressionError(GradientExplorerError, ValueError):
    """A typed expression was refused (syntax, unknown name, too large, too slow)."""


class UsageError(GradientExplorerError, ValueError):
    """A command-line or API argument is out of range or malformed."""


class SessionError(UsageError):
    """A session file was refused (unreadable, malformed, out of range); nothing changed."""
