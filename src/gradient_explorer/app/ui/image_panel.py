"""The Surface panel's Image entry: a photo or an elevation map as the surface.

A file field (Enter loads it) and buttons for the bundled samples; the operator and
the smoothing sigma rebuild the derivatives; a 2D view (emboss, edges, direction, Canny
with its stages and thresholds) opens in its own window beside the 3D view. Loading runs
in the panel's background compiler like a typed expression: a refused file is one line
in the status line and the surface stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.render.image_views import LIGHT, VIEWS_2D, view_2d
from gradient_explorer.surfaces.images import CANNY_STAGES, SAMPLES, load_source
from gradient_explorer.surfaces.operators import OPERATORS

DIM = imgui.ImVec4(0.62, 0.64, 0.70, 1.0)
VIEW_CHOICES = ("3D only", *VIEWS_2D)


@dataclass
class ImageUi:
    """What the Image entry remembers between frames."""

    path: str = ""
    operator: str = "sobel"
    sigma: float = 0.0
    view: str = "3D only"
    stage: str = "edges"
    canny_sigma: float = 1.0
    low: float = 0.0125  # fractions of the data's range per pixel (see images.canny)
    high: float = 0.025
    light: tuple[float, float] = LIGHT
    # Set by the window: (moderngl context, imgui renderer) to show 2D views with.
    gl: tuple | None = None
    _key: tuple | None = None
    _picture: np.ndarray | None = None
    _texture: object = None
    _ref: object = None
    rects: dict = field(default_factory=dict)

    def picture_for(self, surface) -> np.ndarray:
        """The 2D view's picture, recomputed only when the data or the options change."""
        key = (id(surface.samples), self.view, self.stage, self.canny_sigma, self.low,
               self.high, self.light, surface.height_scale)  # fmt: skip
        if key != self._key:
            finite = surface.samples.heights[np.isfinite(surface.samples.heights)]
            span = float(finite.max() - finite.min()) if finite.size else 1.0
            self._picture = view_2d(
                surface,
                self.view,
                light=self.light,
                stage=self.stage,
                sigma=self.canny_sigma,
                low=self.low * span,
                high=self.high * span,
            )
            self._key = key
        return self._picture

    def release(self) -> None:
        if self._texture is not None and self.gl is not None:
            self.gl[1].unregister_texture(self._texture)
            self._texture.release()
        self._texture = self._ref = self._key = self._picture = None


def load_image(ui, text: str, image: ImageUi) -> None:
    """Start loading a file or a bundled sample in the background."""
    text = text.strip()
    if not text:
        ui.say("type a file name (PNG, JPEG, TIFF or .npy) or pick a sample", error=True)
        return
    image.path = text
    ui.compiler.submit(text, "image", load_source, text, image.operator, image.sigma)


def draw_image_entry(state, ui, image: ImageUi) -> bool:
    """The Image entry of the Surface panel; True when the picture should redraw."""
    changed = False
    em = imgui.get_font_size()
    surface = state.surface
    # a model's loss is sampled too, but has its own entry (app/ui/model_panel.py)
    sampled = getattr(surface, "sampled", False) and getattr(surface, "model", None) is None
    if not imgui.tree_node("Image or elevation map"):
        return False
    imgui.set_next_item_width(-4 * em)
    flags = imgui.InputTextFlags_.enter_returns_true
    entered, image.path = imgui.input_text("file", image.path, flags)
    lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    image.rects["file"] = (lo.x, lo.y, hi.x, hi.y)
    imgui.set_item_tooltip("a PNG, JPEG or TIFF photo, or a 2D .npy elevation map; Enter loads")
    if entered:
        load_image(ui, image.path, image)
    imgui.text_colored(DIM, "samples:")
    for name in SAMPLES:
        imgui.same_line()
        if imgui.small_button(name):
            load_image(ui, name, image)
    imgui.set_next_item_width(8 * em)
    index = tuple(OPERATORS).index(image.operator)
    moved_op, index = imgui.combo("operator", index, list(OPERATORS))
    imgui.set_next_item_width(8 * em)
    imgui.same_line()
    moved_sigma, sigma = imgui.slider_float("sigma", image.sigma, 0.0, 8.0, "%.1f px")
    if moved_op:
        image.operator = tuple(OPERATORS)[index]
    if moved_sigma:
        image.sigma = max(0.0, float(sigma))
    # A new operator or sigma rebuilds the derivatives of the data on screen, on release
    # of the slider (not every pixel of the drag).
    if sampled and (moved_op or imgui.is_item_deactivated_after_edit()) and image.path:
        load_image(ui, image.path, image)
    if sampled:
        ny, nx = surface.shape
        samples = surface.samples
        text = f"{nx} x {ny} samples; derivatives: {samples.operator}"
        text += f", sigma {samples.sigma:g}" if samples.sigma else ""
        imgui.text_colored(DIM, text)
        if samples.note:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(DIM, samples.note)
            imgui.pop_text_wrap_pos()
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(
            DIM, "Discrete derivatives of sampled data (interpolated between samples)."
        )
        imgui.pop_text_wrap_pos()
        changed |= _draw_view_options(image, em)
    imgui.tree_pop()
    return changed


def _draw_view_options(image: ImageUi, em: float) -> bool:
    imgui.set_next_item_width(8 * em)
    index = VIEW_CHOICES.index(image.view)
    moved, index = imgui.combo("2D view", index, list(VIEW_CHOICES))
    if moved:
        image.view = VIEW_CHOICES[index]
    if image.view == "emboss":
        az, el = image.light
        imgui.set_next_item_width(-6 * em)
        _, az = imgui.slider_float("light az##2d", az, -180.0, 180.0, "%.0f deg")
        imgui.set_next_item_width(-6 * em)
        _, el = imgui.slider_float("light el##2d", el, 5.0, 90.0, "%.0f deg")
        image.light = (float(az), float(el))
    elif image.view == "canny":
        imgui.set_next_item_width(8 * em)
        s_index = CANNY_STAGES.index(image.stage)
        moved, s_index = imgui.combo("stage", s_index, list(CANNY_STAGES))
        if moved:
            image.stage = CANNY_STAGES[s_index]
        imgui.set_next_item_width(-6 * em)
        _, image.canny_sigma = imgui.slider_float("canny sigma", image.canny_sigma, 0.0, 6.0)
        imgui.set_next_item_width(-6 * em)
        _, low = imgui.slider_float("low", image.low, 0.0, 0.2, "%.4f")
        imgui.set_next_item_width(-6 * em)
        _, high = imgui.slider_float("high", image.high, 0.0, 0.2, "%.4f")
        imgui.set_item_tooltip("thresholds on |grad| per pixel, as fractions of the data's range")
        image.low, image.high = max(0.0, float(low)), max(float(low), float(high))
    return moved


def view_window_shown(state, image: ImageUi) -> bool:
    """Whether the 2D view window is open (an image's view other than 3D only)."""
    sampled = getattr(state.surface, "sampled", False)
    return image.view != "3D only" and sampled and state.mode != "curve"


def draw_view_window(state, ui, image: ImageUi, size: tuple[float, float]) -> None:
    """The chosen 2D view in its own window (top right), the picture's own pixels scaled
    to fit."""
    if not view_window_shown(state, image):
        return
    surface = state.surface
    try:
        picture = image.picture_for(surface)
    except Exception as exc:  # a view that cannot be made must not end the app
        image.view = "3D only"
        ui.say(f"2D view not shown ({type(exc).__name__}: {str(exc)[:120]})", error=True)
        return
    em = imgui.get_font_size()
    ny, nx = picture.shape[:2]
    side = 22 * em
    scale = side / max(nx, ny)
    layout = getattr(ui, "layout", None)
    if layout is not None:  # right before Begin: placed in the right-hand columns
        layout.place("view2d")
    imgui.set_next_window_bg_alpha(0.92)
    flags = imgui.WindowFlags_.always_auto_resize
    title = f"{image.view}" + (f" ({image.stage})" if image.view == "canny" else "")
    _, still_open = imgui.begin(f"{title}###2d view", True, flags)
    ref = _texture_ref(image, picture)
    if ref is not None:
        imgui.image(ref, imgui.ImVec2(nx * scale, ny * scale))
    else:
        imgui.text_colored(DIM, f"{nx} x {ny} picture (no GL context to show it)")
    imgui.end()
    if not still_open:
        image.view = "3D only"


def _texture_ref(image: ImageUi, picture: np.ndarray):
    if image.gl is None:
        return None
    ctx, renderer = image.gl
    if image._texture is not None and image._texture.extra is picture:
        return image._ref
    if image._texture is not None:
        renderer.unregister_texture(image._texture)
        image._texture.release()
    ny, nx = picture.shape[:2]
    texture = ctx.texture((nx, ny), 3, data=np.ascontiguousarray(picture).tobytes())
    texture.extra = picture
    image._texture, image._ref = texture, renderer.register_texture(texture)
    return image._ref
