"""Gradient on the input (key A): adversarial steps against a real classifier.

Two sections. *Digits*: pick a held-out 8x8 digit; see the image, dL/dx as a picture
(blue negative, white 0, red positive), its sign, the attacked image clipped to [0, 1],
and the class probabilities before and after, with the loss after the attack beside the
loss after random signs of the same size. A button shows the perturbation as a height
surface. *Input plane*: the two-moons classifier's loss over its inputs as the surface,
with sliders for eps, alpha and k and the label; the scene draws the eps-square, the FGSM
corner, the L2 step and the PGD path, and the panel says after which step the class flips.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import moderngl
import numpy as np
from imgui_bundle import imgui

from gradient_explorer.app.attack_mode import (
    ALPHA_RANGE,
    EPS_RANGE,
    STEPS_RANGE,
    DigitAttack,
    InputAttack,
    digit_attack,
    perturbation_surface,
)
from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.surfaces.adversarial import METHODS
from gradient_explorer.surfaces.classifiers import MODELS

LESSON = (
    "A change too small to notice, made along the gradient's sign, moves the loss more "
    "than a random change of the same size."
)
DIM = (0.62, 0.65, 0.72, 1.0)
GOOD = (0.45, 0.9, 0.55, 1.0)
BAD = (1.0, 0.45, 0.42, 1.0)


def diverging_colors(values, vmax: float) -> np.ndarray:
    """RGBA floats ``(..., 4)``: blue for negative, white for 0, red for positive;
    |v| >= vmax saturates."""
    v = np.asarray(values, dtype=np.float64)
    t = np.clip(v / vmax, -1.0, 1.0) if vmax > 0 else np.zeros_like(v)
    pos, neg = np.maximum(t, 0.0), np.minimum(t, 0.0)
    one = np.ones_like(t)
    return np.stack([one + 0.85 * neg, one - 0.8 * pos + 0.6 * neg, one - 0.85 * pos, one], -1)


def gray_colors(values) -> np.ndarray:
    """RGBA floats ``(..., 4)``: values in [0, 1] as grey levels."""
    g = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.stack([g, g, g, np.ones_like(g)], -1)


def diverging(v: float, vmax: float) -> tuple[float, float, float, float]:
    """One value's colour in :func:`diverging_colors`' map."""
    return tuple(float(c) for c in diverging_colors(v, vmax))


def digit_pictures(d: DigitAttack, method: str) -> list[tuple[str, np.ndarray]]:
    """The five pictures of an attack on a digit, each ``(title, (ny, nx, 4) uint8 RGBA)``
    (rounded as imgui rounds a float colour): the digit, dL/dx, its sign, the attacked
    digit and the digit under random signs of the same size."""
    gmax = float(np.max(np.abs(d.gradient))) or 1.0
    pictures = [
        (f"digit {d.label}", gray_colors(d.image)),
        ("dL/dx", diverging_colors(d.gradient, gmax)),
        ("sign", diverging_colors(d.sign, 1.0)),
        (f"attacked ({method})", gray_colors(d.adversarial)),
        ("random signs", gray_colors(d.random)),
    ]
    return [(title, (rgba * 255.0 + 0.5).astype(np.uint8)) for title, rgba in pictures]


def _text(colour, text: str) -> None:
    imgui.push_style_color(imgui.Col_.text, colour)
    imgui.text_wrapped(text)
    imgui.pop_style_color()


def _picture(title: str, ref, shape: tuple[int, int], cell: float) -> None:
    """A picture drawn as one textured square (``ref``; none without GL), with its title
    above and a thin frame."""
    imgui.begin_group()
    imgui.text(title)
    p = imgui.get_cursor_screen_pos()
    ny, nx = shape
    size = imgui.ImVec2(nx * cell, ny * cell)
    if ref is not None:
        imgui.image(ref, size)
    else:
        imgui.dummy(size)
    edge = imgui.color_convert_float4_to_u32(imgui.ImVec4(0.5, 0.52, 0.6, 1.0))
    imgui.get_window_draw_list().add_rect(p, imgui.ImVec2(p.x + size.x, p.y + size.y), edge)
    imgui.end_group()


@dataclass
class PictureTextures:
    """The digit section's pictures as textures, written when the attack shown changes
    (not 64 imgui rectangles per picture every frame). ``gl``: (moderngl context, imgui
    renderer), set by the window; without it the pictures are left blank."""

    gl: tuple | None = None
    writes: int = 0  # pictures written to textures (tests)
    _attack: object = None  # the DigitAttack the pictures show
    _method: str = ""
    _titles: list = field(default_factory=list)  # (title, (ny, nx)) per picture
    _textures: list = field(default_factory=list)
    _refs: list = field(default_factory=list)

    def refs(self, d: DigitAttack, method: str) -> list[tuple[str, tuple[int, int], object]]:
        """(title, shape, texture reference or None) per picture of ``d``."""
        if d is not self._attack or method != self._method:
            pictures = digit_pictures(d, method)
            self._titles = [(title, rgba.shape[:2]) for title, rgba in pictures]
            if self.gl is not None:
                self._write(pictures)
            self._attack, self._method = d, method
        refs = self._refs if self.gl is not None else [None] * len(self._titles)
        return [(title, shape, ref) for (title, shape), ref in zip(self._titles, refs, strict=True)]

    def _write(self, pictures) -> None:
        ctx, renderer = self.gl
        shapes = [rgba.shape[:2] for _, rgba in pictures]
        if [t.size[::-1] for t in self._textures] != shapes:  # the first, or a new size
            self.release()
            for ny, nx in shapes:
                texture = ctx.texture((nx, ny), 4)
                texture.filter = (moderngl.NEAREST, moderngl.NEAREST)  # crisp pixels
                texture.repeat_x = texture.repeat_y = False
                self._textures.append(texture)
                self._refs.append(renderer.register_texture(texture))
        for texture, (_, rgba) in zip(self._textures, pictures, strict=True):
            texture.write(np.ascontiguousarray(rgba).tobytes())  # row 0 on top
            self.writes += 1

    def release(self) -> None:
        if self.gl is not None:
            for texture in self._textures:
                self.gl[1].unregister_texture(texture)
                texture.release()
        self._textures, self._refs, self._attack = [], [], None


@dataclass
class AttackPanel:
    """The panel's own state; ``draw(state)`` each frame while it is visible. A surface
    the panel wants shown is left in ``request`` for the window to switch to."""

    visible: bool = False
    model: str = "logistic"
    index: int = 0
    method: str = "fgsm"
    eps: float = 0.1
    steps: int = 10
    alpha: float = 0.025
    seed: int = 0
    request: tuple | None = None  # (surface, InputAttack or None, point or None)
    error: str = ""
    _models: dict = field(default_factory=dict)  # name -> trained classifier
    _training: set = field(default_factory=set)
    _cache: tuple = (None, None)
    _fold_digits: bool | None = None  # fold (True) or unfold the digits section next frame
    pictures: PictureTextures = field(default_factory=PictureTextures)

    def toggle(self) -> None:
        self.visible = not self.visible

    def take_request(self):
        request, self.request = self.request, None
        return request

    # ---------------------------------------------------------------- digits

    def _classifier(self, name: str):
        """The trained model, or None while it trains in the background (a few seconds
        the first time; the window keeps drawing)."""
        if name in self._models:
            return self._models[name]
        if name not in self._training:
            self._training.add(name)

            def train() -> None:
                from gradient_explorer.surfaces import classifiers

                try:
                    classifiers.digits_split()
                    self._models[name] = classifiers.trained_classifier(name)
                except GradientExplorerError as exc:
                    self.error = str(exc)
                finally:
                    self._training.discard(name)

            threading.Thread(target=train, name=f"train-{name}", daemon=True).start()
        return None

    def digit(self) -> DigitAttack | None:
        from gradient_explorer.surfaces import classifiers

        model = self._classifier(self.model)
        if model is None:
            return None
        key = (self.model, self.index, self.method, self.eps, self.steps, self.alpha, self.seed)
        if self._cache[0] != key:
            alpha = self.alpha if self.method == "pgd" else None
            result = digit_attack(
                model, classifiers.digits_split(), self.index, self.method, self.eps,
                self.steps, alpha, self.seed,
            )  # fmt: skip
            self._cache = (key, result)
        return self._cache[1]

    def _draw_digits(self) -> None:
        em = imgui.get_font_size()
        imgui.push_item_width(12 * em)
        changed, i = imgui.combo("model", MODELS.index(self.model), list(MODELS))
        if changed:
            self.model = MODELS[i]
        imgui.same_line()
        changed, i = imgui.combo("method", METHODS.index(self.method), list(METHODS))
        if changed:
            self.method = METHODS[i]
        _, self.index = imgui.slider_int("test digit", self.index, 0, 538)
        imgui.same_line()
        _, self.eps = imgui.slider_float("eps", self.eps, 0.0, 0.3, "%.3f")
        if self.method == "pgd":
            _, self.steps = imgui.slider_int("k steps", self.steps, 1, 40)
            imgui.same_line()
            _, self.alpha = imgui.slider_float("alpha", self.alpha, 0.001, 0.1, "%.3f")
        imgui.pop_item_width()
        try:
            d = self.digit()
        except GradientExplorerError as exc:
            _text(BAD, str(exc))
            return
        if d is None:
            _text(DIM, f"training the {self.model} model on the digits ...")
            return
        cell = 0.8 * em
        for i, (title, shape, ref) in enumerate(self.pictures.refs(d, self.method)):
            if i:
                imgui.same_line(0, 0.6 * em)
            _picture(title, ref, shape, cell)
        before, after = d.predicted_clean, d.predicted_attacked
        verdict = f"predicted {before} -> {after}"
        _text(BAD if after != d.label else GOOD, verdict + ("" if after != before else " (held)"))
        _text(
            DIM,
            f"loss: clean {d.loss_clean:.3g}; after {self.method} {d.loss_attacked:.3g}; "
            f"after random signs of the same eps {d.loss_random:.3g}",
        )
        if imgui.begin_table("probabilities", 3, imgui.TableFlags_.sizing_stretch_prop):
            imgui.table_setup_column("class", imgui.TableColumnFlags_.width_fixed, 3 * em)
            imgui.table_setup_column("before")
            imgui.table_setup_column("after")
            imgui.table_headers_row()
            for c in range(len(d.p_clean)):
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text(str(c) + (" *" if c == d.label else ""))
                for p in (d.p_clean[c], d.p_attacked[c]):
                    imgui.table_next_column()
                    imgui.progress_bar(float(p), imgui.ImVec2(-1, 0.9 * em), f"{p:.3f}")
            imgui.end_table()
        if imgui.button("show the perturbation as a surface"):
            self.request = (perturbation_surface(d), None, None)
            self._fold_digits = False

    # ---------------------------------------------------------------- input plane

    def _draw_plane(self, state) -> None:
        attack = state.input_attack
        on_plane = attack is not None and attack.surface is state.surface
        if not on_plane:
            if imgui.button("open the two-moons input plane"):
                self.request = _moons_request(label=1)
                self._fold_digits = True
            return
        eps_changed, eps = imgui.slider_float("eps##plane", attack.eps, *EPS_RANGE, "%.3f")
        a_changed, alpha = imgui.slider_float("alpha##plane", attack.alpha, *ALPHA_RANGE, "%.3f")
        k_changed, steps = imgui.slider_int("k##plane", attack.steps, *STEPS_RANGE)
        if eps_changed or a_changed or k_changed:
            try:
                attack.set(eps=eps, alpha=alpha, steps=steps)
            except GradientExplorerError as exc:
                self.error = str(exc)
        shown = attack.steps if attack.step is None else min(attack.step, attack.steps)
        changed, t = imgui.slider_int("PGD step shown##plane", shown, 0, attack.steps)
        if changed:
            attack.step = None if t >= attack.steps else t
        imgui.text("label:")
        for label in (0, 1):
            imgui.same_line()
            if imgui.radio_button(f"{label}##label", attack.plane.label == label):
                if attack.plane.label != label:
                    self.request = _moons_request(label, attack, state.point)
        try:
            _text(GOOD, attack.summary(state.point))
            _text(DIM, attack.step_line(state.point))
        except GradientExplorerError as exc:
            _text(BAD, str(exc))
        _text(
            DIM,
            "square: the eps-ball in L-inf (FGSM lands on a corner); circle: L2 (the step "
            "eps*g/|g|); magenta: PGD, k sign steps of alpha, each put back in the square; "
            "dots take the colour of the class predicted there.",
        )

    def draw(self, state, layout=None) -> None:
        """The window; ``layout`` (layout.Layout) places it among the other panels."""
        if not self.visible:
            return
        em = imgui.get_font_size()
        io = imgui.get_io()
        width = io.display_size.x
        if layout is not None:
            layout.place("attack")
        else:
            imgui.set_next_window_pos(
                imgui.ImVec2(width - 0.5 * em, 2.5 * em),
                imgui.Cond_.first_use_ever,
                imgui.ImVec2(1, 0),
            )
        height = io.display_size.y
        tall = height - 4 * em
        if layout is not None:  # the room its column leaves
            tall = layout.placement.room("attack", tall)
        # A fixed width, the height of what is open: a folded section gives the scene room.
        panel_width = min(38 * em, 0.5 * width)
        imgui.set_next_window_size_constraints(
            imgui.ImVec2(panel_width, 0), imgui.ImVec2(panel_width, tall)
        )
        opened, self.visible = imgui.begin(
            "Gradient on the input (A)", self.visible, imgui.WindowFlags_.always_auto_resize
        )
        if opened:
            _text(GOOD, LESSON)
            if self._fold_digits is not None:  # the plane opened or closed: make room
                imgui.set_next_item_open(not self._fold_digits)
                self._fold_digits = None
            if imgui.collapsing_header("Handwritten digits", imgui.TreeNodeFlags_.default_open):
                self._draw_digits()
            if imgui.collapsing_header(
                "Input plane (two moons)", imgui.TreeNodeFlags_.default_open
            ):
                self._draw_plane(state)
            if self.error:
                _text(BAD, self.error)
        imgui.end()


def _moons_request(label: int, previous: InputAttack | None = None, point=None) -> tuple:
    """The moons loss surface for ``label`` and its attack state, keeping the sliders."""
    from gradient_explorer.surfaces.input_plane import input_plane

    plane = input_plane("moons", label)
    surface = plane.surface()
    attack = InputAttack(plane, surface=surface)
    if previous is not None:
        attack.set(previous.eps, previous.alpha, previous.steps)
    if point is None:  # start beside the boundary, on the label's side
        m = plane.margin(plane.X)
        own = np.flatnonzero(plane.predict(plane.X) == label)
        point = tuple(float(v) for v in plane.X[own[np.argsort(np.abs(m[own]))[3]]])
    return surface, attack, point
