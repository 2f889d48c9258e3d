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


def diverging(v: float, vmax: float) -> tuple[float, float, float, float]:
    """Blue for negative, white for 0, red for positive; |v| >= vmax saturates."""
    t = float(np.clip(v / vmax, -1.0, 1.0)) if vmax > 0 else 0.0
    if t >= 0:
        return (1.0, 1.0 - 0.8 * t, 1.0 - 0.85 * t, 1.0)
    return (1.0 + 0.85 * t, 1.0 + 0.6 * t, 1.0, 1.0)


def gray(v: float) -> tuple[float, float, float, float]:
    g = float(np.clip(v, 0.0, 1.0))
    return (g, g, g, 1.0)


def _text(colour, text: str) -> None:
    imgui.push_style_color(imgui.Col_.text, colour)
    imgui.text_wrapped(text)
    imgui.pop_style_color()


def _picture(title: str, values: np.ndarray, colour, cell: float) -> None:
    """An image drawn as one filled square per pixel, with its title above."""
    imgui.begin_group()
    imgui.text(title)
    draw = imgui.get_window_draw_list()
    p = imgui.get_cursor_screen_pos()
    ny, nx = values.shape
    for j in range(ny):
        for i in range(nx):
            a = imgui.ImVec2(p.x + i * cell, p.y + j * cell)
            b = imgui.ImVec2(p.x + (i + 1) * cell, p.y + (j + 1) * cell)
            u32 = imgui.color_convert_float4_to_u32(imgui.ImVec4(*colour(values[j, i])))
            draw.add_rect_filled(a, b, u32)
    edge = imgui.color_convert_float4_to_u32(imgui.ImVec4(0.5, 0.52, 0.6, 1.0))
    draw.add_rect(p, imgui.ImVec2(p.x + nx * cell, p.y + ny * cell), edge)
    imgui.dummy(imgui.ImVec2(nx * cell, ny * cell))
    imgui.end_group()


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
        gmax = float(np.max(np.abs(d.gradient))) or 1.0
        _picture(f"digit {d.label}", d.image, gray, cell)
        imgui.same_line(0, 0.6 * em)
        _picture("dL/dx", d.gradient, lambda v: diverging(v, gmax), cell)
        imgui.same_line(0, 0.6 * em)
        _picture("sign", d.sign, lambda v: diverging(v, 1.0), cell)
        imgui.same_line(0, 0.6 * em)
        _picture(f"attacked ({self.method})", d.adversarial, gray, cell)
        imgui.same_line(0, 0.6 * em)
        _picture("random signs", d.random, gray, cell)
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
