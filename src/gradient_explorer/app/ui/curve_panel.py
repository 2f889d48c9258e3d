"""The 1D mode's panel: which curve, the readout at the point, Play, and where f' = 0.

A function of the :class:`~gradient_explorer.app.state.AppState` (its ``curve`` field); call
it between ``imgui.new_frame()`` and ``imgui.render()``. Returns True when it changed the
state.
"""

from __future__ import annotations

import math

from imgui_bundle import imgui

from gradient_explorer.app.curve_mode import (
    SOURCES,
    active_curve,
    catalogue_curves,
    readout,
    stationary_points,
)
from gradient_explorer.render.palette import ERROR_COLOR, TANGENT_COLOR, VERDICT_COLORS
from gradient_explorer.view.formatting import format_number

__all__ = ["draw_curve_panel", "format_derivative"]

_SOURCE_LABELS = {
    "catalogue": "catalogue curve",
    "expression": "typed f(x)",
    "slice": "slice of the surface through the point",
}
_KIND_COLORS = VERDICT_COLORS
_typed: dict[int, str] = {}  # text being typed, per CurveState


def format_derivative(value: float | None) -> str:
    """f' for the readout: a number, or "does not exist"."""
    return "does not exist" if value is None else format_number(value, ".6g")


def draw_curve_panel(state, rects: dict | None = None, building: bool = False) -> bool:
    """Draw the 1D mode panel; return True if the state changed.

    Choices of curve only set the state's fields: the app builds the curve in its build
    pipeline (``builds.sync_curve``). ``building`` says that build is running; ``rects``
    receives where the f(x) field was drawn (for scripted input).
    """
    cs = state.curve
    changed = False
    imgui.set_next_window_size((imgui.get_font_size() * 24, 0), imgui.Cond_.first_use_ever)
    imgui.begin("1D mode")
    try:
        on = state.mode == "curve"
        clicked, on = imgui.checkbox("1D mode", on)
        if clicked:
            state.mode = "curve" if on else "surface"
            changed = True
        # -- which curve
        labels = [_SOURCE_LABELS[s] for s in SOURCES]
        if state.surface.dim == 1:  # the slice of a curve is that curve (see active_curve)
            labels[SOURCES.index("slice")] = "the Surface panel's curve"
        clicked, idx = imgui.combo("curve", SOURCES.index(cs.source), labels)
        if clicked and SOURCES[idx] != cs.source:
            cs.source = SOURCES[idx]
            changed = True
        if cs.source == "catalogue":
            names = catalogue_curves()
            current = names.index(cs.name) if cs.name in names else 0
            clicked, idx = imgui.combo("name", current, names)
            if clicked:
                cs.name = names[idx]
                changed = True
        elif cs.source == "expression":
            key = id(cs)
            text = _typed.get(key, cs.expression)
            entered, text = imgui.input_text("f(x)", text, imgui.InputTextFlags_.enter_returns_true)
            _typed[key] = text
            if rects is not None:
                lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
                rects["curve expression"] = (lo.x, lo.y, hi.x, hi.y)
            if entered and text.strip():
                cs.expression, cs.error = text, ""  # built by the app's pipeline
                changed = True
            if cs.error:
                imgui.text_colored(ERROR_COLOR, cs.error)
        elif state.surface.dim == 2:
            imgui.text_disabled("along the point's direction dial; t = 0 is the point")
        try:
            curve = active_curve(state)
        except Exception as exc:  # a refused curve must not take the panel down
            imgui.text_colored(ERROR_COLOR, str(exc))
            return changed
        imgui.text_wrapped(f"f(x) = {curve.formula()}")
        wanted = cs.wanted()
        if wanted is not None and wanted != cs.built() and not cs.error:
            imgui.text_disabled(f"{'building' if building else 'waiting to build'} {wanted[1]}...")
        # -- the point
        (lo, hi) = curve.domain[0]
        clicked, x = imgui.slider_float("x", float(cs.x), float(lo), float(hi))
        if clicked:
            cs.x = float(x)
            changed = True
        r = readout(curve, cs.x)
        imgui.text(f"f   = {format_number(r.f, '.6g')}" if math.isfinite(r.f) else "f   undefined")
        imgui.text_colored(TANGENT_COLOR, f"f'  = {format_derivative(r.fp)}")
        imgui.text(f"f'' = {format_derivative(r.fpp)}")
        # -- play
        if imgui.button("Pause" if cs.playing else "Play"):
            cs.playing = not cs.playing
            changed = True
        imgui.same_line()
        clicked, cs.wrap = imgui.checkbox("wrap around", cs.wrap)
        changed |= clicked
        clicked, speed = imgui.slider_float(
            "speed", float(cs.speed), 0.01, 1.0, "%.2f widths/s", imgui.SliderFlags_.logarithmic
        )
        if clicked:
            cs.speed = float(speed)
            changed = True
        clicked, cs.show_derivative = imgui.checkbox("show f'", cs.show_derivative)
        changed |= clicked
        imgui.same_line()
        clicked, cs.show_stationary = imgui.checkbox("mark f' = 0", cs.show_stationary)
        changed |= clicked
        # -- where f' = 0
        imgui.separator()
        points = stationary_points(curve)
        if not points:
            imgui.text_disabled("f' is never 0 here (and always exists)")
        for i, sp in enumerate(points):
            color = _KIND_COLORS[sp.kind]
            if imgui.small_button(f"go##sp{i}"):
                cs.x = float(sp.x)
                cs.playing = False
                changed = True
            imgui.same_line()
            imgui.text_colored(color, f"x = {format_number(sp.x, '.6g')}: {sp.kind}")
            if imgui.is_item_hovered():
                imgui.set_tooltip(f"{sp.detail}\nf = {format_number(sp.f, '.6g')}")
    finally:
        imgui.end()
    return changed
