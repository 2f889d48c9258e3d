"""Build surfaces in a long-lived helper process: parse, derive, sample, pickle back.

``Surface.from_expr`` on its own forks a child per build, so that a derivation that runs
away can be killed. That suits the CLI and the API; in the app, forking its large process
costs the next frame tens of milliseconds of copy-on-write page faults, and a derivation in
a thread would hold the GIL the frame loop needs. The app therefore keeps one worker
process (started with it, at ``nice 10``) and sends it each build; a build that runs past
its time limit is ended by killing the worker, and the next build starts a new one.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

# The worker builds surfaces: sympy and numpy load with it, not on the first build.
import gradient_explorer.surfaces.surface  # noqa: F401
from gradient_explorer.errors import ExpressionError, GradientExplorerError
from gradient_explorer.workers.helper_process import HelperProcess, serve

__all__ = ["BuildWorker", "main"]

#: Seconds the worker may take to start (it imports sympy and numpy).
START_TIMEOUT = 60.0


class BuildWorker:
    """The parent's side. :meth:`call` blocks (call it from a worker thread).

    Parameters
    ----------
    command : list of str, optional
        How to start the worker (default: this module, with this Python).
    """

    def __init__(self, command: list[str] | None = None):
        self._helper = HelperProcess(
            command or [sys.executable, "-m", "gradient_explorer.workers.build_worker"]
        )
        self._lock = threading.Lock()
        self.unavailable = ""  # why builds run in this process instead, once they do

    def start(self) -> bool:
        """Start the worker now (it otherwise starts with the first :meth:`call`)."""
        with self._lock:
            return self._start()

    def _start(self) -> bool:
        if self._helper.running:
            return True
        try:
            hello = self._helper.start(START_TIMEOUT)
        except OSError as exc:
            self.unavailable = f"cannot start the build worker ({exc.strerror or exc})"
            return False
        if hello is None or not hello.get("ready"):
            why = hello.get("error", "") if hello else self._helper.silence
            self._helper.stop()
            self.unavailable = f"the build worker did not start ({why})"
            return False
        self.unavailable = ""
        return True

    def call(self, timeout: float, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``build(*args, **kwargs)`` in the worker, stopped after ``timeout`` seconds.

        ``build`` and its arguments travel by pickle (a function of this package, plain
        values). The project's own errors come back as themselves. When no worker can be
        started, ``build`` runs here.

        Raises
        ------
        ExpressionError
            When the build takes longer than ``timeout`` or the worker dies on it.
        """
        with self._lock:
            if not self._start():
                return build(*args, **kwargs)
            answer = self._helper.request({"call": (build, args, kwargs)}, timeout)
        if answer is None:
            if self._helper.silence.startswith("did not answer"):
                raise ExpressionError(
                    f"derivatives took longer than {timeout:g} s: simplify the expression"
                )
            raise ExpressionError("deriving this expression failed: simplify it")
        if answer.get("ok"):
            return answer["result"]
        error_type = answer.get("error_type", ExpressionError)
        raise error_type(answer.get("error", "could not build this surface"))

    def cancel(self) -> None:
        """End the build in progress (from another thread): its :meth:`call` raises
        :class:`ExpressionError`, and the next call starts a new worker."""
        process = self._helper.process
        if process is not None:
            process.kill()

    def close(self) -> None:
        """Stop the worker (it also exits by itself when this process goes)."""
        with self._lock:
            self._helper.stop()


def _hello() -> dict:
    # Nothing to do: sympy and numpy (the Surface module, imported above) are loaded
    # when the worker starts, before the first build.
    return {}


def _handle(request: dict) -> dict:
    build, args, kwargs = request["call"]
    try:
        return {"ok": True, "result": build(*args, **kwargs)}
    except GradientExplorerError as exc:
        return {"ok": False, "error_type": type(exc), "error": str(exc)}
    except Exception as exc:  # reported to the app as one line
        reason = f"could not derive this expression ({type(exc).__name__})"
        return {"ok": False, "error_type": ExpressionError, "error": reason}


def main() -> int:
    """The worker: build whatever is sent on stdin, answer on stdout."""
    return serve(_hello, _handle)


if __name__ == "__main__":
    sys.exit(main())
