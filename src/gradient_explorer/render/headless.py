"""Headless rendering: the window's scene code drawn into an offscreen framebuffer.

Used by ``gradient-explorer render``, the Python API and the tests. The scene is drawn
by :class:`~gradient_explorer.render.scene.SceneRenderer`, exactly as in the window, with 4x MSAA
resolved into a plain target (by a shader: :mod:`gradient_explorer.render.resolve`) and read
back as RGB.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import moderngl
import numpy as np

from gradient_explorer.app.state import AppState
from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import write_atomic
from gradient_explorer.render import label_atlas
from gradient_explorer.render.gl import create_headless_context
from gradient_explorer.render.label_layout import (
    SHADOW_COLOR,
    SHADOW_OFFSET,
    layout_labels,
    legend_rows,
)
from gradient_explorer.render.png import encode_png
from gradient_explorer.render.resolve import MsaaResolver
from gradient_explorer.render.scene import SceneRenderer

MAX_SIZE = 8192


class HeadlessRenderer:
    """An EGL context, the scene, and an overlay for labels; reusable across frames."""

    def __init__(self, ctx: moderngl.Context | None = None, grid: int = 256):
        self._own_ctx = ctx is None
        self.ctx = ctx or create_headless_context()
        with self.ctx:  # another context may be current (see render)
            self.scene = SceneRenderer(self.ctx, grid)
        self._targets: dict = {}
        self._resolver = MsaaResolver(self.ctx)
        self._imgui = None
        # labels alone are drawn from the cached glyph atlas, without imgui (label_atlas):
        # None until first needed, then a LabelDrawer, or False when there is no atlas yet
        self._labels = None
        self._placed = None  # (labels, their vertices) laid out during the scene's draw

    def _framebuffers(self, size: tuple[int, int], samples: int):
        key = (size, samples)
        if key not in self._targets:
            for objs in self._targets.values():
                for obj in dict.fromkeys(objs):  # the same framebuffer may appear twice
                    obj.release()
            self._targets.clear()
            ctx = self.ctx
            samples = min(samples, ctx.max_samples)
            color = self._resolver.color(size, samples)
            depth = ctx.depth_renderbuffer(size, samples=samples)
            msaa = ctx.framebuffer([color], depth)
            if samples > 0:
                resolved_color = ctx.renderbuffer(size, 4)
                resolved = ctx.framebuffer([resolved_color])
                self._targets[key] = (msaa, resolved, color, depth, resolved_color)
            else:  # no multisampling: read the target itself, no resolve copy
                self._targets[key] = (msaa, msaa, color, depth)
            width, height = size
            self._readback = {
                3: np.empty((height, width, 3), dtype=np.uint8),
                4: np.empty((height, width, 4), dtype=np.uint8),
            }
        return self._targets[key]

    def render(
        self,
        state: AppState,
        size: tuple[int, int] = (800, 600),
        samples: int = 4,
        overlay: bool = True,
        draw_ui: Callable[[], None] | None = None,
        copy: bool = True,
        plot: bool = False,
    ) -> np.ndarray:
        """The picture as an (H, W, 3) uint8 array, top row first.

        ``copy=False`` returns a view of a buffer the next call overwrites, for loops
        that use each frame at once (benchmarks, frame grabs): a view of the RGBA pixels
        (strides of 4 bytes), read back as they are stored. Reading RGB makes the driver
        repack every pixel (llvmpipe: 0.55 ms against 0.07 ms at 1280x720), but a
        contiguous RGB copy from RGBA costs numpy 2.8 ms, so ``copy=True`` reads RGB.
        ``plot`` adds a descent run's f-against-step plot, bottom right (recordings have
        no panels).
        """
        width, height = (int(v) for v in size)
        if not (1 <= width <= MAX_SIZE and 1 <= height <= MAX_SIZE):
            raise UsageError(f"size must be between 1x1 and {MAX_SIZE}x{MAX_SIZE}, got {size}")
        # GL calls go to the current context: another one (the app harness's window, a
        # second renderer) may be current, so draw in ours and put theirs back after.
        with self.ctx:
            msaa, resolved, *_ = self._framebuffers((width, height), samples)
            previous = self.ctx.fbo or self.ctx.detect_framebuffer(0)
            try:
                msaa.use()
                msaa.viewport = (0, 0, width, height)
                # imgui for the legend (when it has rows), the plot if asked, panels; the
                # labels alone come from the cached glyph atlas (0.5 ms a frame less). A
                # race's or swarm's legend has rows: not worked out twice a frame
                descent = state.descent
                rich = draw_ui is not None or (
                    descent.active
                    and (plot or descent.kind in ("race", "swarm") or bool(legend_rows(descent)))
                )
                # their layout on the scene's helper thread, where it has one
                place = None
                if overlay and not rich and self._drawer():
                    place = partial(self._place_labels, state, (width, height))
                labels = self.scene.render(state, (width, height), with_labels=place)
                if overlay and (labels or rich):
                    if rich or not self._cached_labels(state, labels, msaa):
                        self._overlay(state, labels, (width, height), msaa, draw_ui, plot)
                if resolved is not msaa:
                    self._resolver.resolve(msaa, resolved)
                components = 3 if copy else 4
                buffer = self._readback[components]
                resolved.read_into(buffer, components=components, alignment=1)
            finally:
                previous.use()
        image = buffer[::-1, :, :3]  # GL's first row is the bottom one
        return image.copy() if copy else image

    def _drawer(self):
        """The labels' drawer from the cached glyph atlas; False when there is none yet."""
        if self._labels is None:
            atlas = label_atlas.load()
            self._labels = label_atlas.LabelDrawer(self.ctx, atlas) if atlas else False
        return self._labels

    def _place_labels(self, state, size, labels) -> None:
        """The labels' layout and vertices (numpy, no GL: any thread), for
        :meth:`_cached_labels`; None when the atlas lacks a character of theirs."""
        drawer = self._labels
        self._placed = None
        if drawer and all(drawer.atlas.covers(label.text) for label in labels):
            placed = layout_labels(labels, state.camera, size, drawer.atlas.measure)
            self._placed = (labels, drawer.vertices(placed, size, SHADOW_COLOR, SHADOW_OFFSET))

    def _cached_labels(self, state, labels, fbo) -> bool:
        """Draw the labels from the cached glyph atlas; False (nothing drawn) when there
        is none yet or a label has a character it lacks: then imgui draws them."""
        drawer = self._drawer()
        size = fbo.viewport[2:]
        prepared, self._placed = self._placed, None
        if prepared is None or prepared[0] is not labels:  # not laid out during the scene
            self._place_labels(state, size, labels)
            prepared, self._placed = self._placed, None
        if not drawer or prepared is None:
            return False
        drawer.draw_vertices(*prepared[1], size, fbo)
        return True

    def _overlay(self, state, labels, size, fbo, draw_ui, plot: bool = False) -> None:
        # imgui (0.1 s to import) only where the overlay needs more than the cached glyphs
        from imgui_bundle import imgui, implot

        from gradient_explorer.render.fonts import use_ui_font
        from gradient_explorer.render.imgui_renderer import ImguiRenderer
        from gradient_explorer.render.labels import (
            draw_labels,
            draw_loss_plot,
            draw_race_legend,
        )

        first = self._imgui is None
        if first:
            context = imgui.create_context()
            imgui.set_current_context(context)  # another renderer's context may be current
            imgui.get_io().set_ini_filename(None)
            ui_font = use_ui_font()
            plots = implot.create_context()  # panels with plots (the race) work headless too
            self._imgui = (context, ImguiRenderer(self.ctx), plots, ui_font)
        context, renderer, plots, ui_font = self._imgui
        imgui.set_current_context(context)
        implot.set_current_context(plots)
        io = imgui.get_io()
        io.display_size = (float(size[0]), float(size[1]))
        io.delta_time = 1.0 / 60.0
        imgui.new_frame()
        if first:  # the cached atlas's glyphs first, in its order: the same layout
            label_atlas.prebake(imgui)
            if ui_font and not self._labels and label_atlas.load() is None:
                atlas = label_atlas.snapshot(imgui)
                if atlas is not None and label_atlas.store(atlas):
                    self._labels = None  # a later picture of this renderer may use it
        draw_labels(labels, state.camera, size)
        draw_race_legend(state.descent, size)
        if plot and state.mode != "curve":
            draw_loss_plot(state, size)
        if draw_ui is not None:
            draw_ui()
        imgui.render()
        renderer.render(imgui.get_draw_data(), fbo)

    def release(self) -> None:
        # Free in our own context (see render): deleting our names in another context
        # is a GL error there and leaks ours.
        with self.ctx:
            self._release()
        if self._own_ctx:
            self.ctx.release()

    def _release(self) -> None:
        for objs in self._targets.values():
            for obj in dict.fromkeys(objs):  # the same framebuffer may appear twice
                obj.release()
        self._targets.clear()
        self._resolver.release()
        if self._labels:
            self._labels.release()
        self._labels = None
        if self._imgui is not None:
            from imgui_bundle import imgui, implot

            context, renderer, plots, _ = self._imgui
            imgui.set_current_context(context)
            renderer.release()
            implot.destroy_context(plots)
            imgui.destroy_context(context)
            self._imgui = None
        self.scene.release()


def render_image(state: AppState, size=(800, 600), samples: int = 4, overlay=True) -> np.ndarray:
    """Render ``state`` once, headless; returns an (H, W, 3) uint8 array."""
    renderer = HeadlessRenderer(grid=state.view.grid)
    try:
        return renderer.render(state, size, samples, overlay)
    finally:
        renderer.release()


def save_png(pixels: np.ndarray, path: str | Path) -> None:
    """Write an RGB array as PNG, atomically."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.dtype == np.uint8 and pixels.size:
        # zlib level 1: half the encoding time of the default 6 for a file ~20% larger
        write_atomic(path, encode_png(pixels, level=1))
        return
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    write_atomic(path, buffer.getvalue())
