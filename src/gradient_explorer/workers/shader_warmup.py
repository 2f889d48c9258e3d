"""Compile a new surface's shaders in a helper process, before it goes on screen.

A surface's programs (surface, floor, gradient field, normal arrows) embed its generated
GLSL, so every new surface means new programs. Drivers turn GLSL into machine code late
(Mesa's llvmpipe at the first draw, up to 400 ms for a large expression) and keep the
result in an on-disk cache keyed by the shader text and the draw state (Mesa:
``~/.cache/mesa_shader_cache``; NVIDIA: its GL shader cache). moderngl holds the GIL through
every GL call, so compiling on a thread would stall the frame loop as surely as compiling
on it. Instead a helper process with a context of its own draws the new surface once,
off-screen, the driver stores the programs, and the window's own compile is then a cache
load (tens of milliseconds instead of hundreds).

The helper is started once and serves requests over its stdin/stdout; requests and answers
are pickles between two processes of this package. Everything here is an optimisation:
when the helper cannot start, runs a different driver from the window's, or fails on a
request, the surface is still installed and compiled on the frame thread as before.
"""

from __future__ import annotations

import pickle
import sys
import threading
import time
from dataclasses import dataclass

import moderngl

from gradient_explorer.app.state import AppState
from gradient_explorer.render.gl import REQUIRED_GL, check_version
from gradient_explorer.render.scene import SceneRenderer
from gradient_explorer.workers.helper_process import HelperProcess, serve

__all__ = ["VISUALS", "ShaderWarmer", "TargetFormat", "WarmResult", "main"]

#: The visuals whose programs embed the surface's GLSL (``ViewOptions`` flags).
VISUALS = ("floor", "field", "normal_arrows")
#: Helper failures in a row after which warming is given up for this app.
MAX_FAILURES = 3


@dataclass(frozen=True)
class TargetFormat:
    """What the driver's compiled code depends on besides the program: the target's format.

    llvmpipe, for one, compiles a fragment shader per colour format and sample count.
    """

    components: int = 4
    dtype: str = "f1"
    samples: int = 0

    @classmethod
    def of(cls, fbo, samples: int = 0) -> TargetFormat:
        """The format of ``fbo``'s first colour attachment (a window's default framebuffer
        has none that moderngl can see: then RGBA8 with ``samples``)."""
        attachments = getattr(fbo, "color_attachments", ()) or ()
        if not attachments:
            return cls(samples=int(samples))
        color = attachments[0]
        return cls(
            components=int(getattr(color, "components", 4)),
            dtype=str(getattr(color, "dtype", "f1")),
            samples=int(getattr(color, "samples", samples)),
        )


@dataclass(frozen=True)
class WarmResult:
    """How one warm-up went: ``ok``, seconds in the helper, or why it was skipped."""

    ok: bool
    seconds: float = 0.0
    reason: str = ""


class ShaderWarmer:
    """The helper process that compiles surfaces' programs ahead of the window.

    Call :meth:`warm` from a worker thread (it blocks until the helper has drawn the
    surface, or ``timeout`` seconds); it never raises. The helper starts on first use.

    Parameters
    ----------
    renderer : str
        The window's ``GL_RENDERER``: a helper that gets another driver (a different GPU,
        or software rendering) would fill the wrong cache, so warming is then switched off.
    target : TargetFormat
        The format of the framebuffer the window draws into.
    timeout : float
        Seconds a request may take before the helper is stopped.
    command : list of str, optional
        How to start the helper (default: this module, with this Python).
    """

    def __init__(
        self,
        renderer: str,
        target: TargetFormat,
        timeout: float = 30.0,
        command: list[str] | None = None,
    ):
        self.renderer = renderer
        self.target = target
        self.timeout = timeout
        self.disabled = ""  # why warming is off, once it is
        self.last: WarmResult | None = None
        self._helper = HelperProcess(
            command or [sys.executable, "-m", "gradient_explorer.workers.shader_warmup"],
            # llvmpipe: no rasteriser threads for a 64x48 target; the window needs the cores
            env={"LP_NUM_THREADS": "0"},
        )
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return not self.disabled

    def warm(self, surface, shown=VISUALS) -> WarmResult:
        """Have the helper draw ``surface``'s programs once; wait for it to finish.

        ``shown`` names the visuals the window shows now (of :data:`VISUALS`): the answer
        comes once their programs are compiled; the helper compiles the others after.
        """
        if getattr(surface, "dim", 2) != 2:
            # nothing to draw; ``last`` stays the last surface's (curves build beside them)
            return WarmResult(True, reason="a curve has no generated shaders")
        with self._lock:
            result = self._warm(surface, tuple(shown))
            self.last = result
            if result.ok:
                self._failures = 0
            elif self.enabled:
                self._failures += 1
                if self._failures >= MAX_FAILURES:
                    self.disabled = f"{MAX_FAILURES} failures in a row, last: {result.reason}"
            return result

    def start(self) -> WarmResult:
        """Start the helper now (it otherwise starts on the first :meth:`warm`)."""
        with self._lock:
            if self._helper.running or not self.enabled:
                return WarmResult(self.enabled, reason=self.disabled)
            return self._start()

    def _warm(self, surface, shown: tuple[str, ...]) -> WarmResult:
        if not self.enabled:
            return WarmResult(False, reason=self.disabled)
        if not self._helper.running:
            started = self._start()
            if not started.ok:
                return started
        began = time.perf_counter()
        request = {"surface": surface, "target": self.target, "shown": shown}
        try:
            answer = self._helper.request(request, self.timeout)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            # pickled before anything is written: nothing was sent, the frame compiles it
            return WarmResult(False, reason=f"cannot send the surface ({type(exc).__name__})")
        if answer is None:  # the helper is stopped; the next warm() starts a new one
            reason = f"the helper {self._helper.silence}"
            return WarmResult(False, time.perf_counter() - began, reason)
        if not answer.get("ok"):
            return WarmResult(False, time.perf_counter() - began, str(answer.get("error", "")))
        return WarmResult(True, float(answer.get("seconds", 0.0)))

    def _start(self) -> WarmResult:
        try:
            hello = self._helper.start(self.timeout)
        except OSError as exc:
            self.disabled = f"cannot start the helper ({exc.strerror or exc})"
            return WarmResult(False, reason=self.disabled)
        if hello is None or not hello.get("ready"):
            why = hello.get("error", "") if hello else self._helper.silence
            self._helper.stop()
            self.disabled = f"the helper has no OpenGL ({why})"
            return WarmResult(False, reason=self.disabled)
        if hello.get("renderer") != self.renderer:
            self._helper.stop()
            found, wanted = hello.get("renderer"), self.renderer
            self.disabled = f"the helper renders with {found!r}, the window with {wanted!r}"
            return WarmResult(False, reason=self.disabled)
        return WarmResult(True)

    def close(self) -> None:
        """Stop the helper (it also exits by itself when this process goes)."""
        with self._lock:
            self._helper.stop()


# ------------------------------------------------------------------ the helper process


def _helper_context():
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL)
    except Exception:  # no EGL (macOS, Windows): the platform's own standalone context
        ctx = moderngl.create_standalone_context(require=REQUIRED_GL)
    return check_version(ctx)


class _Compiler:
    """The helper's side: one context, one scene, a target per format."""

    size = (64, 48)

    def __init__(self):
        self.ctx = _helper_context()
        self.scene = None
        self.targets: dict = {}

    def hello(self) -> dict:
        return {"renderer": self.ctx.info.get("GL_RENDERER", "?")}

    def _target(self, target: TargetFormat):
        if target not in self.targets:
            ctx, size = self.ctx, self.size
            samples = min(target.samples, ctx.max_samples)
            components, dtype = target.components, target.dtype
            color = ctx.renderbuffer(size, components, samples=samples, dtype=dtype)
            depth = ctx.depth_renderbuffer(size, samples=samples)
            self.targets[target] = ctx.framebuffer([color], depth)
        return self.targets[target]

    def handle(self, request: dict):
        began = time.perf_counter()
        if self.scene is None:
            self.scene = SceneRenderer(self.ctx, grid=8)  # the programs matter, not the mesh
        fbo = self._target(request["target"])
        fbo.use()
        fbo.viewport = (0, 0, *self.size)
        state = AppState.for_surface(request["surface"], aspect=self.size[0] / self.size[1])
        # First what the window shows now, and answer; then the visuals it may turn on
        # later, while the window already draws the new surface.
        shown = request.get("shown", VISUALS)
        for name in VISUALS:
            setattr(state.view, name, name in shown)
        self.scene.render(state, self.size)
        self.ctx.finish()
        answer = {"ok": True, "seconds": time.perf_counter() - began}
        if set(VISUALS) <= set(shown):
            return answer

        def the_rest() -> None:
            for name in VISUALS:
                setattr(state.view, name, True)
            self.scene.render(state, self.size)
            self.ctx.finish()

        return answer, the_rest

    def release(self) -> None:
        self.ctx.release()  # lets the driver finish writing its shader cache


def main() -> int:
    """The helper: announce the renderer, then draw each surface sent on stdin."""
    compiler = None

    def hello() -> dict:
        nonlocal compiler
        compiler = _Compiler()
        return compiler.hello()

    try:
        return serve(hello, lambda request: compiler.handle(request))
    finally:
        if compiler is not None:
            compiler.release()


if __name__ == "__main__":
    sys.exit(main())
