"""The build pipeline: every surface and curve the app builds goes through here.

Typed expressions and curves, catalogue switches, session loads and "Try this" all
submit to one :class:`SurfaceCompiler`: a thread (the frame loop keeps drawing), the
build worker process (the app's large process is never forked), cancelling of a build
that a newer request replaces, and shader warm-up in a helper before the result is
installed. Installing the result in the app's state is the app's part
(:mod:`gradient_explorer.app.builds`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.workers.build_worker import BuildWorker
from gradient_explorer.workers.helper_process import one_line
from gradient_explorer.workers.shader_warmup import VISUALS, ShaderWarmer

__all__ = ["CANCEL_AFTER", "WORKER_TIMEOUT", "SurfaceCompiler"]


#: Seconds of wall time after which the build worker counts as hung. A build keeps its own
#: limit (a child of the worker, stopped after its CPU seconds); catalogue builds have none.
WORKER_TIMEOUT = 120.0


def _start_in_background(start) -> None:
    # Both helpers start at once; a build that comes first waits on the helper's lock.
    threading.Thread(target=start, name="helper-start", daemon=True).start()


#: Seconds after which a build still running is ended when a newer one is submitted.
CANCEL_AFTER = 1.0


class SurfaceCompiler:
    """Builds surfaces off the frame loop, one at a time; the latest request wins.

    ``Surface.from_expr`` derives in a forked child with a timeout; running it in a
    thread keeps the window drawing meanwhile. The app also sets helper processes: a
    ``worker`` that runs the builds (so that the app's own large process is never forked),
    and a ``warmer`` that compiles the new surface's shaders, so that installing it costs
    the frame a driver-cache load rather than a compile.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="surface")
        self._lock = threading.Lock()
        self._future: Future | None = None
        self._label = ""
        self._source = ""
        self.phase = ""  # what the build is doing now, for the status line
        self.warmer: ShaderWarmer | None = None
        self.worker: BuildWorker | None = None
        self._shown = None
        self._started: float | None = None  # when the running build began
        self._generation = 0  # of the latest request

    def submit(self, label: str, source: str, build, *args, **kwargs) -> None:
        """Start ``build(*args, **kwargs)``; ``source`` says which field asked (for errors).

        A build that has already run for :data:`CANCEL_AFTER` seconds in the worker is
        ended: its result would be replaced anyway, and a runaway expression must not
        keep its correction waiting for the time limit.
        """
        with self._lock:
            running = self._future is not None and not self._future.done()
            if running and self.worker is not None and self._started is not None:
                if time.monotonic() - self._started > CANCEL_AFTER:
                    self.worker.cancel()
            self._generation += 1
            generation = self._generation
            self._future = self._executor.submit(self._build, generation, build, args, kwargs)
            self._label, self._source = label, source

    def set_warmer(self, warmer: ShaderWarmer, shown=None) -> None:
        """Use ``warmer`` for the builds to come; its helper starts now, in the background.

        ``shown()`` names the visuals on screen (see ``ShaderWarmer.warm``); default all.
        """
        self.warmer, self._shown = warmer, shown
        _start_in_background(warmer.start)

    def set_worker(self, worker: BuildWorker) -> None:
        """Run the builds to come in ``worker``; it starts now, in the background."""
        self.worker = worker
        _start_in_background(worker.start)

    def _build(self, generation: int, build, args, kwargs):
        if generation != self._generation:
            return None  # a newer request came while this one queued: nobody wants it
        self.phase = "deriving"
        if self.worker is not None:
            self._started = time.monotonic()  # from now on a newer build may end this one
            try:
                surface = self.worker.call(WORKER_TIMEOUT, build, *args, **kwargs)
            finally:
                self._started = None
        else:
            surface = build(*args, **kwargs)
        warmer = self.warmer
        if warmer is not None and warmer.enabled:
            self.phase = "compiling shaders"
            shown = self._shown() if self._shown is not None else VISUALS
            # never raises: at worst the frame compiles them (a session: its surface's)
            target = surface if isinstance(surface, Surface) else getattr(surface, "surface", None)
            if target is not None:
                warmer.warm(target, shown)
        return surface

    @property
    def busy(self) -> bool:
        """True while a build is running."""
        return self._future is not None and not self._future.done()

    @property
    def pending(self) -> bool:
        """True while a build runs or its result waits to be installed."""
        return self._future is not None

    @property
    def ready(self) -> bool:
        """True when a finished build waits to be installed (by the next frame)."""
        future = self._future
        return future is not None and future.done()

    @property
    def label(self) -> str:
        return self._label

    @property
    def source(self) -> str:
        """Which field asked for the latest build ("expression", "curve", ...)."""
        return self._source

    def poll(self) -> tuple[str, Surface | None, str | None] | None:
        """``(source, surface, None)`` or ``(source, None, error)`` once done, else None."""
        with self._lock:
            future = self._future
            if future is None or not future.done():
                return None
            self._future = None
        try:
            return self._source, future.result(), None
        except GradientExplorerError as exc:
            return self._source, None, str(exc)
        except Exception as exc:  # a surprise in the numerics must not end the app
            what = "session not loaded" if self._source == "session" else "could not build this"
            return self._source, None, f"{what} ({one_line(exc, with_type=True)})"

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the current build is done (tests, scripted use)."""
        future = self._future
        if future is None:
            return True
        try:
            future.exception(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        for helper in (self.warmer, self.worker):
            if helper is not None:
                helper.close()
