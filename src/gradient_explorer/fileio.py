"""Writing files safely: atomic replacement with the mode a plain ``open()`` would give.

Below every layer (like errors.py): the session, the headless renderer, the recorder and
the API all write files this way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradient_explorer.errors import UsageError

__all__ = ["give_plain_mode", "write_atomic", "write_cache"]


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


def write_cache(path: str | os.PathLike, data: bytes | str) -> bool:
    """Write a cache entry atomically, making its folder; False (nothing written, no
    temporary file left) where that is not possible: a cache that cannot be written is
    not an error, the work is only done again next time."""
    target = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
