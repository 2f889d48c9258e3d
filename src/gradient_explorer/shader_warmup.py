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

import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

__all__ = ["VISUALS", "ShaderWarmer", "TargetFormat", "WarmResult", "main"]

_HEADER = struct.Struct("<Q")
#: The visuals whose programs embed the surface's GLSL (``ViewOptions`` flags).
VISUALS = ("floor", "field", "normal_arrows")
#: A request or answer larger than this is a broken pipe, not a message.
_MAX_MESSAGE = 256 * 1024 * 1024
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
        self.command = command or [sys.executable, "-m", "gradient_explorer.shader_warmup"]
        self.disabled = ""  # why warming is off, once it is
        self.last: WarmResult | None = None
        self._process: subprocess.Popen | None = None
        self._failures = 0
        self._silence = "exited"  # why the last answer did not come
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return not self.disabled

    def warm(self, surface, shown=VISUALS) -> WarmResult:
        """Have the helper draw ``surface``'s programs once; wait for it to finish.

        ``shown`` names the visuals the window shows now (of :data:`VISUALS`): the answer
        comes once their programs are compiled; the helper compiles the others after.
        """
        with self._lock:
            result = self._warm(surface, tuple(shown))
            self.last = result
            if result.ok:
                self._failures = 0
            elif self.enabled:
                self._failures += 1
                if self._failures >= MAX_FAILURES:
                    self._disable(f"{MAX_FAILURES} failures in a row, last: {result.reason}")
            return result

    def start(self) -> WarmResult:
        """Start the helper now (it otherwise starts on the first :meth:`warm`)."""
        with self._lock:
            if self._process is not None or not self.enabled:
                return WarmResult(self.enabled, reason=self.disabled)
            return self._start()

    def _warm(self, surface, shown: tuple[str, ...]) -> WarmResult:
        if not self.enabled:
            return WarmResult(False, reason=self.disabled)
        if getattr(surface, "dim", 2) != 2:
            return WarmResult(True, reason="a curve has no generated shaders")
        try:
            payload = pickle.dumps({"surface": surface, "target": self.target, "shown": shown})
        except Exception as exc:  # a surface that cannot travel is compiled in place
            return WarmResult(False, reason=f"cannot send the surface ({type(exc).__name__})")
        if self._process is None:
            started = self._start()
            if not started.ok:
                return started
        began = time.perf_counter()
        answer = self._request(payload)
        if answer is None:  # the next warm() starts a new helper
            self._stop()
            return WarmResult(False, time.perf_counter() - began, f"the helper {self._silence}")
        if not answer.get("ok"):
            return WarmResult(False, time.perf_counter() - began, str(answer.get("error", "")))
        return WarmResult(True, float(answer.get("seconds", 0.0)))

    def _start(self) -> WarmResult:
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            self._disable(f"cannot start the helper ({exc.strerror or exc})")
            self._process = None
            return WarmResult(False, reason=self.disabled)
        hello = self._receive()
        if hello is None or not hello.get("ready"):
            why = hello.get("error", "") if hello else self._silence
            self._stop()
            self._disable(f"the helper has no OpenGL ({why})")
            return WarmResult(False, reason=self.disabled)
        if hello.get("renderer") != self.renderer:
            self._stop()
            found, wanted = hello.get("renderer"), self.renderer
            self._disable(f"the helper renders with {found!r}, the window with {wanted!r}")
            return WarmResult(False, reason=self.disabled)
        return WarmResult(True)

    def _request(self, payload: bytes) -> dict | None:
        process = self._process
        try:
            process.stdin.write(_HEADER.pack(len(payload)) + payload)
            process.stdin.flush()
        except (OSError, ValueError):
            return None
        return self._receive()

    def _receive(self) -> dict | None:
        """The helper's next answer, or None if it exits or takes longer than ``timeout``."""
        process = self._process
        timed_out = threading.Event()

        def stop() -> None:  # a blocking read that a timer can end: kill closes stdout
            timed_out.set()
            process.kill()

        timer = threading.Timer(self.timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            message = _read_message(process.stdout)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            message = None
        finally:
            timer.cancel()
        if message is None:
            self._silence = (
                f"did not answer in {self.timeout:g} s" if timed_out.is_set() else "exited"
            )
        return message

    def _disable(self, reason: str) -> None:
        self.disabled = reason

    def _stop(self) -> None:
        process, self._process = self._process, None
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

    def close(self) -> None:
        """Stop the helper (it also exits by itself when this process goes)."""
        with self._lock:
            self._stop()


def _write_message(stream, message: dict) -> None:
    data = pickle.dumps(message)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_message(stream) -> dict | None:
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


# ------------------------------------------------------------------ the helper process


def _helper_context():
    import moderngl

    from gradient_explorer.gl import REQUIRED_GL, check_version

    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL)
    except Exception:  # no EGL (macOS, Windows): the platform's own standalone context
        ctx = moderngl.create_standalone_context(require=REQUIRED_GL)
    return check_version(ctx)


def _serve(ctx, inp, out) -> None:
    from gradient_explorer.scene import SceneRenderer
    from gradient_explorer.state import AppState

    scene = SceneRenderer(ctx, grid=8)  # the programs matter here, not the mesh
    targets: dict = {}
    size = (64, 48)
    while (request := _read_message(inp)) is not None:
        began = time.perf_counter()
        rest = None
        try:
            surface, target = request["surface"], request["target"]
            if target not in targets:
                samples = min(target.samples, ctx.max_samples)
                components, dtype = target.components, target.dtype
                color = ctx.renderbuffer(size, components, samples=samples, dtype=dtype)
                depth = ctx.depth_renderbuffer(size, samples=samples)
                targets[target] = ctx.framebuffer([color], depth)
            fbo = targets[target]
            fbo.use()
            fbo.viewport = (0, 0, *size)
            state = AppState.for_surface(surface, aspect=size[0] / size[1])
            # First what the window shows now, and answer; then the visuals it may turn
            # on later, while the window already draws the new surface.
            shown = request.get("shown", VISUALS)
            for name in VISUALS:
                setattr(state.view, name, name in shown)
            scene.render(state, size)
            ctx.finish()
            answer = {"ok": True, "seconds": time.perf_counter() - began}
            if not set(VISUALS) <= set(shown):
                rest = state
        except Exception as exc:  # one bad request must not end the helper
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
        _write_message(out, answer)
        if rest is not None:
            for name in VISUALS:
                setattr(rest.view, name, True)
            try:
                scene.render(rest, size)
                ctx.finish()
            except Exception:  # the window compiles these itself if they are ever shown
                pass


def main() -> int:
    """The helper: announce the renderer, then draw each surface sent on stdin."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the answers
    try:
        os.nice(10)  # the window's frames come first on a busy machine
    except (AttributeError, OSError):  # no nice() here, or not allowed
        pass
    try:
        ctx = _helper_context()
    except Exception as exc:
        _write_message(out, {"ready": False, "error": str(exc).splitlines()[0][:300]})
        return 1
    _write_message(out, {"ready": True, "renderer": ctx.info.get("GL_RENDERER", "?")})
    try:
        _serve(ctx, inp, out)
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass
    ctx.release()  # lets the driver finish writing its shader cache
    return 0


if __name__ == "__main__":
    sys.exit(main())
