"""A helper process of this package that serves pickled requests on its stdin/stdout.

The app keeps its frame loop free of heavy work by handing it to long-lived helpers:
deriving surfaces (:mod:`gradient_explorer.workers.build_worker`) and compiling their shaders
(:mod:`gradient_explorer.workers.shader_warmup`). A helper is started once, not forked per job:
forking the app's large process costs the next frame tens of milliseconds of
copy-on-write page faults. A request that takes too long is ended by killing the helper;
the next request starts a new one.

Messages are length-prefixed pickles between two processes of this package, never files
or network input.
"""

from __future__ import annotations

import functools
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable

from gradient_explorer.limits import lower_priority  # re-exported: the helpers' own

__all__ = ["HelperProcess", "lower_priority", "read_message", "serve", "write_message"]

_HEADER = struct.Struct("<Q")
#: A message larger than this is a broken pipe, not a message.
_MAX_MESSAGE = 256 * 1024 * 1024


def write_message(stream, message: dict) -> None:
    data = pickle.dumps(message)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream) -> dict | None:
    """The next message, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > _MAX_MESSAGE:
        raise ValueError("message too large")
    data = stream.read(size)
    if len(data) < size:
        return None
    message = pickle.loads(data)  # written by this package's other process, not a file
    return message if isinstance(message, dict) else None


class HelperProcess:
    """The parent's side: start a helper, send requests, read answers with a time limit.

    Not thread-safe by itself: its users serialise calls with a lock of their own.

    Parameters
    ----------
    command : list of str
        How to start it, e.g. ``[sys.executable, "-m", "gradient_explorer.workers.build_worker"]``.
    env : dict, optional
        Environment variables to set for it, on top of this process's.
    """

    def __init__(self, command: list[str], env: dict[str, str] | None = None):
        self.command = command
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.silence = "exited"  # why the last answer did not come

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, timeout: float) -> dict | None:
        """Start the helper and return its first message (its hello), or None.

        Raises
        ------
        OSError
            When the command cannot be started at all.
        """
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        hello = self.receive(timeout)
        if hello is None:
            self.stop()
        return hello

    def request(self, message: dict, timeout: float) -> dict | None:
        """Send ``message``; the answer, or None (then the helper is stopped)."""
        process = self.process
        try:
            write_message(process.stdin, message)
        except (OSError, ValueError):
            answer = None
        else:
            answer = self.receive(timeout)
        if answer is None:
            self.stop()
        return answer

    def receive(self, timeout: float) -> dict | None:
        """The next message, or None if the helper exits or is silent for ``timeout`` s."""
        process = self.process
        timed_out = threading.Event()

        def kill() -> None:  # a blocking read that a timer can end: kill closes stdout
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            message = read_message(process.stdout)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            message = None
        finally:
            timer.cancel()
        if message is None:
            self.silence = f"did not answer in {timeout:g} s" if timed_out.is_set() else "exited"
        return message

    def stop(self) -> None:
        """Close its pipes (it exits when its stdin ends) and reap it."""
        process, self.process = self.process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            process.wait(2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2.0)


def serve(hello: Callable[[], dict], handle: Callable[[dict], dict]) -> int:
    """The helper's side: send ``hello()``, then answer each request with ``handle``.

    ``hello`` may raise: its one-line reason is sent as ``{"ready": False, "error": ...}``.
    An exception in ``handle`` becomes ``{"ok": False, "error": ...}`` and the helper
    goes on. ``handle`` may also return ``(answer, then)``: ``then()`` runs after the
    answer is sent (work the parent need not wait for). It ends when its stdin does.
    """
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the answers
    try:  # at full priority: starved of the CPU by a busy window, imports took many seconds
        greeting = {"ready": True, **hello()}
    except Exception as exc:
        write_message(out, {"ready": False, "error": one_line(exc)})
        return 1
    lower_priority()
    write_message(out, greeting)
    try:
        while (request := read_message(inp)) is not None:
            then = None
            try:
                answer = handle(request)
                if isinstance(answer, tuple):
                    answer, then = answer
            except Exception as exc:  # one bad request must not end the helper
                answer = {"ok": False, "error": one_line(exc, with_type=True)}
            write_message(out, answer)
            if then is not None:
                try:
                    then()
                except Exception:  # nobody waits for it: at worst that work is redone
                    pass
            _release_free_memory()
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass
    return 0


@functools.cache
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _release_free_memory() -> None:
    """Hand freed heap back to the system (glibc keeps it otherwise): a helper that runs
    for hours keeps a resident size that follows what it holds, not what it once held."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def one_line(exc: BaseException, with_type: bool = False) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"{type(exc).__name__}: {text}" if with_type else text)[:300]
