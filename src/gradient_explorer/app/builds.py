"""What the app does with the build pipeline's requests and results (no drawing).

The Surface panel, the catalogue, the 1D mode, Ctrl+O and "Try this" ask for builds
here; :func:`apply_compiled` installs a finished one in the app's state once per frame.
The building itself (threads, worker process, cancelling, shader warm-up) is
:class:`gradient_explorer.workers.pipeline.SurfaceCompiler`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gradient_explorer.app.curve_mode import build_curve, follow_surface
from gradient_explorer.app.session import adopt_session, load_session
from gradient_explorer.app.state import AppState
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.workers.helper_process import one_line

if TYPE_CHECKING:  # annotations only: the panels module holds UiState and imports this one
    from gradient_explorer.app.ui.panels import UiState

__all__ = [
    "apply_compiled",
    "choose_surface",
    "compile_expression",
    "load_session_later",
    "sync_curve",
]


def apply_compiled(state: AppState, ui: UiState) -> bool:
    """Install a finished background build (call once per frame). True if it changed.

    Then start the 1D mode's curve if its fields ask for one not built (:func:`sync_curve`).
    """
    changed = _apply_result(state, ui)
    sync_curve(state, ui)
    return changed


def sync_curve(state: AppState, ui: UiState) -> None:
    """Build the 1D mode's own curve in the pipeline when its fields ask for another.

    The 1D panel, "Try this" and a loaded session only set the curve's fields; the curve
    is built here, like every surface the app builds, and shown when it arrives (the last
    one stays meanwhile). A newer curve replaces one being built, as in the Surface panel;
    a surface being built is waited for. A refused curve is not asked for again until the
    panel clears its error (the user enters it anew).
    """
    cs = state.curve
    cs.inline = False  # never build on the frame thread (a loaded session's state too)
    if ui.curve_request is not None and ui.compiler.source != "curve":
        ui.curve_request = None  # a surface build replaced it: ask again when it is done
    wanted = cs.wanted()
    if wanted is None or wanted == cs.built() or wanted == ui.curve_request:
        return
    if wanted == ui.curve_failed and cs.error:
        return
    if ui.compiler.busy and ui.compiler.source != "curve":
        return
    ui.curve_request = wanted
    ui.compiler.submit(wanted[1], "curve", build_curve, *wanted)


def _apply_curve(state: AppState, ui: UiState, curve, error: str | None) -> bool:
    cs, wanted = state.curve, ui.curve_request
    ui.curve_request = None
    shown = state.mode == "curve"  # the status line speaks of curves on screen only
    if wanted is None:
        return False
    if error is not None:
        ui.curve_failed = wanted
        built = cs.built()
        if built is not None and cs.wanted() == wanted:
            cs.restore(built)  # the fields name the curve on screen again
        cs.error = error
        if shown:
            ui.say(error, error=True)
        return False
    cs.install(wanted, curve)
    ui.curve_failed = None
    if cs.wanted() == wanted:
        cs.error = ""
        if shown:
            ui.say(f"{curve.name}: {curve.formula()}")
    return True


def keep_shared_params(old, old_ranges: dict, new):
    """A parameter named in the last surface and in the new typed text keeps the value
    and slider range it had: the text holds no values, and an edit of the formula (a
    term added to the banana) must not reset its b from 100 to the typed default 1.
    Returns the new surface with them and the kept ranges (by name)."""
    shared = [k for k in getattr(new, "params", {}) if k in getattr(old, "params", {})]
    if not shared:
        return new, {}
    values = {k: old.param_values[k] for k in shared}
    ranges = {}
    for k in shared:
        lo, hi = old_ranges.get(k, (old.params[k].lo, old.params[k].hi))
        ranges[k] = (min(lo, values[k]), max(hi, values[k]))
    return new.with_params(**values), ranges


def load_session_later(ui: UiState, path: Path, loaded: Callable[[Path], None]) -> None:
    """Ctrl+O: read, check and build the session file in the pipeline (its surface and
    1D curve may be typed expressions); ``loaded(path)`` runs once it is in place."""
    path = Path(path).absolute()  # the worker reads it: the same file whatever its cwd
    ui.session_request = (path, loaded)
    ui.compiler.submit(path.name, "session", load_session, path, ui.aspect)


def _apply_session(state: AppState, ui: UiState, new, error: str | None) -> bool:
    request, ui.session_request = ui.session_request, None
    if error is not None:
        ui.say(error, error=True)  # a refused file changes nothing
        return False
    ui.previous_surface = state.surface  # back to it if the GPU cannot draw the new one
    try:
        adopt_session(state, new, ui.aspect)
    except Exception as exc:  # a bug in adopting must not close the window
        traceback.print_exc()
        ui.say(f"session not loaded ({one_line(exc, with_type=True)})", error=True)
        return False
    ui.expression = state.surface.formula()
    ui.animation = None
    if request is not None:
        request[1](request[0])
    return True


def _apply_result(state: AppState, ui: UiState) -> bool:
    result = ui.compiler.poll()
    if result is None:
        return False
    source, surface, error = result
    if source == "curve":
        return _apply_curve(state, ui, surface, error)
    if source == "session":
        return _apply_session(state, ui, surface, error)
    after, ui.after_build = ui.after_build, None
    if error is not None:
        if source == "expression":
            ui.expression_error = error
        elif source == "domain":
            ui.domain_error = error
        ui.say(error, error=True)
        return False
    old, old_ranges = state.surface, state.param_ranges
    kept = ""
    if source == "expression":
        typed = surface
        surface, state.param_ranges = keep_shared_params(old, old_ranges, typed)
        kept = ", ".join(
            f"{k} = {surface.param_values[k]:.4g}"
            for k in state.param_ranges
            if surface.param_values[k] != typed.param_values[k]
        )
    else:
        state.param_ranges = {}
    ui.previous_surface = old
    state.set_surface(surface, ui.aspect)
    state.mode = "surface"
    follow_surface(state)  # a curve opens the 1D mode, showing that curve
    if source == "expression":
        ui.expression_error = ""
    else:
        ui.expression = surface.formula()
    if source == "domain":
        ui.domain_error = ""
    note = getattr(getattr(surface, "samples", None), "note", "")  # a shrunk picture says so
    kept = f"; kept {kept} from the last surface" if kept else ""
    ui.say(f"{surface.name}: {surface.formula()}{kept}" + (f"; {note}" if note else ""))
    if after is not None and after[0] == surface.name:
        after[1](state, ui)
    return True


def compile_expression(ui: UiState, text: str, domain=None) -> None:
    """Start building a typed expression in the background (the old surface stays)."""
    ui.expression = text
    ui.expression_error = ""
    ui.compiler.submit(text, "expression", Surface.from_expr, text, domain=domain)


def choose_surface(ui: UiState, name: str) -> None:
    """Start loading a catalogue entry in the background."""
    ui.compiler.submit(name, "catalogue", Surface.named, name)
