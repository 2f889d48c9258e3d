"""The window: thin wiring of state, scene, camera control, imgui and the panels.

:class:`ExplorerApp` is a moderngl-window ``WindowConfig``. Events go to imgui first;
what imgui does not want goes to :class:`~gradient_explorer.view.interaction.Interaction`
(point, orbit, pan, zoom) and the key bindings (one table:
:mod:`gradient_explorer.view.keys`).
:func:`run` opens a glfw window and runs the frame loop.

Test hooks (environment): ``GRADIENT_EXPLORER_EXIT_AFTER=seconds`` closes the window
after that long; ``GRADIENT_EXPLORER_SCREENSHOT=path`` saves the last frame there on exit;
``GRADIENT_EXPLORER_FIRST_FRAME=1`` prints ``first frame swapped`` to stderr once the first
frame is in the window (the benchmark times the process's start to that line).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import glfw
import moderngl
import moderngl_window as mglw
import numpy as np
from imgui_bundle import imgui, implot

from gradient_explorer.app import renderer_memory
from gradient_explorer.app.curve_mode import active_curve
from gradient_explorer.app.curve_mode import advance as curve_advance
from gradient_explorer.app.pacing import INPUT_HANDLERS, Pacer, app_moving
from gradient_explorer.app.quality import AdaptiveQuality, picture_moving
from gradient_explorer.app.session import DEFAULT_FILE, save_session
from gradient_explorer.app.state import LIGHTING_MODES, AppState
from gradient_explorer.app.ui import panels
from gradient_explorer.app.ui.attack_panel import AttackPanel
from gradient_explorer.app.ui.backprop_panel import BackpropPanel
from gradient_explorer.app.ui.imgui_input import ImguiInput
from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render.fonts import use_ui_font
from gradient_explorer.render.gl import check_version
from gradient_explorer.render.headless import save_png
from gradient_explorer.render.imgui_renderer import ImguiRenderer
from gradient_explorer.render.labels import draw_labels, draw_race_legend
from gradient_explorer.render.lowres import LowResTarget, MsaaTarget
from gradient_explorer.render.recording import Recorder, snapshot
from gradient_explorer.render.scene import SceneRenderer
from gradient_explorer.surfaces import fastcode
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.controller import OrbitController
from gradient_explorer.view.formatting import format_numbers
from gradient_explorer.view.interaction import Interaction
from gradient_explorer.view.keys import CAMERA_ACTIONS, binding_for
from gradient_explorer.workers.build_worker import BuildWorker
from gradient_explorer.workers.shader_warmup import VISUALS, ShaderWarmer, TargetFormat

__all__ = ["ExplorerApp", "run"]

TITLE = "gradient-explorer"


class ExplorerApp(mglw.WindowConfig):
    """The explorer's window.

    Parameters
    ----------
    ctx, wnd, timer
        As for ``moderngl_window.WindowConfig``.
    state : AppState, optional
        The picture to start from (default: the banana, framed).
    keys : Keys namespace, optional
        Overrides ``wnd.keys`` (the headless window has no key codes; tests pass glfw's).
    screenshot_dir : path, optional
        Where F12 writes (default: the current directory).
    session_path : path, optional
        The session file of Ctrl+S and Ctrl+O.
    msaa : int, optional
        Draw the scene with this many samples into an offscreen target and resolve it
        into the window (whose own framebuffer then has none; :func:`run` does this on a
        software renderer). 0: draw into the window's framebuffer as it is.
    precompile : bool, optional
        Build each new surface in a helper process (:mod:`gradient_explorer.workers.build_worker`)
        and compile its shaders in another (:mod:`gradient_explorer.workers.shader_warmup`) before
        it is installed; default on, unless the environment sets
        ``GRADIENT_EXPLORER_PRECOMPILE=0`` (then builds fork and the frame compiles).
    """

    gl_version = (3, 3)
    title = TITLE
    window_size = (1280, 720)
    resizable = True
    aspect_ratio = None  # the 3D view fills the window; no letterbox
    samples = 4
    vsync = True
    clear_color = None  # the scene clears with the view's background

    def __init__(
        self,
        ctx: moderngl.Context | None = None,
        wnd: Any = None,
        timer: Any = None,
        *,
        state: AppState | None = None,
        keys: Any = None,
        screenshot_dir: str | os.PathLike | None = None,
        session_path: str | os.PathLike | None = None,
        precompile: bool | None = None,
        msaa: int = 0,
        **kwargs: Any,
    ) -> None:
        # frames come first: the numpy path, never a pause to compile or load the engine
        # (same bits), unless GRADIENT_EXPLORER_ENGINE asks for it
        fastcode.numpy_unless_chosen()
        # every input handler marks the window active (the base class hands these to wnd)
        self.pacer = Pacer()
        for name in INPUT_HANDLERS:
            setattr(self, name, self.pacer.marking(getattr(self, name)))
        super().__init__(ctx=ctx, wnd=wnd, timer=timer, **kwargs)
        check_version(self.ctx)
        if state is None:
            state = AppState.for_surface(Surface.named("banana"))
        self.state = state
        self.ui = panels.UiState(gl_renderer=self.ctx.info.get("GL_RENDERER", "?"))
        self.ui.aspect = self._aspect()
        self.backprop_panel = BackpropPanel()  # key B
        self.attack_panel = AttackPanel()  # key A
        self.ui.expression = state.surface.formula()
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir is not None else Path(".")
        self.scene = SceneRenderer(self.ctx, state.view.grid)
        # on a software renderer: a cheaper picture while it moves (app/quality.py)
        self.quality = AdaptiveQuality(self.ui.gl_renderer)
        self.lowres: LowResTarget | None = None  # made on the first reduced frame
        self.msaa = MsaaTarget(self.ctx, msaa) if msaa > 0 else None
        if precompile is None:
            precompile = os.environ.get("GRADIENT_EXPLORER_PRECOMPILE", "1") != "0"
        if precompile:  # new surfaces are built, and their shaders compiled, in helpers
            self.ui.compiler.set_worker(BuildWorker())
            samples = msaa if msaa > 0 else getattr(self.wnd, "samples", self.samples)
            target = TargetFormat.of(self.wnd.fbo, samples)
            renderer = self.ctx.info.get("GL_RENDERER", "?")
            self.ui.compiler.set_warmer(ShaderWarmer(renderer, target), self._shown_visuals)
        self.controller = OrbitController(state.camera)
        self.interaction = Interaction(
            state, self.controller, on_point=self._user_moved_point, on_drop=self._drop_ball
        )

        self._imgui_ctx = imgui.create_context()
        imgui.set_current_context(self._imgui_ctx)
        imgui.get_io().set_ini_filename(None)  # no imgui.ini in the working directory
        use_ui_font()  # typed π, −, x² show as themselves, not '?'
        self._implot_ctx = implot.create_context()  # the descent race plot
        keys = keys if keys is not None else wnd.keys
        self.imgui_input = ImguiInput(wnd, keys=keys)
        self.imgui_renderer = ImguiRenderer(self.ctx)
        self.ui.image.gl = (self.ctx, self.imgui_renderer)  # 2D views of a photo's data
        self.attack_panel.pictures.gl = self.ui.image.gl  # the digits as textures
        self._key_names = {
            getattr(keys, n): n
            for n in dir(keys)
            if n.isupper() and not n.startswith("ACTION") and getattr(keys, n) != "undefined"
        }
        self._action_press = getattr(keys, "ACTION_PRESS", "ACTION_PRESS")
        # A held key: glfw sends glfw.REPEAT, which moderngl-window's Keys do not name
        self._action_repeat = getattr(keys, "ACTION_REPEAT", None) or _glfw_repeat(keys)
        self._mouse = (0.0, 0.0)
        self._released = False
        self._framed_for = None  # (free region, aspect) the home view was last fitted to
        self._framed_point: tuple[float, float] | None = None  # the point it fitted
        self.last_frame: np.ndarray | None = None  # kept only when a screenshot is due
        self.last_screenshot: Path | None = None
        self.exit_after = _env_float("GRADIENT_EXPLORER_EXIT_AFTER")
        self.exit_screenshot = os.environ.get("GRADIENT_EXPLORER_SCREENSHOT") or None
        self._started = time.monotonic()
        self._exit_pending = False
        # Ctrl+S / Ctrl+O: this file, or gradient-explorer-session.json in the cwd
        self.session_path = Path(session_path) if session_path is not None else None
        self.recorder = None  # a Recorder running one frame per app frame
        if hasattr(wnd, "exit_key"):
            wnd.exit_key = None  # Esc is ours: it closes the help or leaves a text field
        self._sync_view()

    def wants_frame(self) -> bool:
        """Whether the next frame is worth drawing: something moves, or input just came."""
        compiler = self.ui.compiler
        return self.pacer.wants_frame(app_moving(self), compiler.pending, compiler.ready)

    def idle_wait(self) -> float:
        """Seconds the loop may wait for events when no frame is wanted."""
        return self.pacer.wait(self.ui.compiler.pending)

    def _shown_visuals(self) -> tuple[str, ...]:
        """The visuals on screen whose shaders embed the surface (for the warm-up helper)."""
        view = self.state.view  # read from the build thread: a few bools, no GL
        return tuple(name for name in VISUALS if getattr(view, name, False))

    # ------------------------------------------------------------------ geometry

    def _sizes(self) -> tuple[tuple[int, int], tuple[int, int], float]:
        """(window size in points, framebuffer size in pixels, pixel ratio)."""
        wnd = self.wnd
        size = tuple(int(v) for v in wnd.size)
        buffer = tuple(int(v) for v in wnd.buffer_size)
        ratio = buffer[0] / size[0] if size[0] > 0 and buffer[0] > 0 else 1.0
        return size, buffer, ratio

    def _aspect(self) -> float:
        _, (w, h), _ = self._sizes()
        return w / h if w > 0 and h > 0 else 16 / 9

    def _sync_view(self) -> None:
        _, buffer, ratio = self._sizes()
        if buffer[0] <= 0 or buffer[1] <= 0:
            return  # minimised: keep the last good geometry
        self.interaction.set_view((0, 0, *buffer), buffer, ratio)
        self.ui.aspect = buffer[0] / buffer[1]

    def _fit_free_region(self, buffer: tuple[int, int]) -> None:
        """Frame the surface in the part of the window the panels leave free.

        The panels' widths are known once they are drawn; when they (or the aspect)
        change, the home view is fitted again (same angle, new zoom and centre) and the
        camera eases there if it was at home. A view the user turned keeps its angle and
        is fitted into the new free area too; one they zoomed or panned keeps its zoom
        and slides with the free area's centre (``OrbitCamera.follow_region``). Reset
        goes to the new home.
        """
        state = self.state
        width, height = buffer
        left, right = state.view.insets
        # the status line along the bottom (1.9 em), or the Backprop panel over it
        status = max(2.0 * imgui.get_font_size(), state.view.bottom_inset)
        top = state.view.top_inset  # short panels above a free band
        region = (
            min(max(left / width, 0.0), 0.6),
            min(max(status / height, 0.0), 0.5),
            max(min(1.0 - right / width, 1.0), 0.4),
            max(min(1.0 - top / height, 1.0), 0.55),
        )
        key = (region, width / height)
        if state.mode == "curve" or state.surface.dim != 2:
            return
        if key == self._framed_for:
            if state.point != self._framed_point:
                # the point moved: Reset's home fits its arrow and tangent plane too; the
                # view stays (the camera never moves under the user's hand)
                self._framed_point = state.point
                state.frame_camera(width / height, go=False)
            return
        first = self._framed_for is None
        self._framed_for = key
        self._framed_point = state.point
        camera = state.camera
        at_home = camera.at_home()
        old_region = camera.view_region
        camera.view_region = region
        state.frame_camera(width / height, snap=first, go=at_home)
        if not (first or at_home):
            camera.follow_region(old_region, width / height)

    # ------------------------------------------------------------------ frame

    def on_render(self, time_: float, frame_time: float) -> None:
        """Draw one frame: jobs and animations, the scene, imgui, screenshot."""
        if self._released:
            return
        self.pacer.drew()
        state, ui = self.state, self.ui
        ui.fps = panels.frame_rate(ui.fps, frame_time)
        panels.apply_compiled(state, ui)
        ui.advance(state, frame_time)
        dt = min(max(frame_time, 0.0), 0.25)  # a stalled frame must not jump the sweep
        if state.mode == "curve" and state.curve.playing:
            curve_advance(state.curve, dt, active_curve(state).domain)
        if state.descent.active:
            state.descent.advance(dt)
        state.camera.update(max(frame_time, 0.0))
        self._check_exit()

        size, buffer, _ = self._sizes()
        if min(*size, *buffer) <= 0:
            if self._exit_pending:
                self.wnd.close()
            return  # minimised or zero-sized: nothing to draw, nothing to feed imgui
        self._sync_view()
        fbo = self.wnd.fbo
        fbo.use()
        fbo.viewport = (0, 0, *buffer)
        three_d = state.mode != "curve" and state.surface.dim == 2
        scale = self.quality.frame_scale(picture_moving(self)) if three_d else None
        try:
            if scale is None and self.msaa is not None:
                self.msaa.begin(buffer)
                labels = self.scene.render(state, buffer)
                self.msaa.present(fbo, buffer)
            elif scale is None:
                labels = self.scene.render(state, buffer)
            else:
                self.lowres = self.lowres or LowResTarget(self.ctx)
                small = (max(1, round(buffer[0] * scale)), max(1, round(buffer[1] * scale)))
                self.lowres.begin(small)
                labels = self.scene.render(state, small)
                self.lowres.present(fbo, buffer)
        except (GradientExplorerError, moderngl.Error) as exc:
            fbo.use()
            fbo.viewport = (0, 0, *buffer)
            labels = self._render_failed(exc)
        if ui.previous_surface is not None and ui.previous_surface is not state.surface:
            ui.previous_surface = None  # the new surface drew: no way back needed

        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        self.imgui_input.new_frame(frame_time)
        draw_labels(labels, state.camera, size)
        scale = imgui.get_io().display_framebuffer_scale.x or 1.0
        draw_race_legend(state.descent, size, state.view.insets[1] / scale)  # left of panels
        extra = {"attack"} if self.attack_panel.visible else set()
        extra |= {"backprop"} if self.backprop_panel.visible else set()
        panels.draw_panels(state, ui, frozenset(extra))
        self.backprop_panel.draw(state, ui.layout)
        self.attack_panel.draw(state, ui.layout)
        self._take_attack_request()
        self._fit_free_region(buffer)
        self._draw_session_window()
        imgui.render()
        self.imgui_renderer.render(imgui.get_draw_data(), fbo)

        if ui.screenshot_requested:
            ui.screenshot_requested = False
            self.screenshot()
        if self.recorder is not None:
            self._record_frame()
        if self._exit_pending:
            if self.exit_screenshot:
                self.screenshot(self.exit_screenshot)
            self.wnd.close()

    def _take_attack_request(self) -> None:
        """The attack panel asked for a surface: the input plane's loss or a perturbation."""
        request = self.attack_panel.take_request()
        if request is None:
            return
        surface, attack, point = request
        self.ui.previous_surface = self.state.surface  # the way back if it cannot draw
        self.state.set_surface(surface, self.ui.aspect)
        self.state.input_attack = attack
        if point is not None:
            self.state.point = point
        self.ui.expression = surface.formula()

    def _render_failed(self, exc: Exception) -> list:
        """The new surface's shader did not build: go back to the old one, say why."""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        previous = self.ui.previous_surface
        if previous is not None and previous is not self.state.surface:
            self.state.set_surface(previous, self.ui.aspect)
            self.ui.expression_error = f"the GPU could not draw it: {message}"
        self.ui.previous_surface = None
        self.ui.say(message, error=True)
        self.ctx.clear(*self.state.view.background, 1.0)
        return []

    def _check_exit(self) -> None:
        if self.exit_after is None or time.monotonic() - self._started < self.exit_after:
            return
        self.exit_after = None
        self._exit_pending = True  # closed after this frame is drawn (and saved)

    # ------------------------------------------------------------------ screenshot

    def read_pixels(self) -> np.ndarray:
        """The window's current picture as an (H, W, 3) uint8 array, top row first."""
        _, (w, h), _ = self._sizes()
        fbo = self.wnd.fbo
        attachments = getattr(fbo, "color_attachments", ())
        samples = getattr(attachments[0], "samples", 0) if attachments else 0
        if samples:  # a multisampled offscreen target must be resolved before reading
            color = self.ctx.renderbuffer((w, h), 4)
            resolved = self.ctx.framebuffer([color])
            try:
                self.ctx.copy_framebuffer(resolved, fbo)
                data = resolved.read(viewport=(0, 0, w, h), components=3, alignment=1)
            finally:
                fbo.use()  # never release a bound framebuffer
                resolved.release()
                color.release()
        else:
            data = fbo.read(viewport=(0, 0, w, h), components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()

    def screenshot(self, path: str | os.PathLike | None = None) -> Path | None:
        """Save the current frame as PNG (atomically); errors go to the status line.

        The default name holds the surface and the time, in ``screenshot_dir``.
        """
        if path is None:
            stem = f"gradient-explorer-{self.state.surface.name}-{panels.timestamp()}"
            path = self.screenshot_dir / f"{stem}.png"
            n = 2
            while path.exists():  # two in the same second: number them
                path = self.screenshot_dir / f"{stem}-{n}.png"
                n += 1
        path = Path(path)
        try:
            save_png(self.read_pixels(), path)
        except (GradientExplorerError, OSError, moderngl.Error) as exc:
            self.ui.say(f"screenshot failed: {exc}", error=True)
            return None
        self.last_screenshot = path
        self.ui.say(f"saved {path}")
        return path

    # ------------------------------------------------------------------ sessions, recording

    def _session_file(self) -> Path:
        return self.session_path if self.session_path is not None else Path(DEFAULT_FILE)

    def save_session(self, path: str | os.PathLike | None = None) -> bool:
        """Ctrl+S: save everything to the session file; the status line says how it went."""
        path = Path(path) if path is not None else self._session_file()
        try:
            save_session(self.state, path)
        except (GradientExplorerError, OSError) as exc:
            self.ui.say(f"session not saved: {exc}", error=True)
            return False
        self.session_path = path
        self.ui.say(f"session saved to {path}")
        return True

    def load_session(self, path: str | os.PathLike | None = None) -> None:
        """Ctrl+O: load the session file in the build pipeline (off the frame thread); the
        status line says how it went, and a refused file changes nothing."""
        path = Path(path) if path is not None else self._session_file()
        panels.load_session_later(self.ui, path, self._session_loaded)

    def _session_loaded(self, path: Path) -> None:
        self.session_path = path
        self.ui.say(f"session loaded from {path}")

    def start_recording(self, path: str | os.PathLike | None = None, seconds: float = 4.0):
        """Record what is on screen (an orbit; balls and sweep as they play) to an MP4.

        One frame is rendered per app frame on this window's context, from a copy of
        the state, so the window stays live; the status line shows the progress.
        """
        if self.recorder is not None:
            return None
        state = self.state
        if path is None:
            stem = f"gradient-explorer-{state.surface.name}-{panels.timestamp()}"
            path = self.screenshot_dir / f"{stem}.mp4"
        _, (w, h), _ = self._sizes()
        scale = min(1.0, 1280 / max(w, 1), 720 / max(h, 1))
        size = (max(16, int(w * scale)), max(16, int(h * scale)))
        fps = 30
        ds = state.descent
        steps = max(1, round(ds.steps_per_second / fps)) if ds.active and ds.playing else 0
        sweep = state.mode == "curve" and state.curve.playing
        try:
            self.recorder = Recorder(
                snapshot(state),
                path,
                int(seconds * fps),
                fps,
                size,
                orbit=state.mode != "curve",
                steps_per_frame=steps,
                sweep=sweep,
                ctx=self.ctx,
            )
        except GradientExplorerError as exc:
            self.ui.say(f"recording failed: {exc}", error=True)
            return None
        self.ui.say(f"recording {self.recorder.path}...")
        return self.recorder

    def _record_frame(self) -> None:
        rec = self.recorder
        try:
            finished = rec.step()
        except (GradientExplorerError, OSError, moderngl.Error) as exc:
            self.recorder = None
            self.ui.say(f"recording failed: {exc}", error=True)
            return
        finally:
            # the recorder's overlay switched imgui and implot to its own contexts
            imgui.set_current_context(self._imgui_ctx)
            implot.set_current_context(self._implot_ctx)
            self.wnd.fbo.use()
        if finished:
            self.recorder = None
            self.ui.say(f"saved {rec.path}")
        else:
            self.ui.say(f"recording {rec.path.name}: {rec.done_frames}/{rec.frames} frames")

    def _draw_session_window(self) -> None:
        """A small window: save and open the session, record a clip."""
        em = imgui.get_font_size()
        io = imgui.get_io()
        # bottom-right corner, above the status line (whose right end says "F1: help")
        self.ui.layout.place_session((io.display_size.x, io.display_size.y))
        flags = imgui.WindowFlags_.always_auto_resize
        if imgui.begin("Session", None, flags)[0]:
            if imgui.button("Save (Ctrl+S)"):
                self.save_session()
            imgui.same_line()
            if imgui.button("Open (Ctrl+O)"):
                self.load_session()
            if self.recorder is None:
                if imgui.button("Record"):
                    self.start_recording()
                imgui.set_item_tooltip("a 4 s MP4 of the view: an orbit, or the 1D sweep")
            else:
                imgui.progress_bar(self.recorder.progress, imgui.ImVec2(12 * em, 0))
        imgui.end()

    # ------------------------------------------------------------------ events

    def on_resize(self, width: int, height: int) -> None:
        """Window resized (framebuffer pixels); zero while minimised."""
        if self._released:
            return
        size, buffer, _ = self._sizes()
        if min(*size, *buffer, width, height) <= 0:
            return  # imgui's DPI scale would divide by zero; the frame is skipped anyway
        imgui.set_current_context(self._imgui_ctx)
        self.imgui_input.on_resize(width, height)
        self._sync_view()

    def on_iconify(self, iconified: bool) -> None:
        if iconified:
            self.interaction.cancel()

    def _user_moved_point(self) -> None:
        self.ui.animation = None  # the user's hand beats the script

    def _drop_ball(self, xy: np.ndarray) -> None:
        """Shift+click: a ball starts rolling from there under the chosen optimizer."""
        state = self.state
        state.descent.drop_ball(state.surface, xy)
        state.descent.playing = True
        self.ui.say(f"ball dropped at {format_numbers(xy, '.3g')}")

    def on_mouse_position_event(self, x: float, y: float, dx: float, dy: float) -> None:
        self._mouse = (x, y)
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        self.imgui_input.on_mouse_position_event(x, y, dx, dy)

    def on_mouse_press_event(self, x: float, y: float, button: int) -> None:
        self._mouse = (x, y)
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        if self.imgui_input.on_mouse_press_event(x, y, button):
            return
        shift = bool(getattr(self.wnd.modifiers, "shift", False))
        self.interaction.press(x, y, button, shift=shift)

    def on_mouse_drag_event(self, x: float, y: float, dx: float, dy: float) -> None:
        self._mouse = (x, y)
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        taken = self.imgui_input.on_mouse_drag_event(x, y, dx, dy)
        if not taken or self.interaction.active:
            self.interaction.drag(x, y, dx, dy)

    def on_mouse_release_event(self, x: float, y: float, button: int) -> None:
        self._mouse = (x, y)
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        taken = self.imgui_input.on_mouse_release_event(x, y, button)
        if not taken or self.interaction.active:
            self.interaction.release(x, y, button)

    def on_mouse_scroll_event(self, x_offset: float, y_offset: float) -> None:
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        if self.imgui_input.on_mouse_scroll_event(x_offset, y_offset):
            return
        self.interaction.scroll(*self._mouse, y_offset)

    def on_unicode_char_entered(self, char: str) -> None:
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        if self.imgui_input.on_unicode_char_entered(char):
            return
        binding = binding_for(char, char=True)  # "?": the help
        if binding is not None:
            self.do(binding.action)

    def on_key_event(self, key: Any, action: Any, modifiers: Any) -> None:
        if self._released:
            return  # events that arrive while the window closes
        imgui.set_current_context(self._imgui_ctx)
        if self.imgui_input.on_key_event(key, action, modifiers):
            return
        name = self._key_names.get(key)
        if name is None:
            return
        ctrl = bool(getattr(modifiers, "ctrl", False))
        alt = bool(getattr(modifiers, "alt", False))
        if action == self._action_press:
            self.key(name, ctrl=ctrl, alt=alt)
        elif action == self._action_repeat:
            binding = None if alt else binding_for(name, ctrl=ctrl)
            if binding is not None and binding.repeat:
                self.do(binding.action)  # held arrows keep orbiting

    def key(self, name: str, ctrl: bool = False, alt: bool = False) -> bool:
        """Act on a key by its moderngl-window name (``"SPACE"``, ``"F12"``, ``"T"``...).

        The binding comes from :mod:`gradient_explorer.view.keys`. With ``ctrl`` only a
        Ctrl binding acts, and with ``alt`` none: Ctrl+A (select all, a habit) must not
        open the attack panel that A opens. Shift is no modifier here (``+`` is Shift+=
        on many layouts). Returns True if the key is bound. The app calls it only when
        imgui does not want the keyboard.
        """
        binding = None if alt else binding_for(name, ctrl=ctrl)
        return binding is not None and self.do(binding.action)

    def do(self, action: str) -> bool:
        """Perform an action of the key table by name; False if there is no such action."""
        state, ui, view = self.state, self.ui, self.state.view
        if action in CAMERA_ACTIONS:  # presets take the controller's aspect: ui.aspect
            return self.controller.do(action)
        if action == "play":
            # Space plays what is on screen: the 1D sweep, else the balls.
            if state.mode == "curve":
                state.curve.playing = not state.curve.playing
                state.playing = state.curve.playing
            elif state.descent.active:
                state.descent.playing = not state.descent.playing
                state.playing = state.descent.playing
            else:
                state.playing = not state.playing
            ui.say("playing" if state.playing else "paused")
        elif action == "cycle lighting":
            view.lighting = LIGHTING_MODES[(LIGHTING_MODES.index(view.lighting) + 1) % 3]
            ui.say(f"lighting: {view.lighting}")
        elif action == "toggle contours":
            if view.contours > 0:
                ui.saved_contours, view.contours = view.contours, 0
            else:
                view.contours = ui.saved_contours or 12
        elif action == "toggle backprop":
            self.backprop_panel.toggle()
        elif action == "toggle attack":
            self.attack_panel.toggle()
        elif action == "toggle field":
            view.field = not view.field
            view.floor = view.floor or view.field
        elif action == "surface mode":
            state.mode = "surface"
        elif action == "curve mode":
            state.mode = "curve"
        elif action == "toggle help":
            ui.show_help = not ui.show_help
        elif action == "screenshot":
            ui.screenshot_requested = True  # taken after the frame is drawn
        elif action == "save session":
            self.save_session()
        elif action == "load session":
            self.load_session()
        elif action == "close":
            if ui.show_help:
                ui.show_help = False
            else:
                self.wnd.close()
        else:
            return False
        return True

    # ------------------------------------------------------------------ lifetime

    def on_close(self) -> None:
        self.release()

    def release(self) -> None:
        """Free every GL object the app made and the imgui context; safe to call twice."""
        if self._released:
            return
        self._released = True
        self.ui.compiler.shutdown()
        self.wnd.fbo.use()  # bind the window's framebuffer before freeing anything
        if self.recorder is not None:  # an unfinished clip leaves no file behind
            self.recorder.abort()
            self.recorder = None
        self.scene.release()
        self.ui.image.release()
        self.attack_panel.pictures.release()
        for target in (self.lowres, self.msaa):
            if target is not None:
                target.release()
        imgui.set_current_context(self._imgui_ctx)
        self.imgui_renderer.release()
        implot.destroy_context(self._implot_ctx)
        imgui.destroy_context(self._imgui_ctx)
        self._imgui_ctx = None


def _glfw_repeat(keys: Any) -> Any:
    """glfw's key-repeat action where ``keys`` are moderngl-window's glfw keys, else None."""
    if not getattr(keys, "__module__", "").startswith("moderngl_window.context.glfw"):
        return None
    import glfw  # only with a glfw window: glfw is loaded already

    return glfw.REPEAT


def _env_float(name: str) -> float | None:
    text = os.environ.get(name)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


#: The share of the screen's work area (each way) a window may take: its title bar and
#: borders come on top of the size asked for.
SCREEN_SHARE = 0.92


def fit_to_screen(size: tuple[int, int], workarea: tuple[int, int] | None) -> tuple[int, int]:
    """``size`` as it is when it fits the screen's ``workarea`` (width, height) or that
    is unknown; else shrunk to SCREEN_SHARE of it, its shape kept."""
    w, h = (int(v) for v in size)
    if not workarea or min(workarea) <= 0 or (w <= workarea[0] and h <= workarea[1]):
        return (w, h)
    scale = min(SCREEN_SHARE * workarea[0] / w, SCREEN_SHARE * workarea[1] / h)
    return (max(1, int(w * scale)), max(1, int(h * scale)))


def _screen_workarea() -> tuple[int, int] | None:
    """The primary monitor's work area (screen less panels and docks), or None."""
    try:
        if not glfw.init():
            return None
        monitor = glfw.get_primary_monitor()
        if not monitor:
            return None
        _x, _y, width, height = glfw.get_monitor_workarea(monitor)
        return (int(width), int(height))
    except Exception:  # an old glfw, or a display that answers nothing: keep the size
        return None


def _open_window(window_cls, size: tuple[int, int], samples: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glfw's warning repeats the error the caller keeps
        return window_cls(
            title=TITLE,
            size=size,
            resizable=True,
            gl_version=ExplorerApp.gl_version,
            aspect_ratio=None,
            vsync=True,
            samples=samples,
        )


def _reopen_window(window_cls, size: tuple[int, int], samples_to_try: tuple[int, ...]):
    """A window again after the first was closed (another sample count), made current;
    a display that refuses it now (glfw cannot start again, say) is one line for the
    caller, who renders headless, not a traceback."""
    error: Exception | None = None
    for samples in samples_to_try:
        try:
            window = _open_window(window_cls, size, samples)
        except Exception as exc:  # glfw reports failures as plain exceptions
            error = exc
            continue
        mglw.activate_context(window=window)
        return window
    raise GradientExplorerError(f"could not open a window: {error}")


def run(
    state: AppState,
    size: tuple[int, int] = (1280, 720),
    *,
    samples: int = 4,
    fps_limit: float = 120.0,
    session_path: str | os.PathLike | None = None,
) -> int:
    """Open a glfw window on ``state`` and run until it is closed.

    Raises
    ------
    GradientExplorerError
        When no window with OpenGL 3.3 can be made (the caller falls back to headless).
    """
    window_cls = mglw.get_local_window_cls("glfw")
    # a window larger than the screen hides the status line and half the picture
    fitted = fit_to_screen(size, _screen_workarea())
    if fitted != tuple(size):
        print(
            f"gradient-explorer: a {size[0]}x{size[1]} window does not fit this screen: "
            f"opened at {fitted[0]}x{fitted[1]} (resize it, or pass --size)",
            file=sys.stderr,
        )
        size = fitted
    window = None
    last_error: Exception | None = None
    # A software renderer (known from the last start) gets its window without samples
    # at once: opening a second window costs 0.1-0.15 s of the first frame.
    known = renderer_memory.remembered()
    first = 0 if known is not None and AdaptiveQuality(known).enabled else samples
    for tries_samples in dict.fromkeys((first, samples, 0)):  # MSAA where available
        try:
            window = _open_window(window_cls, size, tries_samples)
            break
        except Exception as exc:  # glfw reports a refused config as a plain exception
            last_error = exc
    if window is None:
        raise GradientExplorerError(f"could not open a window: {last_error}")
    mglw.activate_context(window=window)
    msaa = 0
    renderer = window.ctx.info.get("GL_RENDERER", "")
    renderer_memory.remember(renderer)
    software = AdaptiveQuality(renderer).enabled
    if tries_samples and software:
        # A software renderer pays for a multisampled window on every overlay draw and
        # swap, even while the picture moves at low resolution: make the window without
        # samples and give the still picture its samples offscreen.
        window.destroy()
        window = _reopen_window(window_cls, size, (0,))
        msaa = tries_samples
    elif software:  # opened without samples, as remembered: they go offscreen
        msaa = samples
    elif tries_samples != samples and first != samples:  # not the remembered renderer
        window.destroy()
        window = _reopen_window(window_cls, size, (samples, 0))  # 0: refused after all
    try:
        app = ExplorerApp(
            ctx=window.ctx, wnd=window, state=state, session_path=session_path, msaa=msaa
        )
    except Exception:
        window.destroy()
        raise
    window.swap_buffers()  # may report a more accurate buffer size
    window.set_default_viewport()
    app.on_resize(*window.buffer_size)
    from moderngl_window.timers.clock import Timer

    timer = Timer()
    timer.start()
    min_dt = 1.0 / fps_limit if fps_limit > 0 else 0.0
    idle = False
    say_first = os.environ.get("GRADIENT_EXPLORER_FIRST_FRAME", "") not in ("", "0")
    try:
        while not window.is_closing:
            if not app.wants_frame():
                # nothing moves: no frame; sleep until input (or a build may have come)
                glfw.wait_events_timeout(app.idle_wait())
                idle = True
                continue
            began = time.perf_counter()
            current, delta = timer.next_frame()
            if idle:  # the time asleep is not a frame's time (fps, easing)
                delta, idle = min(delta, min_dt or 1 / 60), False
            window.use()
            window.render(current, delta)
            if not window.is_closing:
                window.swap_buffers()
                if say_first:
                    say_first = False
                    print("first frame swapped", file=sys.stderr, flush=True)
            # Some drivers (Xvfb, llvmpipe) ignore vsync: do not spin a core at 1000 fps.
            spare = (min_dt if window.visible else 1.0 / 20) - (time.perf_counter() - began)
            if spare > 0:
                time.sleep(spare)
    finally:
        app.release()
        window.destroy()
    return 0
