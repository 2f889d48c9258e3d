"""Recording: the explorer's picture, frame by frame, into an MP4 or a GIF.

One :class:`~gradient_explorer.render.headless.HeadlessRenderer` draws every frame (the window's
scene code, with labels). Between frames the state moves on: the camera turns
``360 / frames`` degrees (``orbit``), the balls of a descent run take
``steps_per_frame`` steps, and the 1D mode's sweep advances by one frame's time. Frame 0
is the state as given, so an orbit loops without a repeated frame.

MP4 is H.264 (libx264, yuv420p) through the ffmpeg binary that ships in the
``imageio-ffmpeg`` wheel; yuv420p needs even sizes, so an MP4's size is rounded down to
even numbers. GIF goes through imageio's Pillow plugin with ``1000 / fps`` ms per frame
(its frames are kept in memory until the end: keep GIFs short; Pillow merges two
identical consecutive frames into one longer one, so a still stretch has fewer frames
but the same playing time). The file is written
to a temporary file in the same folder and renamed over the target at the end, so an
interrupted recording never leaves half a video behind.

:func:`record` runs it all at once (the CLI). :class:`Recorder` renders one frame per
:meth:`Recorder.step` call, so the app can record on its own GL context between its own
frames and stay responsive; :func:`snapshot` copies the app's state first so the
recording does not move what is on screen.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gradient_explorer.app.curve_mode import active_curve
from gradient_explorer.app.curve_mode import advance as curve_advance
from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import give_plain_mode
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.label_layout import loss_plot_region, loss_plot_shown

__all__ = [
    "FORMATS",
    "MAX_FRAMES",
    "Recorder",
    "even_size",
    "progress_printer",
    "record",
    "snapshot",
]

FORMATS = (".mp4", ".gif")
MAX_FRAMES = 100_000
MP4_QUALITY = 8  # imageio-ffmpeg's 1..10 scale: libx264 crf 10, crisp contour lines


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` rounded down to even numbers (yuv420p halves the colour resolution)."""
    w, h = (int(v) for v in size)
    return (max(2, w - w % 2), max(2, h - h % 2))


def snapshot(state):
    """A copy of an :class:`~gradient_explorer.app.state.AppState` the recording may move.

    Surfaces are shared, not copied (they are immutable once built, and their compiled
    code cannot be deep-copied); so are the 1D mode's built curves (the app builds them in
    its pipeline: the copy must not build them again, on the frame thread).
    """
    memo: dict[int, Any] = {id(state.surface): state.surface}
    if state.descent.surface is not None:
        memo[id(state.descent.surface)] = state.descent.surface
    memo[id(state.curve._cache)] = dict(state.curve._cache)
    return copy.deepcopy(state, memo)


class _Encoder:
    """Frames to a temporary file next to ``path``; :meth:`close` renames it into place."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float):
        self.path, self.size, self.fps = path, size, fps
        self.kind = path.suffix.lower()
        folder = path.parent if str(path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=self.kind, dir=folder)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        os.close(fd)
        self.tmp = Path(tmp)
        self._frames: list[np.ndarray] = []
        self._writer = None
        if self.kind == ".mp4":
            import imageio_ffmpeg

            self._writer = imageio_ffmpeg.write_frames(
                str(self.tmp),
                size,
                fps=fps,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                quality=MP4_QUALITY,
                macro_block_size=1,  # sizes are already even; do not rescale to 16s
                ffmpeg_log_level="error",
                output_params=["-movflags", "+faststart"],
            )
            self._writer.send(None)  # start ffmpeg

    def append(self, frame: np.ndarray) -> None:
        w, h = self.size
        frame = np.ascontiguousarray(frame[:h, :w])
        if self._writer is not None:
            self._writer.send(frame)
        else:
            self._frames.append(frame)

    def close(self) -> None:
        """Finish the file, fsync it and rename it over the target."""
        try:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            else:
                import imageio.v3 as iio

                iio.imwrite(
                    self.tmp,
                    np.stack(self._frames),
                    extension=".gif",
                    plugin="pillow",
                    duration=1000.0 / self.fps,
                    loop=0,
                )
                self._frames = []
            give_plain_mode(self.tmp, self.path)
            with open(self.tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.path)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            raise

    def abort(self) -> None:
        """Stop ffmpeg and remove the temporary file."""
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # ffmpeg may already have died; the file goes anyway
                pass
            self._writer = None
        self._frames = []
        try:
            self.tmp.unlink()
        except OSError:
            pass


class Recorder:
    """Render and encode a recording one frame per :meth:`step`.

    Parameters
    ----------
    state : AppState
        What to record; it is moved along (pass :func:`snapshot` of a live state).
    path : path
        ``.mp4`` or ``.gif``.
    frames : int
        How many frames.
    fps : float
        Frames per second of the file; also the time step of the sweep (1 / fps).
    size : (int, int)
        Pixels; rounded down to even for MP4.
    orbit : bool
        Turn the camera a full circle over the recording.
    steps_per_frame : int
        Descent steps between frames (when a run exists).
    sweep : bool
        Advance the 1D mode's sweep every frame (it plays during the recording).
    ctx : moderngl.Context, optional
        Draw on this context (the app's); default: a new headless EGL context.
    samples : int
        MSAA samples.
    plot : bool
        Show a descent run's f-against-step plot, bottom right, as the window's descent
        panel does (False: the picture alone).
    """

    def __init__(
        self,
        state,
        path: str | os.PathLike,
        frames: int,
        fps: float = 30.0,
        size: tuple[int, int] = (1280, 720),
        *,
        orbit: bool = False,
        steps_per_frame: int = 1,
        sweep: bool = False,
        ctx=None,
        samples: int = 4,
        plot: bool = True,
    ) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FORMATS:
            raise UsageError(f"the output must end in .mp4 or .gif, got '{self.path.name}'")
        if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
            raise UsageError(f"frames must be an integer between 1 and {MAX_FRAMES}, got {frames}")
        fps = float(fps)
        if not 1.0 <= fps <= 240.0:
            raise UsageError(f"fps must be between 1 and 240, got {fps:g}")
        if not (isinstance(steps_per_frame, int) and 0 <= steps_per_frame <= 10_000):
            raise UsageError(f"steps per frame must be 0..10000, got {steps_per_frame}")
        w, h = (int(v) for v in size)
        if not (2 <= w <= 8192 and 2 <= h <= 8192):
            raise UsageError(f"size must be between 2x2 and 8192x8192, got {w}x{h}")
        self.size = even_size((w, h)) if self.path.suffix.lower() == ".mp4" else (w, h)
        self.state, self.frames, self.fps = state, frames, fps
        self.orbit, self.steps_per_frame, self.sweep = orbit, steps_per_frame, sweep
        self.samples = samples
        self.plot = plot
        self.done_frames = 0
        self.finished = False
        if sweep:
            state.curve.playing = True
        self._renderer = HeadlessRenderer(ctx, grid=state.view.grid)
        try:
            self._encoder = _Encoder(self.path, self.size, fps)
        except BaseException:
            self._release_renderer()
            raise
        if plot and not sweep and state.mode != "curve" and loss_plot_shown(state):
            # the picture beside the plot and the legend, not under them (its x-axis
            # labels and front corner were covered); a camera the caller set stays
            camera = state.camera
            if camera.at_home():
                camera.view_region = loss_plot_region(self.size)
                state.frame_camera(self.size[0] / self.size[1], snap=True)
        self._azimuth0 = state.camera.get_state()["azimuth"]

    @property
    def progress(self) -> float:
        """Fraction of frames done, 0..1."""
        return self.done_frames / self.frames

    def step(self) -> bool:
        """Render and encode the next frame, then move the state on; True when finished.

        The file is complete (renamed into place) when this returns True.
        """
        if self.finished:
            return True
        try:
            pixels = self._renderer.render(self.state, self.size, self.samples, plot=self.plot)
            self._encoder.append(pixels)
            self.done_frames += 1
            if self.done_frames < self.frames:
                self._advance()
            else:
                self._release_renderer()
                self._encoder.close()
                self.finished = True
        except BaseException:
            self.abort()
            raise
        return self.finished

    def _advance(self) -> None:
        state = self.state
        if self.orbit:
            turn = 360.0 * self.done_frames / self.frames
            state.camera.set_state({"azimuth": self._azimuth0 + turn}, snap=True)
        ds = state.descent
        if ds.active and self.steps_per_frame:
            ds.step(self.steps_per_frame)
        if self.sweep:
            curve_advance(state.curve, 1.0 / self.fps, active_curve(state).domain)

    def _release_renderer(self) -> None:
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None

    def abort(self) -> None:
        """Stop: free the renderer and delete the unfinished file (the target is kept)."""
        self._release_renderer()
        if not self.finished:
            self._encoder.abort()
        self.finished = True


def record(
    state,
    path: str | os.PathLike,
    frames: int,
    fps: float = 30.0,
    size: tuple[int, int] = (1280, 720),
    *,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> Path:
    """Record ``frames`` frames of ``state`` into ``path`` (.mp4 or .gif); return the path.

    ``state`` is moved along; ``options`` are :class:`Recorder`'s (``orbit``,
    ``steps_per_frame``, ``sweep``, ``ctx``, ``samples``, ``plot``), checked there, so the two
    keep one list. ``progress(done, total)`` is called after each frame. An error or Ctrl+C
    leaves no partial file.
    """
    rec = Recorder(state, path, frames, fps, size, **options)
    try:
        while not rec.step():
            if progress is not None:
                progress(rec.done_frames, rec.frames)
    finally:
        rec.abort()
    if progress is not None:
        progress(rec.done_frames, rec.frames)
    return rec.path


def progress_printer(stream=None, width: int = 30) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a bar on a terminal (stderr).

    On a terminal the bar is redrawn in place at most 10 times a second; elsewhere (a
    log, a pipe) only the final line is written.
    """
    out = stream if stream is not None else sys.stderr
    tty = bool(getattr(out, "isatty", lambda: False)())
    began = time.monotonic()
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and (not tty or now - last[0] < 0.1):
            return
        last[0] = now
        filled = int(width * done / max(total, 1))
        rate = done / max(now - began, 1e-9)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames, {rate:.1f}/s"
        out.write(("\r" if tty else "") + line + ("\n" if final else ""))
        out.flush()

    return show
