"""The imgui panels: Surface, View, Point, "Try this", the status line and the help.

Each panel is a function of the :class:`~gradient_explorer.app.state.AppState` (what the
picture shows) and a :class:`UiState` (what only the UI needs: text being typed, the
background compile, messages). Call them between ``imgui.new_frame()`` and
``imgui.render()``; each returns True when it changed the state. Sizes are in em (the
font size), so the panels scale with the DPI.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.app.builds import (
    apply_compiled,
    choose_surface,
    compile_expression,
    load_session_later,
    sync_curve,
)
from gradient_explorer.app.state import LIGHTING_MODES, AppState
from gradient_explorer.app.ui.curve_panel import draw_curve_panel
from gradient_explorer.app.ui.data_panel import draw_data_panel
from gradient_explorer.app.ui.descent_panel import draw_descent_panel
from gradient_explorer.app.ui.image_panel import (
    ImageUi,
    draw_image_entry,
    draw_view_window,
    view_window_shown,
)
from gradient_explorer.app.ui.layout import LEFT_EM, Layout
from gradient_explorer.app.ui.layout import SESSION_RESERVE_EM as RESERVE_EM
from gradient_explorer.app.ui.model_panel import ModelUi, draw_model_entry
from gradient_explorer.app.ui.text_fit import ellipsize
from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render import palette
from gradient_explorer.render.scene import drawing_note
from gradient_explorer.surfaces.catalogue import CATALOGUE, CURVES, SURFACES
from gradient_explorer.surfaces.probe import probe_point
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.view.formatting import format_number as fnum
from gradient_explorer.view.formatting import format_numbers, parse_floats
from gradient_explorer.view.keys import KEY_HELP
from gradient_explorer.workers.pipeline import SurfaceCompiler

__all__ = [
    "KEY_HELP",
    "PointAnimation",
    "SurfaceCompiler",
    "UiState",
    "apply_compiled",
    "choose_surface",
    "compile_expression",
    "draw_help",
    "draw_panels",
    "draw_point_panel",
    "draw_status_line",
    "draw_surface_panel",
    "draw_try_this_panel",
    "draw_view_panel",
    "load_session_later",
    "point_readout",
    "sync_curve",
]

RED = imgui.ImVec4(*palette.ERROR_COLOR)
DIM = imgui.ImVec4(*palette.DIM_COLOR)
GRADIENT_RED = imgui.ImVec4(*palette.ARROW_COLOR)
DIAL_YELLOW = imgui.ImVec4(*palette.DIRECTION_COLOR)
VERDICT_COLORS = {name: imgui.ImVec4(*color) for name, color in palette.VERDICT_COLORS.items()}


@dataclass
class PointAnimation:
    """The point gliding from ``start`` to ``end`` in ``duration`` seconds (smoothstep)."""

    start: tuple[float, float]
    end: tuple[float, float]
    duration: float = 2.5
    elapsed: float = 0.0

    def advance(self, dt: float) -> tuple[tuple[float, float], bool]:
        """Step by ``dt`` seconds; returns the point and whether the glide is over."""
        self.elapsed = min(self.elapsed + max(dt, 0.0), self.duration)
        s = self.elapsed / self.duration if self.duration > 0 else 1.0
        w = s * s * (3.0 - 2.0 * s)
        x = self.start[0] + (self.end[0] - self.start[0]) * w
        y = self.start[1] + (self.end[1] - self.start[1]) * w
        done = s >= 1.0
        return (self.end if done else (x, y)), done


@dataclass
class UiState:
    """What only the UI needs; no GPU handles, nothing the picture depends on."""

    expression: str = ""
    expression_error: str = ""
    domain_text: str = "-3, 3, -3, 3"
    domain_error: str = ""
    compiler: SurfaceCompiler = field(default_factory=SurfaceCompiler)
    message: str = ""
    message_is_error: bool = False
    show_help: bool = False
    show_descent: bool = False
    layout: Layout = field(default_factory=Layout)  # where the floating panels stand
    fps: float = 0.0
    gl_renderer: str = ""
    aspect: float = 16 / 9
    animation: PointAnimation | None = None
    saved_contours: int = 12
    screenshot_requested: bool = False
    previous_surface: Surface | None = None  # kept until the new one has drawn once
    # Where some widgets were last drawn (window points): for scripted input and tests.
    rects: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    curve_request: tuple[str, str] | None = None  # the 1D mode's curve being built
    curve_failed: tuple[str, str] | None = None  # refused: not asked for again
    # Ctrl+O: (file, what the app does once it is loaded)
    session_request: tuple[Path, Callable[[Path], None]] | None = None
    # "Try this": (surface name, steps to run once that surface is built and shown)
    after_build: tuple[str, Callable[[AppState, UiState], None]] | None = None
    image: ImageUi = field(default_factory=ImageUi)  # the Image entry (a photo, a terrain)
    model: ModelUi = field(default_factory=ModelUi)  # the Model entry (a loss on data)

    def say(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the status line (red when ``error``)."""
        self.message, self.message_is_error = text, error

    def advance(self, state: AppState, dt: float) -> None:
        """Per-frame work that is not drawing: the point's scripted glide."""
        if self.animation is not None:
            state.point, done = self.animation.advance(dt)
            if done:
                self.animation = None


def _em() -> float:
    return imgui.get_font_size()


def _is_typed(surface: Surface) -> bool:
    return surface.name not in CATALOGUE


# ---------------------------------------------------------------------- Surface panel


def draw_surface_panel(state: AppState, ui: UiState) -> bool:
    """Catalogue, expression field, parameter sliders, domain and height scale."""
    changed = False
    em = _em()
    surface = state.surface
    imgui.set_next_item_width(-1)
    if imgui.begin_combo("##catalogue", surface.name):
        for group, entries in (("surfaces z = f(x, y)", SURFACES), ("curves y = f(x)", CURVES)):
            imgui.separator_text(group)
            for definition in entries:
                selected = definition.name == surface.name
                if imgui.selectable(definition.name, selected)[0] and not selected:
                    choose_surface(ui, definition.name)
                imgui.same_line(9 * em)
                imgui.text_colored(DIM, definition.lesson)
        imgui.end_combo()
    lesson = surface.definition.lesson
    if lesson:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(DIM, lesson)
        imgui.pop_text_wrap_pos()

    imgui.text("f(x, y) =" if surface.dim == 2 else "f(x) =")
    imgui.set_next_item_width(-1)
    flags = imgui.InputTextFlags_.enter_returns_true
    entered, ui.expression = imgui.input_text("##expression", ui.expression, flags)
    lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    ui.rects["expression"] = (lo.x, lo.y, hi.x, hi.y)
    if entered and ui.expression.strip():
        domain = _domain_for(ui, ui.expression)
        compile_expression(ui, ui.expression, domain)
    imgui.set_item_tooltip("Type an expression in x and y and press Enter, e.g. x^2 - y^2")
    if ui.compiler.busy and ui.compiler.source != "curve":  # the 1D panel shows its own
        imgui.text_colored(DIM, f"{ui.compiler.phase or 'compiling'} {ui.compiler.label}...")
    elif ui.expression_error:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(RED, ui.expression_error)
        imgui.pop_text_wrap_pos()

    # One slider per parameter: with_params only changes uniforms, the picture follows now.
    for name, param in surface.params.items():
        lo, hi = state.param_ranges.get(name, (param.lo, param.hi))
        value = surface.param_values[name]
        imgui.set_next_item_width(-6 * em)
        moved, value = imgui.slider_float(name, value, lo, hi, "%.3g")
        if moved:
            state.surface = state.surface.with_params(**{name: value})
            changed = True
        imgui.same_line()
        if imgui.small_button(f"range##{name}"):
            imgui.open_popup(f"range_{name}")
        if imgui.begin_popup(f"range_{name}"):
            imgui.set_next_item_width(10 * em)
            edited, pair = imgui.input_float2(f"{name} from, to", imgui.ImVec2(lo, hi), "%.4g")
            if edited and math.isfinite(pair.x) and math.isfinite(pair.y) and pair.x < pair.y:
                state.param_ranges[name] = (float(pair.x), float(pair.y))
            imgui.end_popup()

    changed |= draw_image_entry(state, ui, ui.image)
    changed |= draw_model_entry(state, ui, ui.model)
    if surface.dim == 2:
        if surface.sampled:
            (x0, x1), (y0, y1) = surface.domain
            imgui.text_colored(
                DIM,
                f"domain [{fnum(x0, 'g')}, {fnum(x1, 'g')}] x [{fnum(y0, 'g')}, {fnum(y1, 'g')}]",
            )
        elif _is_typed(surface):
            imgui.set_next_item_width(-6 * em)
            entered, ui.domain_text = imgui.input_text("domain", ui.domain_text, flags)
            imgui.set_item_tooltip("x0, x1, y0, y1 and Enter")
            if entered:
                domain = _parse_domain(ui)
                if domain is not None:
                    ui.compiler.submit(
                        surface.formula(),
                        "domain",
                        Surface.from_expr,
                        surface.formula(),
                        domain=domain,
                        params=surface.param_values,
                    )
            if ui.domain_error:
                imgui.text_colored(RED, ui.domain_error)
        else:
            (x0, x1), (y0, y1) = surface.domain
            imgui.text_colored(
                DIM,
                f"domain [{fnum(x0, 'g')}, {fnum(x1, 'g')}] x [{fnum(y0, 'g')}, {fnum(y1, 'g')}]",
            )
        imgui.set_next_item_width(-6 * em)
        scale = surface.height_scale
        top = max(100.0, 4.0 * scale)  # a photo 1000 pixels wide rises about 120
        moved, scale = imgui.slider_float(
            "height", scale, 1e-3, top, "%.3g", imgui.SliderFlags_.logarithmic
        )
        if moved and scale > 0:
            # A copy, so the cached height range (which depends on the scale) is rebuilt.
            new = state.surface.with_params()
            new.height_scale = float(scale)
            state.surface = new
            changed = True
    return changed


def _parse_domain(ui: UiState):
    try:
        v = parse_floats(ui.domain_text, "domain", (4,))
    except GradientExplorerError as exc:
        ui.domain_error = str(exc)
        return None
    if not (v[0] < v[1] and v[2] < v[3]):
        ui.domain_error = "domain needs x0 < x1 and y0 < y1"
        return None
    ui.domain_error = ""
    return ((v[0], v[1]), (v[2], v[3]))


def _domain_for(ui: UiState, text: str):
    """The typed domain for a 2D expression, None (the default) otherwise."""
    if "y" not in text:
        return None
    return _parse_domain(ui)


# ---------------------------------------------------------------------- View panel


def light_angles(direction) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of a light direction vector."""
    x, y, z = (float(v) for v in direction)
    r = math.sqrt(x * x + y * y + z * z) or 1.0
    return math.degrees(math.atan2(y, x)), math.degrees(math.asin(max(-1.0, min(1.0, z / r))))


def light_direction(azimuth: float, elevation: float) -> tuple[float, float, float]:
    """Unit vector from (azimuth, elevation) in degrees."""
    a, e = math.radians(azimuth), math.radians(elevation)
    return (math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e))


def draw_view_panel(state: AppState, ui: UiState) -> bool:
    """Lighting, level curves, floor map, field, normals, axes, tangent plane, light, views."""
    view = state.view
    em = _em()
    changed = False
    imgui.set_next_item_width(-6 * em)
    index = LIGHTING_MODES.index(view.lighting)
    moved, index = imgui.combo("lighting", index, list(LIGHTING_MODES))
    if moved:
        view.lighting = LIGHTING_MODES[index]
        changed = True
    imgui.set_next_item_width(-6 * em)
    moved, count = imgui.slider_int("contours", int(view.contours), 0, 60)
    if moved:
        view.contours = count
        changed = True
    for label, attr in (
        ("floor map", "floor"),
        ("gradient field", "field"),
        ("normal arrows", "normal_arrows"),
        ("axes", "axes"),
        ("tangent plane", "tangent_plane"),
    ):
        moved, value = imgui.checkbox(label, bool(getattr(view, attr)))
        if moved:
            setattr(view, attr, value)
            if attr == "field" and value:
                view.floor = True  # the field is drawn on the floor map
            changed = True
    az, el = light_angles(view.light_direction)
    imgui.set_next_item_width(-6 * em)
    moved_a, az = imgui.slider_float("light az", az, -180.0, 180.0, "%.0f deg")
    imgui.set_next_item_width(-6 * em)
    moved_e, el = imgui.slider_float("light el", el, 5.0, 90.0, "%.0f deg")
    if moved_a or moved_e:
        view.light_direction = light_direction(az, el)
        changed = True
    ortho = state.camera.projection == "orthographic"
    moved, ortho = imgui.checkbox("orthographic", ortho)
    if moved:
        state.camera.projection = "orthographic" if ortho else "perspective"
        changed = True
    for label, name in (("Top", "top"), ("Side", "side"), ("3/4", "three_quarter")):
        if imgui.button(label, imgui.ImVec2(4 * em, 0)):
            state.camera.preset(name, aspect=ui.aspect)
            changed = True
        imgui.same_line()
    if imgui.button("Reset", imgui.ImVec2(4 * em, 0)):
        state.camera.reset()
        changed = True
    return changed


# ---------------------------------------------------------------------- Point panel


@dataclass(frozen=True)
class PointReadout:
    """The numbers the Point panel shows (numpy only, so tests can check them)."""

    f: float
    gradient: np.ndarray
    length: float
    angle: float  # degrees of the gradient from +x
    direction: np.ndarray  # unit vector of the dial
    directional: float  # D_u f = grad f . u
    level_directional: float  # D_u f along the level curve (gradient turned 90 degrees)
    hessian: np.ndarray
    eigenvalues: tuple[float, ...]
    verdict: str


def point_readout(surface: Surface, point, degrees: float) -> PointReadout:
    """f, gradient, directional derivatives, Hessian and verdict at ``point``."""
    measured = probe_point(surface, point)
    grad, length = measured.gradient, measured.length
    a = math.radians(degrees)
    u = np.array([math.cos(a), math.sin(a)])
    along_level = np.array([-grad[1], grad[0]]) / length if length > 0 else np.array([1.0, 0.0])
    with np.errstate(all="ignore"):
        d_u = float(grad @ u)
        d_level = float(grad @ along_level)
    return PointReadout(
        f=measured.f,
        gradient=grad,
        length=length,
        angle=measured.angle if length > 0 else 0.0,
        direction=u,
        directional=d_u,
        level_directional=d_level,
        hessian=measured.hessian,
        eigenvalues=measured.verdict.eigenvalues,
        verdict=measured.verdict.classification,
    )


def _dial(state: AppState, readout: PointReadout, radius: float) -> bool:
    """A round dial: drag to turn the direction; the gradient is drawn in red."""
    start = imgui.get_cursor_screen_pos()
    size = imgui.ImVec2(2 * radius, 2 * radius)
    imgui.invisible_button("##dial", size)
    cx, cy = start.x + radius, start.y + radius
    changed = False
    if imgui.is_item_active():
        mouse = imgui.get_io().mouse_pos
        dx, dy = mouse.x - cx, mouse.y - cy
        if dx * dx + dy * dy > 4.0:
            state.direction = math.degrees(math.atan2(-dy, dx))  # screen y is down
            changed = True
    draw = imgui.get_window_draw_list()
    draw.add_circle_filled((cx, cy), radius, imgui.get_color_u32((0.16, 0.17, 0.21, 1.0)))
    draw.add_circle((cx, cy), radius, imgui.get_color_u32((0.5, 0.52, 0.6, 1.0)), 48, 1.0)
    r = radius - 3.0
    if readout.length > 0:
        g = math.radians(readout.angle)
        for sign in (-1.0, 1.0):  # the level curve's tangent line, through the centre
            ex, ey = cx + sign * r * -math.sin(g), cy - sign * r * math.cos(g)
            draw.add_line((cx, cy), (ex, ey), imgui.get_color_u32((0.6, 0.6, 0.65, 0.8)), 1.0)
        gx, gy = cx + r * math.cos(g), cy - r * math.sin(g)
        draw.add_line((cx, cy), (gx, gy), imgui.get_color_u32(GRADIENT_RED), 2.0)
    u = readout.direction
    ux, uy = cx + r * u[0], cy - r * u[1]
    draw.add_line((cx, cy), (ux, uy), imgui.get_color_u32(DIAL_YELLOW), 2.5)
    draw.add_circle_filled((ux, uy), 3.5, imgui.get_color_u32(DIAL_YELLOW))
    return changed


def draw_point_panel(state: AppState, ui: UiState) -> bool:
    """x, y, f, gradient, the direction dial with D_u f, Hessian, eigenvalues, verdict."""
    surface = state.surface
    em = _em()
    if surface.dim != 2:
        imgui.text_colored(DIM, "The point lives on height surfaces (surface mode).")
        return False
    if state.point is None:
        imgui.text_colored(DIM, "Click the surface to place the point.")
        return False
    changed = False
    (x0, x1), (y0, y1) = surface.domain
    speed = 0.002 * max(x1 - x0, y1 - y0)
    imgui.set_next_item_width(-6 * em)
    # Enough decimals for a drag step on this domain; imgui prints with C's %f, which
    # shows -0.0000 for a tiny negative: hand it 0 there (the point itself is not rounded).
    digits = max(4, 3 - math.floor(math.log10(max(x1 - x0, y1 - y0))))
    tiny = 0.5 * 10.0**-digits
    shown = [0.0 if abs(v) < tiny else float(v) for v in state.point]
    moved, xy = imgui.drag_float2("x, y", shown, speed, 0.0, 0.0, f"%.{digits}f")
    if moved:
        state.point = (min(max(xy[0], x0), x1), min(max(xy[1], y0), y1))
        ui.animation = None
        changed = True
    r = point_readout(surface, state.point, state.direction)
    imgui.text(f"f = {fnum(r.f, '.6g')}")
    imgui.text_colored(GRADIENT_RED, f"grad f = {format_numbers(r.gradient)}")
    imgui.text(f"|grad f| = {fnum(r.length)}   angle {fnum(r.angle, '.1f')} deg")

    imgui.separator_text("direction")
    radius = 3.2 * em
    changed |= _dial(state, r, radius)
    imgui.same_line()
    imgui.begin_group()
    imgui.set_next_item_width(9 * em)
    moved, degrees = imgui.slider_float("##dir", state.direction, -180.0, 180.0, "%.1f deg")
    if moved:
        state.direction = degrees
        changed = True
    imgui.text_colored(DIAL_YELLOW, f"D_u f = {_num(r.directional, r.length)}")
    imgui.text_colored(DIM, f"= |grad f| cos({fnum(_wrap(state.direction - r.angle), '.0f')} deg)")
    if imgui.small_button("along grad f"):
        state.direction = r.angle
        changed = True
    if imgui.small_button("along the level curve"):
        state.direction = _wrap(r.angle + 90.0)
        changed = True
    imgui.end_group()
    imgui.text(f"largest, along grad f:  D = {fnum(r.length)}")
    imgui.text(f"along the level curve:  D = {_num(r.level_directional, r.length)}")
    moved, value = imgui.checkbox("show the slice along the dial", state.view.slice)
    if moved:
        state.view.slice = value
        changed = True

    imgui.separator_text("second derivatives")
    h = r.hessian
    imgui.text(f"H = [{fnum(h[0, 0], '9.4g')} {fnum(h[0, 1], '9.4g')}]")
    imgui.text(f"    [{fnum(h[1, 0], '9.4g')} {fnum(h[1, 1], '9.4g')}]")
    if r.eigenvalues:
        imgui.text("eigenvalues " + ", ".join(fnum(v) for v in r.eigenvalues))
    imgui.text("verdict:")
    imgui.same_line()
    imgui.text_colored(VERDICT_COLORS.get(r.verdict, DIM), r.verdict)
    if imgui.small_button("remove point"):
        state.point = None
        ui.animation = None
        changed = True
    return changed


def _num(value: float, scale: float) -> str:
    """A derivative for display: rounding noise next to ``scale`` shows as 0."""
    if abs(value) <= 1e-12 * max(1.0, abs(scale)):
        return "0"
    return fnum(value)


def _wrap(degrees: float) -> float:
    """Angle in (-180, 180]."""
    d = (degrees + 180.0) % 360.0 - 180.0
    return 180.0 if d == -180.0 else d


# ---------------------------------------------------------------------- Try this


TRY_THIS = (
    (
        "1D: tangent goes flat",
        "Curve mode, Play: watch the tangent go flat at every peak and valley.",
    ),
    (
        "Saddle: gradient vanishes",
        "The point glides to the saddle's centre: the arrow shrinks to nothing and the "
        "verdict reads 'saddle', though it is no minimum.",
    ),
    (
        "Banana: arrow vs level curves",
        "Drag the point anywhere: the gradient arrow always crosses the level curves at a "
        "right angle.",
    ),
    (
        "Banana: race the optimizers",
        "From the teaching start: gd zig-zags across the valley and crawls along it, sgd's "
        "momentum overshoots and comes back, Adam keeps a steady step. Newton jumps: its "
        "second step leaves the picture past the front edge (its trail stops there, at a "
        "bar) and its third lands back in the valley; it is at the minimum within six steps.",
    ),
)

#: The racers of "Banana: race the optimizers": one of each character.
TRY_RACE = ("gd", "sgd", "adam", "newton")


def try_curve_mode(state: AppState, ui: UiState) -> None:
    """(1) The 1D mode, playing: the tangent sweeps along the cubic (built, if it is not
    yet, by :func:`sync_curve`)."""
    state.mode = "curve"
    state.playing = True
    state.curve.source = "catalogue"
    state.curve.name = "cubic"
    state.curve.playing = True
    ui.say(TRY_THIS[0][1])


def try_saddle(state: AppState, ui: UiState) -> None:
    """(2) The saddle, with the point gliding from a corner to (0, 0), once built."""
    _try_surface(ui, "saddle", _saddle_steps)


def _try_surface(ui: UiState, name: str, steps) -> None:
    """Build ``name`` in the pipeline; ``steps(state, ui)`` set the scene once it is in."""
    choose_surface(ui, name)
    ui.after_build = (name, steps)


def _saddle_steps(state: AppState, ui: UiState) -> None:
    state.view.tangent_plane = True
    start = tuple(state.surface.teaching.start)
    state.point = start
    ui.animation = PointAnimation(start, (0.0, 0.0), duration=2.5)
    ui.say(TRY_THIS[1][1])


def try_banana(state: AppState, ui: UiState) -> None:
    """(3) The banana, the point placed on the valley's wall, the floor map, once built."""
    _try_surface(ui, "banana", _banana_steps)


def _banana_steps(state: AppState, ui: UiState) -> None:
    state.view.floor = True
    state.point = tuple(state.surface.teaching.start)
    ui.animation = None
    ui.say(TRY_THIS[2][1])


def try_race(state: AppState, ui: UiState) -> None:
    """(4) The banana, a race of :data:`TRY_RACE` from the teaching start with the teaching
    learning rates, playing, the descent panel open, once built."""
    _try_surface(ui, "banana", _race_steps)


def _race_steps(state: AppState, ui: UiState) -> None:
    surface = state.surface
    state.view.floor = True
    state.point = None  # the race starts from the teaching start
    ui.animation = None
    ds = state.descent
    ds.teaching_for = None  # this lesson's values, even over ones the user set
    ds.adopt_teaching(surface)
    ds.kind, ds.race = "race", list(TRY_RACE)
    ds.start_run(surface)
    ds.playing = True
    ui.show_descent = True
    ui.say(TRY_THIS[3][1])


def draw_try_this_panel(state: AppState, ui: UiState) -> bool:
    """Four buttons, each with its sentence."""
    em = _em()
    changed = False
    actions = (try_curve_mode, try_saddle, try_banana, try_race)
    for (label, sentence), action in zip(TRY_THIS, actions, strict=True):
        if imgui.button(label, imgui.ImVec2(-1, 0)):
            action(state, ui)
            changed = True
        imgui.push_text_wrap_pos(imgui.get_cursor_pos_x() + 22 * em)
        imgui.text_colored(DIM, sentence)
        imgui.pop_text_wrap_pos()
        imgui.spacing()
    return changed


# ---------------------------------------------------------------------- windows


PANEL_WIDTH_EM = LEFT_EM  # the side panel's width (the layout keeps it free)
HELP_ACTION_EM = 21.5  # the help's action column: the longest action wraps
HELP_WIDTH_EM = 37.0  # the help at its widest
#: Height kept free under the right-hand panels for the Session window (the window puts
#: it in the bottom-right corner, 2.4 em up, about 5.6 em tall) and a margin.
SESSION_RESERVE_EM = RESERVE_EM


def draw_panels(state: AppState, ui: UiState, extra: frozenset = frozenset()) -> bool:
    """The side panel with all sections, the status line and (if asked) the help.

    ``extra``: the layout's keys of the open panels the window draws itself (attack,
    backprop), so that the layout keeps room for them."""
    em = _em()
    io = imgui.get_io()
    width, height = io.display_size.x, io.display_size.y
    changed = False
    imgui.set_next_window_pos(imgui.ImVec2(0.5 * em, 0.5 * em), imgui.Cond_.always)
    imgui.set_next_window_size_constraints(
        imgui.ImVec2(PANEL_WIDTH_EM * em, 0.0),
        imgui.ImVec2(PANEL_WIDTH_EM * em, max(height - 3.0 * em, 4 * em)),
    )
    imgui.set_next_window_bg_alpha(0.88)
    flags = imgui.WindowFlags_.always_auto_resize | imgui.WindowFlags_.no_move
    expanded, _ = imgui.begin("gradient-explorer", None, flags)
    if expanded:
        open_ = imgui.TreeNodeFlags_.default_open
        if imgui.collapsing_header("Surface", open_):
            changed |= draw_surface_panel(state, ui)
        if imgui.collapsing_header("Point", open_):
            changed |= draw_point_panel(state, ui)
        if imgui.collapsing_header("View"):
            changed |= draw_view_panel(state, ui)
        imgui.separator()
        _, ui.show_descent = imgui.checkbox("balls and optimizers", ui.show_descent)
        in_curve = state.mode == "curve"
        clicked, in_curve = imgui.checkbox("1D mode (tangent sweep)", in_curve)
        if clicked:
            state.mode = "curve" if in_curve else "surface"
            changed = True
        if imgui.collapsing_header("Try this", open_):
            changed |= draw_try_this_panel(state, ui)
    imgui.end()
    # The other panels stand in the right-hand column(s) of ``ui.layout`` (layout.py):
    # placed when one opens or closes or the window resizes, never on top of each other.
    show_descent = (ui.show_descent or state.descent.active) and state.mode != "curve"
    model = getattr(state.surface, "model", None) is not None
    open_ = set(extra)
    open_ |= {"curve"} if state.mode == "curve" else set()
    open_ |= {"descent"} if show_descent else set()
    open_ |= {"data"} if model else set()
    open_ |= {"view2d"} if view_window_shown(state, ui.image) else set()
    open_ |= {"help"} if ui.show_help else set()
    placement = ui.layout.update((width, height), open_)
    scale = io.display_framebuffer_scale.x or 1.0
    x0, y0, x1, y1 = placement.free
    # the picture is framed in the free area (window._fit_free_region)
    state.view.insets = (x0 * scale, max(width - x1, 0.0) * scale)
    state.view.bottom_inset = max(height - y1, 0.0) * scale
    state.view.top_inset = max(y0, 0.0) * scale
    if state.mode == "curve":
        ui.layout.place("curve")
        room = placement.room("curve", height - SESSION_RESERVE_EM * em)  # scrolls past it
        imgui.set_next_window_size_constraints(
            imgui.ImVec2(0.0, 0.0), imgui.ImVec2(width, max(room, 6 * em))
        )
        building = ui.compiler.busy and ui.compiler.source == "curve"
        changed |= draw_curve_panel(state, ui.rects, building)
    if show_descent:
        ui.layout.place("descent")
        # ends above the Session window, which would hide the schedule row and the
        # divergence warning at the panel's bottom; the panel scrolls instead
        room = placement.room("descent", height - SESSION_RESERVE_EM * em)
        imgui.set_next_window_size_constraints(
            imgui.ImVec2(0.0, 0.0), imgui.ImVec2(width, max(room, 6 * em))
        )
        changed |= draw_descent_panel(state, ui.rects)
    draw_view_window(state, ui, ui.image, (width, height))
    if model:
        ui.layout.place("data")
    room = placement.room("data", height)
    draw_data_panel(state, (width, height), max_height=room, placed=True)
    draw_status_line(state, ui, (width, height))
    if ui.show_help:
        ui.layout.place_help((width, height))
        draw_help(ui, (width, height), placement.room("help", height - 4 * _em()))
    return changed


def play_status(state: AppState) -> str:
    """What the status line says is moving: the sweep or the balls, else nothing.

    Read from what actually advances each frame (a ball dropped or a run started from
    the panel plays without Space), not from the Space key's flag.
    """
    if state.mode == "curve":
        return "playing" if state.curve.playing else "paused"
    descent = state.descent
    if descent.active:
        if any(d.running for d in descent.descents):
            if descent.step_by_step:
                return "step by step"
            return "playing" if descent.playing else "paused"
        return "finished"
    return "playing" if state.playing else "paused"


def draw_status_line(state: AppState, ui: UiState, size: tuple[float, float]) -> None:
    """Frame rate, GL renderer and the latest message, along the bottom edge."""
    em = _em()
    width, height = size
    line = 1.9 * em
    imgui.set_next_window_pos(imgui.ImVec2(0.0, height - line), imgui.Cond_.always)
    imgui.set_next_window_size(imgui.ImVec2(width, line), imgui.Cond_.always)
    imgui.set_next_window_bg_alpha(0.7)
    flags = (
        imgui.WindowFlags_.no_decoration
        | imgui.WindowFlags_.no_inputs
        | imgui.WindowFlags_.no_saved_settings
        | imgui.WindowFlags_.no_focus_on_appearing
        | imgui.WindowFlags_.no_bring_to_front_on_focus
    )
    imgui.begin("##status", None, flags)
    mode = "curve" if state.mode == "curve" else "surface"
    status = f"{ui.fps:5.1f} fps | {ui.gl_renderer} | {mode}, {play_status(state)} |"
    imgui.text_colored(DIM, status)
    note = drawing_note(state.surface) if state.mode != "curve" else None
    text, color = "", DIM
    if ui.message:
        text = ui.message
        color = RED if ui.message_is_error else imgui.ImVec4(1, 1, 1, 1)
    elif note:  # heights past float32: said while nothing newer is
        text, color = note, DIAL_YELLOW
    if text:
        imgui.same_line()
        # One line: a message longer than the room left of "F1: help" ends in "...",
        # and the whole of it shows while the pointer is on the status line.
        room = width - 7 * em - imgui.get_cursor_pos_x()
        shown = ellipsize(text, room, lambda s: imgui.calc_text_size(s).x)
        imgui.text_colored(color, shown)
        if shown != text and imgui.is_mouse_hovering_rect(
            imgui.ImVec2(0.0, height - line), imgui.ImVec2(width, height)
        ):  # the window takes no inputs (clicks go through): hovering is checked by hand
            imgui.push_style_var(imgui.StyleVar_.window_padding, imgui.ImVec2(em, 0.5 * em))
            imgui.begin_tooltip()
            imgui.push_text_wrap_pos(min(width - 2 * em, 40 * em))
            imgui.text(text)
            imgui.pop_text_wrap_pos()
            imgui.end_tooltip()
            imgui.pop_style_var()
    imgui.same_line(width - 6 * em)
    imgui.text_colored(DIM, "F1: help")
    imgui.end()


def draw_help(ui: UiState, size: tuple[float, float], room: float | None = None) -> None:
    """The keys and mouse bindings, a panel the layout stacks with the others (opened last,
    on top of the right-hand column): it hides no panel, and the picture is framed in the
    room it leaves, so what it explains stays in sight. ``room``: the most height it may
    take (it scrolls past that)."""
    em = _em()
    width, height = size
    tall = max(room if room is not None else height - 4 * em, 8 * em)
    imgui.set_next_window_size_constraints(
        imgui.ImVec2(0, 0), imgui.ImVec2(min(width - 2 * em, HELP_WIDTH_EM * em), tall)
    )
    imgui.set_next_window_bg_alpha(1.0)  # beside the picture, not over it: opaque, legible
    flags = imgui.WindowFlags_.always_auto_resize
    _, still_open = imgui.begin("Keys and mouse", True, flags)
    if imgui.begin_table("##keys", 2, imgui.TableFlags_.row_bg):
        imgui.table_setup_column("key", imgui.TableColumnFlags_.width_fixed)  # as its text
        imgui.table_setup_column("action", imgui.TableColumnFlags_.width_fixed, HELP_ACTION_EM * em)
        for key, action in KEY_HELP:  # the one key table (view/keys.py)
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text_colored(DIAL_YELLOW, key)
            imgui.table_next_column()
            imgui.push_text_wrap_pos(0.0)  # wrapped at the column's edge
            imgui.text(action)
            imgui.pop_text_wrap_pos()
        imgui.end_table()
    imgui.end()
    if not still_open:
        ui.show_help = False


def frame_rate(previous: float, dt: float) -> float:
    """Smoothed frames per second (exponential average over about half a second)."""
    if dt <= 0:
        return previous
    fps = 1.0 / dt
    if previous <= 0:
        return fps
    w = min(1.0, dt / 0.5)
    return previous + (fps - previous) * w


def timestamp() -> str:
    """Local time for file names, e.g. 20260101-120000."""
    return time.strftime("%Y%m%d-%H%M%S")
