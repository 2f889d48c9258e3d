"""Sessions: everything the user set, saved to a versioned JSON file and loaded back.

A session holds the surface (catalogue name, or typed expression with its name; the
parameters and the ranges set for their sliders; domain, display transform, height
scale; an image or elevation file with its operator; a model's loss with its data and
batches; the attack panel's input plane with its label and sliders), the view options,
the camera, the point and its direction dial, the mode, the 1D mode's state, and the
descent: the panel's settings (optimizers, hyperparameters, race,
swarm) and the balls of a run in progress (positions, steps, status, optimizer state,
trails), with the playing flags. Loading it gives the same picture, and a run in
progress continues exactly as it would have (a run saved without its race history gets
one rebuilt from the balls). The window's layout (``view.insets``, where the panels
stand) is not part of a session.

File format (version 1)::

    {"format": "gradient-explorer-session", "version": 1,
     "surface": {...}, "view": {...}, "camera": {...}, "point": [x, y] | null,
     "direction": deg, "mode": "surface" | "curve", "playing": bool,
     "curve": {...}, "descent": {..., "run": null | {...}}}

Rules a file must follow, all checked *before* anything is built or changed:

- at most :data:`MAX_BYTES` bytes, UTF-8 JSON, one object, nesting at most 64 deep;
- ``format`` and ``version`` as above (other versions are refused, not guessed at);
- no ``NaN``/``Infinity`` constants, no number beyond float range (``1e400``), no integer
  with more than 18 digits, no duplicate keys in an object;
- **unknown keys are refused** (a typo would otherwise be silently ignored); missing keys
  take the value a fresh :class:`~gradient_explorer.app.state.AppState` has, except
  ``format``, ``version`` and ``surface``, which are required;
- every value has its type and range checked (booleans are not numbers); expressions go
  through the same safe parser as typed input (:meth:`Surface.from_expr`);
- trails are capped (:data:`MAX_TRAIL_POINTS` points in all) and the race history to
  :data:`MAX_HISTORY_ROWS` rows, so a big swarm still fits the size limit.

A refused file raises :class:`~gradient_explorer.errors.SessionError` with one line that
names the problem (and the key path); the state given to :func:`apply_session` is then
untouched. Writes are atomic (:func:`~gradient_explorer.fileio.write_atomic`).

Each stateful part saves and restores itself (``state_dict()`` / ``load_state_dict()``:
the optimizers, :class:`~gradient_explorer.optim.descent.Descent`, the descent and 1D
modes, the camera); this module holds the file format, its version and the checks of the
file, and touches no private field of those parts.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gradient_explorer.app.attack_mode import InputAttack
from gradient_explorer.app.curve_mode import SOURCES, CurveState, catalogue_curves
from gradient_explorer.app.descent_mode import (
    KINDS,
    MAX_REBUILT_HISTORY,
    MAX_SWARM,
    DescentState,
    GlyphOptions,
)
from gradient_explorer.app.state import LIGHTING_MODES, AppState, ViewOptions
from gradient_explorer.errors import GradientExplorerError, SessionError
from gradient_explorer.fileio import write_atomic
from gradient_explorer.optim.descent import STATUS_NAMES
from gradient_explorer.optim.optimizers import OPTIMIZERS, make_optimizer
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface, check_expression

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "VERSION",
    "apply_session",
    "load_session",
    "read_session_dict",
    "save_session",
    "session_to_dict",
    "state_from_dict",
]

FORMAT = "gradient-explorer-session"
VERSION = 1
MAX_BYTES = 8 * 1024 * 1024  # a 10,000-ball swarm with its optimizer state fits
MAX_DEPTH = 64
MAX_INT_DIGITS = 18
MAX_TRAIL_POINTS = 20_000
MAX_HISTORY_ROWS = MAX_REBUILT_HISTORY  # a run saved without history comes back within it
MAX_TEXT = 2_000
MAX_MESSAGES = 50
MAX_RUNS = 32
# A loaded run replays its schedule step by step (torch's recursive rates): ten million
# steps (three days at 30 steps/s) replay in a few seconds; a file claiming 1e15 would hang
MAX_RUN_STEPS = 10_000_000
BIG = 1e12  # coordinates, parameters, camera values: far beyond any sensible picture
BUFFER_DTYPES = ("float64", "float32")  # optimizer buffers (NAdam's mu_product is float32)
DEFAULT_FILE = "gradient-explorer-session.json"


# ---------------------------------------------------------------------- saving


def _num(v: float) -> float | None:
    """A float for JSON: non-finite values (f undefined at a ball) become null."""
    v = float(v)
    return v if math.isfinite(v) else None


def _nums(a) -> list:
    """A float array as nested lists, non-finite entries as null."""
    arr = np.asarray(a, dtype=np.float64)
    if np.isfinite(arr).all():
        return arr.tolist()
    return np.where(np.isfinite(arr), arr, None).tolist()


def _surface_dict(surface, ranges: dict[str, tuple[float, float]]) -> dict[str, Any]:
    out: dict[str, Any]
    plane = getattr(surface, "input_plane", None)
    if getattr(surface, "model", None) is not None:  # a model's loss: how to build it again
        out = surface.session_dict()
    elif plane is not None:  # a classifier's loss over its input plane (the attack panel)
        if plane.recipe is None:
            raise SessionError("an input plane built from a dataset in Python cannot be saved")
        out = {"source": "input_plane", **plane.recipe, "label": int(plane.label)}
    elif surface.sampled:
        samples = surface.samples
        if not samples.path or samples.kind not in ("image", "heights"):
            raise SessionError(
                "a surface made from an array in Python has no file to save in a session"
            )
        out = {
            "source": samples.kind,
            "name": surface.name,
            "file": samples.path,
            "operator": samples.operator,
            "sigma": float(samples.sigma),
        }
    elif CATALOGUE.get(surface.name) == surface.definition:
        out = {"source": "catalogue", "name": surface.name}
    else:
        out = {
            "source": "expression",
            "name": surface.name,
            "expression": surface.formula(),
            "domain": [list(r) for r in surface.domain],
            "display": surface.display,
            "dim": surface.dim,
        }
    out["params"] = {k: float(v) for k, v in surface.param_values.items()}
    out["ranges"] = {
        k: [float(lo), float(hi)] for k, (lo, hi) in ranges.items() if k in surface.params
    }
    out["height_scale"] = float(surface.height_scale)
    return out


def _attack_dict(attack, surface) -> dict[str, Any]:
    """The input plane's sliders, under the surface they are drawn on."""
    if attack is None or attack.surface is not surface:
        return {}
    return {
        "attack": {
            "eps": float(attack.eps),
            "alpha": float(attack.alpha),
            "steps": int(attack.steps),
            "step": None if attack.step is None else int(attack.step),
        }
    }


def _view_dict(view) -> dict[str, Any]:
    return {
        "lighting": view.lighting,
        "contours": int(view.contours),
        "floor": bool(view.floor),
        "field": bool(view.field),
        "normal_arrows": bool(view.normal_arrows),
        "axes": bool(view.axes),
        "tangent_plane": bool(view.tangent_plane),
        "slice": bool(view.slice),
        "light_direction": [float(v) for v in view.light_direction],
        "line_width": float(view.line_width),
        "grid": int(view.grid),
        "field_grid": int(view.field_grid),
        "background": [float(v) for v in view.background],
    }


def _camera_dict(camera) -> dict[str, Any]:
    # The framed box (``scene``) sets the near/far planes: kept so the depth test matches.
    return camera.state_dict()


def _curve_dict(cs) -> dict[str, Any]:
    out = cs.state_dict()
    for key in ("x", "speed"):
        out[key] = float(out[key])
    for key in ("wrap", "playing", "show_derivative", "show_stationary"):
        out[key] = bool(out[key])
    out["sweep_direction"] = int(out["sweep_direction"])
    return out


def _hyper_json(hyper: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()}


def _run_dict(run: dict[str, Any], trail_budget: int) -> dict:
    """One run of :meth:`DescentState.state_dict` as the file holds it."""
    d = run["descent"]
    opt = d["optimizer"]
    state = None
    if opt["shape"] is not None:  # the optimizer has stepped: its buffers matter next step
        state = {
            "steps": opt["steps"].tolist(),
            "buffers": {
                k: {"dtype": str(v.dtype), "data": v.astype(np.float64).tolist()}
                for k, v in opt["state"].items()
            },
        }
    return {
        "optimizer": run["optimizer"],
        "label": run["label"],
        "color": [float(c) for c in run["color"]],
        "hyper": _hyper_json(run["hyper"]),
        "tol": float(run["tol"]),
        "trail_length": int(run["trail_length"]),
        "starts": np.asarray(d["starts"]).tolist(),
        "positions": d["positions"].tolist(),
        "previous": np.asarray(run["previous"]).tolist(),
        "status": list(d["status"]),
        "steps": d["steps"].tolist(),
        "stopped_at": d["stopped_at"].tolist(),
        "f": _nums(d["f"]),
        "gradient": _nums(d["gradient"]),
        "grad_norm": _nums(d["grad_norm"]),
        "trails": [t[len(t) - min(len(t), trail_budget) :].tolist() for t in d["trails"]],
        "optimizer_state": state,
        "clock": int(d["clock"]),
    }


def _descent_dict(ds, surface) -> dict[str, Any]:
    sd = ds.state_dict()
    out: dict[str, Any] = {
        "kind": sd["kind"],
        "optimizer": sd["optimizer"],
        "hyper": {name: _hyper_json(h) for name, h in sd["hyper"].items()},
        "race": list(sd["race"]),
        "swarm_size": int(sd["swarm_size"]),
        "swarm_grid": bool(sd["swarm_grid"]),
        "seed": int(sd["seed"]),
        "start": None if sd["start"] is None else [float(v) for v in sd["start"]],
        "playing": bool(sd["playing"]),
        "steps_per_second": float(sd["steps_per_second"]),
        "step_by_step": bool(sd["step_by_step"]),
        "tol": float(sd["tol"]),
        "schedule": sd["schedule"],
        "glyphs": {k: bool(v) for k, v in sd["glyphs"].items()},
        "run": None,
    }
    # A run on another surface is not drawn (the balls belong to the old one): not kept.
    run = sd["run"]
    if run is not None and ds.surface is surface:
        total = sum(len(r["descent"]["positions"]) for r in run["runs"])
        budget = max(1, MAX_TRAIL_POINTS // max(total, 1))
        out["run"] = {
            "runs": [_run_dict(r, budget) for r in run["runs"]],
            "history": [[_num(v) for v in row] for row in run["history"][:MAX_HISTORY_ROWS]],
            "messages": [str(m)[:MAX_TEXT] for m in run["messages"][-MAX_MESSAGES:]],
            "accum": float(run["accum"]),
            "domain": run["domain"],
        }
    return out


def session_to_dict(state) -> dict[str, Any]:
    """Everything the user set in ``state`` as plain JSON values (see the module notes)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "surface": _surface_dict(state.surface, state.param_ranges)
        | _attack_dict(getattr(state, "input_attack", None), state.surface),
        "view": _view_dict(state.view),
        "camera": _camera_dict(state.camera),
        "point": None if state.point is None else [float(v) for v in state.point],
        "direction": float(state.direction),
        "mode": state.mode,
        "playing": bool(state.playing),
        "curve": _curve_dict(state.curve),
        "descent": _descent_dict(state.descent, state.surface),
    }


def save_session(state, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` as a session file, atomically; return the path."""
    text = json.dumps(session_to_dict(state), allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_BYTES:
        raise SessionError(
            f"the session would be {len(text) / 2**20:.1f} MB, over the "
            f"{MAX_BYTES / 2**20:.0f} MB limit: clear the swarm first"
        )
    write_atomic(path, text + "\n")
    return Path(path)


# ---------------------------------------------------------------------- reading


def _no_constant(name: str):
    raise SessionError(f"{name} is not allowed in a session (numbers must be finite)")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SessionError(f"number {text[:40]} is too large")
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise SessionError(f"integer {text[:24]}... is too large")
    return int(text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SessionError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a deep file must not blow the Python stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def parse_session_text(text: str | bytes) -> dict[str, Any]:
    """JSON text to a dict with the session's lexical rules (constants, sizes, duplicates)."""
    if len(text) > MAX_BYTES:
        raise SessionError(
            f"file is {len(text) / 2**20:.1f} MB, over the {MAX_BYTES / 2**20:.0f} MB limit"
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SessionError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_pairs,
        )
    except SessionError:  # from the hooks: already says what is wrong
        raise
    except json.JSONDecodeError as exc:
        raise SessionError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise SessionError(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # int() of a digit string over Python's limit, and the like
        raise SessionError(f"bad number: {str(exc).splitlines()[0]}") from None
    if _depth(data) > MAX_DEPTH:
        raise SessionError(f"nested more than {MAX_DEPTH} levels deep")
    if not isinstance(data, dict):
        raise SessionError(f"a session is a JSON object, got {_type(data)}")
    return data


def read_session_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Read and parse ``path`` (size checked before reading it whole)."""
    p = Path(path)
    try:
        with open(p, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise SessionError(
                    f"file is {size / 2**20:.1f} MB, over the {MAX_BYTES / 2**20:.0f} MB limit"
                )
            data = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise SessionError("is a folder, not a session file") from None
    except FileNotFoundError:
        raise SessionError("no such file") from None
    except OSError as exc:
        raise SessionError(f"cannot read it: {exc.strerror or exc}") from None
    return parse_session_text(data)


# ---------------------------------------------------------------------- validation


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


class _Reader:
    """Typed access to one JSON object, with key paths in the error messages."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise SessionError(f"{path or 'session'} must be an object, got {_type(data)}")
        self.data, self.path, self.used = data, path, set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ..., required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required or default is ...:
                raise SessionError(f"{self.where(key)} is missing")
            return default
        return self.data[key]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise SessionError(f"unknown key {self.where(unknown[0])!r}")

    def sub(self, key: str, required: bool = False) -> _Reader | None:
        value = self.raw(key, None, required)
        if value is None and required:
            raise SessionError(f"{self.where(key)} must be an object, got null")
        return None if value is None else _Reader(value, self.where(key))

    # -- scalars
    def bool(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise SessionError(f"{self.where(key)} must be true or false, got {_type(value)}")
        return value

    def float(self, key, default, lo=-BIG, hi=BIG, lo_open=False) -> float:
        return check_float(self.raw(key, default), self.where(key), lo, hi, lo_open)

    def int(self, key, default, lo, hi) -> int:
        return check_int(self.raw(key, default), self.where(key), lo, hi)

    def str(self, key, default, choices=None, limit=MAX_TEXT) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise SessionError(f"{self.where(key)} must be text, got {_type(value)}")
        if len(value) > limit:
            raise SessionError(f"{self.where(key)} is longer than {limit} characters")
        if choices is not None and value not in choices:
            raise SessionError(
                f"{self.where(key)} must be one of {', '.join(choices)}, got {value[:40]!r}"
            )
        return value

    def floats(self, key, default, n, lo=-BIG, hi=BIG) -> tuple[float, ...]:
        value = self.raw(key, default)
        where = self.where(key)
        if not isinstance(value, list | tuple) or len(value) != n:
            raise SessionError(f"{where} must be a list of {n} numbers, got {_type(value)}")
        return tuple(check_float(v, f"{where}[{i}]", lo, hi) for i, v in enumerate(value))


def check_float(value, where: str, lo=-BIG, hi=BIG, lo_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SessionError(f"{where} must be a number, got {_type(value)}")
    v = float(value)
    if not (math.isfinite(v) and (lo < v if lo_open else lo <= v) and v <= hi):
        raise SessionError(f"{where} must be between {lo:g} and {hi:g}, got {v:g}")
    return v


def check_int(value, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SessionError(f"{where} must be an integer, got {_type(value)}")
    if not lo <= value <= hi:
        raise SessionError(f"{where} must be between {lo} and {hi}, got {value}")
    return value


def _array(value, where: str, shape: tuple, nullable: bool = False, integer: bool = False):
    """A nested list of numbers with ``shape`` (-1: any length) as an ndarray."""
    if len(shape) == 0:
        if nullable and value is None:
            return math.nan
        if integer:
            return check_int(value, where, -1, 10**15)
        return check_float(value, where, -1e300, 1e300)
    if not isinstance(value, list):
        raise SessionError(f"{where} must be a list, got {_type(value)}")
    if shape[0] != -1 and len(value) != shape[0]:
        raise SessionError(f"{where} must have {shape[0]} entries, got {len(value)}")
    items = [_array(v, f"{where}[{i}]", shape[1:], nullable, integer) for i, v in enumerate(value)]
    if len(shape) == 1:
        return np.array(items, dtype=np.int64 if integer else np.float64)
    if not items:
        return np.zeros((0, *(max(s, 0) for s in shape[1:])))
    return np.stack(items)


def _wrap(fn: Callable, where: str):
    """Run a constructor that raises the project's errors; name the key in the message."""
    try:
        return fn()
    except SessionError:
        raise
    except GradientExplorerError as exc:
        raise SessionError(f"{where}: {exc}") from None


# ---------------------------------------------------------------------- building


def _ranges_from(value, where: str, surface) -> dict[str, tuple[float, float]]:
    """The parameter sliders' ranges: ``{name: [lo, hi]}`` for the surface's parameters."""
    if not isinstance(value, dict):
        raise SessionError(f"{where} must be an object, got {_type(value)}")
    out = {}
    for name, pair in value.items():
        if name not in surface.params:
            known = ", ".join(surface.params) or "none"
            raise SessionError(
                f"{where}: unknown parameter {name[:40]!r} (this surface has {known})"
            )
        lo, hi = _array(pair, f"{where}.{name}", (2,))
        if not (lo < hi and abs(lo) <= BIG and abs(hi) <= BIG):
            raise SessionError(
                f"{where}.{name} must be [from, to] with from < to, within +-{BIG:g}"
            )
        out[name] = (float(lo), float(hi))
    return out


def _build_surface(r: _Reader):
    """The surface and the parameter sliders' ranges."""
    source = r.str(
        "source", None, ("catalogue", "expression", "image", "heights", "model", "input_plane")
    )
    attack = None
    params_value = r.raw("params", {})
    if not isinstance(params_value, dict):
        raise SessionError(f"{r.where('params')} must be an object, got {_type(params_value)}")
    params = {str(k): check_float(v, f"{r.where('params')}.{k}") for k, v in params_value.items()}
    ranges_value = r.raw("ranges", {})
    height_scale = None
    if r.has("height_scale"):
        height_scale = r.float("height_scale", None, 0.0, 1e9, lo_open=True)
    if source == "model":
        from gradient_explorer.surfaces.model_surface import model_from_session

        if params:
            raise SessionError(f"{r.where('params')}: a model surface has no parameters")
        surface = model_from_session(r, _wrap)
    elif source in ("image", "heights"):
        from gradient_explorer.surfaces.images import load_source
        from gradient_explorer.surfaces.operators import OPERATORS

        r.str("name", "", limit=200)
        file = r.str("file", None, limit=4096)
        operator = r.str("operator", "sobel", tuple(OPERATORS))
        sigma = r.float("sigma", 0.0, 0.0, 1e3)
        if params:
            raise SessionError(f"{r.where('params')}: an {source} surface has no parameters")
        r.done()
        surface = _wrap(lambda: load_source(file, operator, sigma, kind=source), r.where("file"))
    elif source == "input_plane":
        from gradient_explorer.surfaces.input_plane import input_plane

        data = r.str("data", "moons", limit=4096)
        hidden = r.int("hidden", 16, 1, 4096)
        seed = r.int("seed", 0, 0, 2**63 - 1)
        label = r.int("label", 1, 0, 1)
        a = r.sub("attack")
        if a is not None:
            step = a.raw("step", None)
            attack = {
                "eps": a.float("eps", 0.3, 0.0, 1e6),
                "alpha": a.float("alpha", 0.05, 0.0, 1e6, lo_open=True),
                "steps": a.int("steps", 10, 1, 10_000),
                "step": None if step is None else a.int("step", 0, 0, 10_000),
            }
            a.done()
        if params:
            raise SessionError(f"{r.where('params')}: an input plane has no parameters")
        r.done()
        surface = _wrap(
            lambda: input_plane(data, label, hidden=hidden, seed=seed).surface(), r.where("data")
        )
    elif source == "catalogue":
        name = r.str("name", None, limit=100)
        if name not in CATALOGUE:
            raise SessionError(f"{r.where('name')}: unknown catalogue surface {name[:40]!r}")
        r.done()
        surface = _wrap(lambda: Surface.named(name, **params), r.path)
    else:
        text = r.str("expression", None)
        name = r.str("name", "expression", limit=100)
        dim = r.int("dim", 2, 1, 2)
        display = r.str("display", "none", ("none", "log1p"))
        domain_value = r.raw("domain", None)
        domain = None
        if domain_value is not None:
            arr = _array(domain_value, r.where("domain"), (dim, 2))
            if np.abs(arr).max() > 1e6:
                raise SessionError(f"{r.where('domain')} must lie within +-1e6")
            domain = tuple((float(a), float(b)) for a, b in arr)
        r.done()
        surface = _wrap(
            lambda: Surface.from_expr(
                text, domain=domain, params=params, display=display, dim=dim, name=name
            ),
            r.where("expression"),
        )
    ranges = _ranges_from(ranges_value, r.where("ranges"), surface)
    if height_scale is not None:
        plane = getattr(surface, "input_plane", None)
        surface = surface.with_params()  # a copy: the cached height range is rebuilt
        surface.height_scale = height_scale
        if plane is not None:
            surface.input_plane = plane
    return surface, ranges, attack


def _build_view(r: _Reader | None):
    view = ViewOptions()
    if r is None:
        return view
    view.lighting = r.str("lighting", view.lighting, LIGHTING_MODES)
    view.contours = r.int("contours", view.contours, 0, 200)
    for key in ("floor", "field", "normal_arrows", "axes", "tangent_plane", "slice"):
        setattr(view, key, r.bool(key, getattr(view, key)))
    view.light_direction = r.floats("light_direction", view.light_direction, 3, -1e6, 1e6)
    if not any(view.light_direction):
        raise SessionError(f"{r.where('light_direction')} must not be zero")
    view.line_width = r.float("line_width", view.line_width, 0.05, 100.0)
    view.grid = r.int("grid", view.grid, 2, 4096)
    view.field_grid = r.int("field_grid", view.field_grid, 2, 256)
    view.background = r.floats("background", view.background, 3, 0.0, 1.0)
    r.done()
    return view


def _build_camera(r: _Reader | None, state, aspect: float) -> None:
    camera = state.camera
    if r is None:
        if state.surface.dim == 2:  # a curve has no 3D box to frame
            state.frame_camera(aspect)
        return
    scene = r.raw("scene", None)
    cam = {}
    for key in ("target", "azimuth", "elevation", "distance", "fov_y", "projection"):
        if r.has(key):
            cam[key] = r.raw(key)
    if "target" in cam:
        cam["target"] = tuple(_array(cam["target"], r.where("target"), (3,)))
    for key in ("azimuth", "elevation", "distance", "fov_y"):
        if key in cam:
            cam[key] = check_float(cam[key], r.where(key))
    if "projection" in cam:
        cam["projection"] = r.str("projection", None, ("perspective", "orthographic"))
    r.done()
    if scene is None:
        if state.surface.dim == 2:
            state.frame_camera(aspect)
    else:
        box = _array(scene, r.where("scene"), (2, 3))
        if np.abs(box).max() > BIG:
            raise SessionError(f"{r.where('scene')} must lie within +-{BIG:g}")
        cam["scene"] = box.tolist()
    _wrap(lambda: camera.load_state_dict(cam, aspect), r.path)


def _build_curve(r: _Reader | None, state) -> None:
    cs = CurveState()
    state.curve = cs
    if r is None:
        return
    fields = {
        "source": r.str("source", cs.source, SOURCES),
        "name": r.str("name", cs.name, catalogue_curves()),
        "expression": r.str("expression", cs.expression),
        "x": r.float("x", cs.x),
        "speed": r.float("speed", cs.speed, 0.0, 1e3),
        "wrap": r.bool("wrap", cs.wrap),
        "playing": r.bool("playing", cs.playing),
        "show_derivative": r.bool("show_derivative", cs.show_derivative),
        "show_stationary": r.bool("show_stationary", cs.show_stationary),
        "sweep_direction": r.int("sweep_direction", cs.sweep_direction, -1, 1),
    }
    if fields["sweep_direction"] == 0:
        raise SessionError(f"{r.where('sweep_direction')} must be -1 or 1")
    r.done()
    # The typed curve goes through the safe parser now, whether or not it is shown.
    _wrap(lambda: check_expression(fields["expression"]), r.where("expression"))
    _wrap(lambda: cs.load_state_dict(fields), r.path)
    if cs.source == "expression":
        _wrap(cs.own_curve, r.where("expression"))


def _hyper_from(value, where: str, optimizer: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SessionError(f"{where} must be an object, got {_type(value)}")
    hyper = {str(k): tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    opt = _wrap(lambda: make_optimizer(optimizer, **hyper), where)
    return dict(opt.hyper)


def _build_descent(r: _Reader | None, state) -> None:
    ds = DescentState()
    state.descent = ds
    ds.adopt_teaching(state.surface)  # the session's own values, if any, override these
    if r is None:
        return
    names = tuple(OPTIMIZERS)
    dim = state.surface.dim
    settings: dict[str, Any] = {
        "kind": r.str("kind", ds.kind, KINDS),
        "optimizer": r.str("optimizer", ds.optimizer, names),
    }
    hyper = r.raw("hyper", {})
    if not isinstance(hyper, dict):
        raise SessionError(f"{r.where('hyper')} must be an object, got {_type(hyper)}")
    settings["hyper"] = {}
    for name, values in hyper.items():
        if name not in OPTIMIZERS:
            raise SessionError(f"{r.where('hyper')}: unknown optimizer {name[:40]!r}")
        settings["hyper"][name] = _hyper_from(values, f"{r.where('hyper')}.{name}", name)
    race = r.raw("race", ds.race)
    if not isinstance(race, list) or len(race) > MAX_RUNS:
        raise SessionError(f"{r.where('race')} must be a list of at most {MAX_RUNS} names")
    for i, name in enumerate(race):
        if not isinstance(name, str) or name not in OPTIMIZERS:  # a list is unhashable
            raise SessionError(f"{r.where('race')}[{i}]: unknown optimizer {str(name)[:40]!r}")
    settings["race"] = list(race)
    settings["swarm_size"] = r.int("swarm_size", ds.swarm_size, 1, MAX_SWARM)
    settings["swarm_grid"] = r.bool("swarm_grid", ds.swarm_grid)
    settings["seed"] = r.int("seed", ds.seed, 0, 2**63 - 1)
    start = r.raw("start", None)
    settings["start"] = None if start is None else tuple(r.floats("start", None, dim))
    settings["playing"] = r.bool("playing", ds.playing)
    settings["steps_per_second"] = r.float("steps_per_second", ds.steps_per_second, 0.0, 1e6)
    settings["step_by_step"] = r.bool("step_by_step", ds.step_by_step)
    settings["tol"] = r.float("tol", ds.tol, 0.0, 1e6)
    settings["schedule"] = r.str("schedule", "constant", limit=200)
    g = r.sub("glyphs")
    if g is not None:
        settings["glyphs"] = {k: g.bool(k, v) for k, v in vars(GlyphOptions()).items()}
        g.done()
    run = r.sub("run")
    r.done()
    settings["run"] = None if run is None else _read_run(run, state.surface)
    where = r.path if run is None else run.path
    _wrap(lambda: ds.load_state_dict(settings, state.surface), where)


def _read_run(r: _Reader, surface) -> dict[str, Any]:
    """The file's run as :meth:`DescentState.load_state_dict` takes it."""
    runs = r.raw("runs", required=True)
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        raise SessionError(f"{r.where('runs')} must be a list of 1 to {MAX_RUNS} runs")
    read = [_read_one(_Reader(v, f"{r.where('runs')}[{i}]"), surface) for i, v in enumerate(runs)]
    if sum(len(one["descent"]["starts"]) for one in read) > MAX_SWARM:
        raise SessionError(f"{r.where('runs')} holds more than {MAX_SWARM} balls")
    history = _array(r.raw("history", []), r.where("history"), (-1, len(read)), nullable=True)
    if len(history) > MAX_HISTORY_ROWS:
        raise SessionError(f"{r.where('history')} has more than {MAX_HISTORY_ROWS} rows")
    messages = r.raw("messages", [])
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        raise SessionError(f"{r.where('messages')} must be a list of at most {MAX_MESSAGES}")
    for i, m in enumerate(messages):
        if not isinstance(m, str) or len(m) > MAX_TEXT:
            raise SessionError(f"{r.where('messages')}[{i}] must be text")
    accum = r.float("accum", 0.0, 0.0, 1.0)
    domain = r.raw("domain", None)  # checked by the descent mode, before anything changes
    r.done()
    # No history in the file: the descent mode rebuilds one from the balls.
    out = {"runs": read, "history": history, "messages": list(messages), "accum": accum}
    if domain is not None:
        out["domain"] = domain
    return out


def _read_one(r: _Reader, surface) -> dict[str, Any]:
    """One run of the file as an entry of :meth:`DescentState.state_dict`'s ``runs``."""
    dim = surface.dim
    name = r.str("optimizer", None, tuple(OPTIMIZERS))
    label = r.str("label", name, limit=100)
    color = r.floats("color", (1.0, 0.45, 0.1), 3, 0.0, 1.0)
    hyper = _hyper_from(r.raw("hyper", {}), r.where("hyper"), name)
    tol = r.float("tol", 1e-6, 0.0, 1e6)
    trail_length = r.int("trail_length", 512, 1, 4096)
    starts = _array(r.raw("starts", required=True), r.where("starts"), (-1, dim))
    n = len(starts)
    if not 1 <= n <= MAX_SWARM:
        raise SessionError(f"{r.where('starts')} must hold 1 to {MAX_SWARM} balls")

    def arr(key, shape, **kw):
        return _array(r.raw(key, required=True), r.where(key), shape, **kw)

    positions = arr("positions", (n, dim))
    previous = arr("previous", (n, dim)) if r.has("previous") else positions.copy()
    for key, a in (("starts", starts), ("positions", positions), ("previous", previous)):
        if np.abs(a).max() > BIG:
            raise SessionError(f"{r.where(key)} must lie within +-{BIG:g}")
    status = r.raw("status", required=True)
    if not isinstance(status, list) or len(status) != n:
        raise SessionError(f"{r.where('status')} must be a list of {n} names")
    for i, s in enumerate(status):
        if s not in STATUS_NAMES:
            raise SessionError(f"{r.where('status')}[{i}] must be one of {', '.join(STATUS_NAMES)}")
    steps = arr("steps", (n,), integer=True)
    stopped_at = arr("stopped_at", (n,), integer=True)
    if (steps < 0).any() or (steps > MAX_RUN_STEPS).any():
        raise SessionError(f"{r.where('steps')} must be from 0 to {MAX_RUN_STEPS:,}")
    running = np.array([s == "running" for s in status])
    if (stopped_at[running] != -1).any() or (stopped_at[~running] < 0).any():
        raise SessionError(f"{r.where('stopped_at')} must be -1 exactly for running balls")
    fv = arr("f", (n,), nullable=True)
    grad = arr("gradient", (n, dim), nullable=True)
    gn = arr("grad_norm", (n,), nullable=True)
    trails_value = r.raw("trails", [[] for _ in range(n)])
    if not isinstance(trails_value, list) or len(trails_value) != n:
        raise SessionError(f"{r.where('trails')} must be a list of {n} trails")
    trails = [_array(t, f"{r.where('trails')}[{i}]", (-1, dim)) for i, t in enumerate(trails_value)]
    if sum(len(t) for t in trails) > 4 * MAX_TRAIL_POINTS or any(
        len(t) > trail_length for t in trails
    ):
        raise SessionError(f"{r.where('trails')} are longer than allowed")
    opt_state = r.sub("optimizer_state")
    # the run's step count (its schedule's and batches' position); older files: none
    clock = r.int("clock", None, 0, MAX_RUN_STEPS) if r.has("clock") else None
    r.done()
    optimizer: dict[str, Any] = {"hyper": hyper, "shape": None, "steps": [], "state": {}}
    if opt_state is not None:
        steps_o = _array(
            opt_state.raw("steps", required=True), opt_state.where("steps"), (n,), integer=True
        )
        buffers = opt_state.raw("buffers", {})
        if not isinstance(buffers, dict):
            raise SessionError(f"{opt_state.where('buffers')} must be an object")
        opt_state.done()
        state = {}
        for key in sorted(buffers):
            where = f"{opt_state.where('buffers')}.{key}"
            b = _Reader(buffers[key], where)
            dtype = b.str("dtype", "float64", BUFFER_DTYPES)  # the optimizer checks it
            raw = b.raw("data", required=True)
            # rows as wide as the first (most buffers are (n, dim), NAdam's mu_product
            # (n, 1)); the optimizer checks the shape it needs
            width = len(raw[0]) if isinstance(raw, list) and raw and isinstance(raw[0], list) else 0
            data = _array(raw, b.where("data"), (n, width))
            state[key] = data.astype(dtype)
            b.done()
        optimizer = {"hyper": hyper, "shape": (n, dim), "steps": steps_o, "state": state}
    return {
        "optimizer": name,
        "label": label,
        "color": color,
        "hyper": hyper,
        "tol": tol,
        "trail_length": trail_length,
        "previous": previous,
        "descent": {
            "starts": starts,
            "positions": positions,
            "status": status,
            "steps": steps,
            "stopped_at": stopped_at,
            "f": fv,
            "gradient": grad.reshape(n, dim),
            "grad_norm": gn,
            "trails": trails,
            "optimizer": optimizer,
            **({} if clock is None else {"clock": clock}),
        },
    }


def state_from_dict(data: dict[str, Any], aspect: float = 16 / 9):
    """A new :class:`~gradient_explorer.app.state.AppState` from a session dict.

    Everything is checked and built on new objects; nothing outside is touched. Raises
    :class:`~gradient_explorer.errors.SessionError` naming the first problem.
    """
    top = _Reader(data, "")
    fmt = top.raw("format", required=True)
    if fmt != FORMAT:
        raise SessionError(f"not a gradient-explorer session (format is {str(fmt)[:40]!r})")
    version = top.raw("version", required=True)
    if isinstance(version, bool) or not isinstance(version, int):
        raise SessionError(f"version must be an integer, got {_type(version)}")
    if version != VERSION:
        raise SessionError(f"session version {version} is not supported (this reads {VERSION})")
    surface, ranges, attack = _build_surface(top.sub("surface", required=True))
    state = AppState(surface=surface, view=_build_view(top.sub("view")), param_ranges=ranges)
    plane = getattr(surface, "input_plane", None)
    if plane is not None:  # the attack panel's eps-square, FGSM and PGD at the point
        state.input_attack = InputAttack(plane, surface=surface)
        if attack is not None:
            step = attack.pop("step")
            _wrap(lambda: state.input_attack.set(**attack), top.where("surface"))
            state.input_attack.step = step
    point = top.raw("point", None)
    if point is not None:
        if surface.dim != 2:
            raise SessionError("point is only for height surfaces f(x, y)")
        x, y = top.floats("point", None, 2)
        (x0, x1), (y0, y1) = surface.domain
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            raise SessionError(f"point {x:g},{y:g} is outside the surface's domain")
        state.point = (x, y)
    state.direction = top.float("direction", 0.0, -1e6, 1e6)
    state.mode = top.str("mode", "curve" if surface.dim == 1 else "surface", ("surface", "curve"))
    state.playing = top.bool("playing", False)
    _build_camera(top.sub("camera"), state, aspect)
    _build_curve(top.sub("curve"), state)
    _build_descent(top.sub("descent"), state)
    top.done()
    return state


def load_session(path: str | os.PathLike, aspect: float = 16 / 9):
    """Read a session file into a new :class:`~gradient_explorer.app.state.AppState`.

    Raises
    ------
    SessionError
        One line, starting with the file name, naming what is wrong.
    """
    try:
        return state_from_dict(read_session_dict(path), aspect)
    except SessionError as exc:
        raise SessionError(f"session {path}: {exc}") from None


def apply_session(state, path: str | os.PathLike, aspect: float = 16 / 9):
    """Load ``path`` into the existing ``state`` (for the app); return ``state``.

    The file is read, checked and built in full on new objects first; only then are the
    fields of ``state`` replaced. The camera object is kept (the app's controller holds
    it) and given the loaded camera's state. On any error ``state`` is untouched.
    """
    return adopt_session(state, load_session(path, aspect), aspect)


def adopt_session(state, new, aspect: float = 16 / 9):
    """Move the loaded state ``new`` (from :func:`load_session`) into ``state``.

    The app loads in its build pipeline (``load_session`` in the build worker) and adopts
    the result on the frame thread; this part builds nothing.
    """
    bounds = new.camera.scene_bounds
    if bounds is not None:
        state.camera.frame(bounds[0], bounds[1], aspect, snap=True)
    state.camera.set_state(new.camera.get_state(), snap=True)
    state.surface = new.surface
    state.view = new.view
    state.point = new.point
    state.direction = new.direction
    state.mode = new.mode
    state.playing = new.playing
    state.curve = new.curve
    state.descent = new.descent
    state.param_ranges = new.param_ranges
    state.input_attack = new.input_attack
    return state
