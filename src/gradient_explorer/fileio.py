"""Writing files safely: atomic replacement with the mode a plain ``open()`` would give.

Below every layer (like errors.py): the session, the headless renderer, the recorder and
the API all write files this way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradient_explorer.errors import UsageError

__all__ = ["give_plain_mode", "write_atomic"]


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
