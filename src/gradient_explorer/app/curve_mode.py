"""The 1D mode: a curve y = f(x), its tangent at a moving point, and where f' = 0.

Numpy only, no GL. The curve is either a catalogue curve, a typed f(x), or the slice of
the current height surface through the point along the direction dial:
``g(t) = f(p + t u)``. The slice's derivatives come from the surface's own gradient and
Hessian by the chain rule (``g' = grad f . u``, ``g'' = u^T H u``), never by hand.

:func:`stationary_points` finds where f' = 0 (and where f' does not exist) and says what
each is; :func:`advance` moves the point for the Play sweep; :func:`tangent_segment` gives
the tangent line's end points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradient_explorer.errors import GradientExplorerError, UsageError, check_state_keys
from gradient_explorer.surfaces.catalogue import CURVES
from gradient_explorer.surfaces.surface import Surface, check_expression

__all__ = [
    "STATIONARY_KINDS",
    "CurveState",
    "Readout",
    "SliceCurve",
    "StationaryPoint",
    "active_curve",
    "advance",
    "build_curve",
    "catalogue_curves",
    "follow_surface",
    "readout",
    "stationary_points",
    "tangent_segment",
]

#: Verdicts of :func:`stationary_points` (names shared with the surfaces layer).
STATIONARY_KINDS = ("minimum", "maximum", "degenerate critical point", "not differentiable")

SOURCES = ("catalogue", "expression", "slice")


def catalogue_curves() -> list[str]:
    """Names of the catalogue's curves (dim 1), in catalogue order."""
    return [d.name for d in CURVES]


# ---------------------------------------------------------------------- the slice


class SliceCurve:
    """The 1D function ``g(t) = f(p + t u)`` cut from a height surface.

    Duck-types the parts of a 1D :class:`~gradient_explorer.surfaces.surface.Surface` the 1D mode
    and :class:`~gradient_explorer.optim.descent.Descent` use: ``f``, ``gradient``, ``hessian``,
    ``domain``, ``dim``, ``name``, ``formula()``.

    Parameters
    ----------
    surface : Surface
        A height surface (``dim == 2``).
    anchor : (float, float)
        The point ``p`` the line passes through (t = 0).
    degrees : float
        The direction ``u``, counter-clockwise from +x.
    """

    dim = 1
    display = "none"

    def __init__(self, surface: Surface, anchor, degrees: float) -> None:
        if surface.dim != 2:
            raise UsageError("a slice needs a height surface f(x, y)")
        self.surface = surface
        self.anchor = np.asarray(anchor, dtype=np.float64).reshape(2)
        self.degrees = float(degrees)
        a = math.radians(self.degrees)
        self.direction = np.array([math.cos(a), math.sin(a)])
        self.domain = (self._t_range(),)
        self.height_scale = 1.0

    def _t_range(self) -> tuple[float, float]:
        """The part of the line inside the domain rectangle (slab test)."""
        (x0, x1), (y0, y1) = self.surface.domain
        lo, hi = np.array([x0, y0]), np.array([x1, y1])
        p, u = self.anchor, self.direction
        t_lo, t_hi = -math.inf, math.inf
        for k in range(2):
            if abs(u[k]) > 1e-12:
                a, b = (lo[k] - p[k]) / u[k], (hi[k] - p[k]) / u[k]
                t_lo, t_hi = max(t_lo, min(a, b)), min(t_hi, max(a, b))
            elif not lo[k] <= p[k] <= hi[k]:
                t_lo, t_hi = 0.0, 0.0
        if not t_hi > t_lo:  # the anchor is outside: a token range so nothing divides by 0
            return (-1.0, 1.0)
        return (float(t_lo), float(t_hi))

    @property
    def name(self) -> str:
        return f"{self.surface.name} slice"

    def formula(self) -> str:
        (px, py), (ux, uy) = self.anchor, self.direction
        return f"f({px:.3g} + {ux:.3g} t, {py:.3g} + {uy:.3g} t)"

    def points(self, t) -> np.ndarray:
        """Domain points ``p + t u`` with shape ``t.shape + (2,)``."""
        t = np.asarray(t, dtype=np.float64)
        return self.anchor + t[..., None] * self.direction

    def f(self, t, params=None) -> np.ndarray:
        return self.surface.f(self.points(t), params)

    def gradient(self, t, params=None) -> np.ndarray:
        """g'(t) = grad f(p + t u) . u (the directional derivative)."""
        return self.surface.gradient(self.points(t), params) @ self.direction

    def hessian(self, t, params=None) -> np.ndarray:
        """g''(t) = u^T H(p + t u) u."""
        h = self.surface.hessian(self.points(t), params)
        u = self.direction
        return np.einsum("...ij,i,j->...", h, u, u)

    def key(self) -> tuple:
        s = self.surface
        return ("slice", s.formula(), tuple(s.param_values.items()), s.domain,
                tuple(self.anchor), self.degrees)  # fmt: skip


# ---------------------------------------------------------------------- state


class CurveNotBuiltError(GradientExplorerError):
    """The 1D mode's own curve is still being built (in the app's build pipeline)."""


def build_curve(source: str, text: str) -> Surface:
    """The 1D mode's own curve: a catalogue curve's name or a typed f(x).

    Derives symbolically (a typed f(x) may be slow): the app runs it in its build pipeline
    (``SurfaceCompiler``), never on the frame thread. Raises a one-line
    :class:`~gradient_explorer.errors.GradientExplorerError` for a refused curve.
    """
    if source == "expression":
        curve = Surface.from_expr(text, name="f(x)")
        if curve.dim != 1:
            raise UsageError("the 1D mode needs a function of x alone")
    else:
        curve = Surface.named(text)
        if curve.dim != 1:
            raise UsageError(f"{text} is a surface, not a curve")
    return curve


@dataclass
class CurveState:
    """What the 1D mode shows: which curve, where the point is, whether it sweeps.

    Attributes
    ----------
    source : str
        ``"catalogue"`` (``name``), ``"expression"`` (``expression``) or ``"slice"`` (the
        current height surface through the point along the direction dial).
    x : float
        The point's position (``t`` along the line for a slice; 0 is the 2D point).
    speed : float
        Sweep speed in domain widths per second.
    wrap : bool
        Sweep wraps around instead of going back and forth.
    playing : bool
        The Play sweep is running.
    show_derivative : bool
        Draw f' in its own band under the curve.
    show_stationary : bool
        Mark the points where f' = 0 (and where f' does not exist) with their verdicts.
    """

    source: str = "catalogue"
    name: str = "cubic"
    expression: str = "x^3 - 3*x"
    x: float = 0.5
    speed: float = 0.15
    wrap: bool = False
    playing: bool = False
    show_derivative: bool = True
    show_stationary: bool = True
    sweep_direction: int = 1
    error: str = ""  # the last refused expression, for the panel
    #: Build a missing own curve here, at once (scripts, the CLI). The app sets False: its
    #: build pipeline builds the curve (see :meth:`wanted`, :meth:`install`) and until it
    #: arrives the last built one is shown.
    inline: bool = field(default=True, repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    #: The fields :meth:`state_dict` holds (what the user set; not the built curves).
    STATE_KEYS = ("source", "name", "expression", "x", "speed", "wrap", "playing",
                  "show_derivative", "show_stationary", "sweep_direction")  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """What the user set, in the manner of torch.optim: the fields of
        :attr:`STATE_KEYS` as plain values."""
        return {key: getattr(self, key) for key in self.STATE_KEYS}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take :meth:`state_dict`'s output (keys may be left out to keep them). The
        typed expression goes through the safe parser. Everything is checked before
        anything changes; a bad dict raises :class:`~gradient_explorer.errors.UsageError`
        naming the key."""
        where = "curve state"
        check_state_keys(where, state_dict, (), self.STATE_KEYS)
        new = {**self.state_dict(), **state_dict}
        if new["source"] not in SOURCES:
            raise UsageError(f"{where}: 'source' must be one of {', '.join(SOURCES)}")
        if new["name"] not in catalogue_curves():
            raise UsageError(f"{where}: 'name' must be a catalogue curve, got {new['name']!r}")
        if not isinstance(new["expression"], str):
            raise UsageError(f"{where}: 'expression' must be text")
        for key, lo, hi in (("x", -math.inf, math.inf), ("speed", 0.0, 1e3)):
            v = new[key]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise UsageError(f"{where}: {key!r} must be a number")
            if not (math.isfinite(v) and lo <= v <= hi):
                raise UsageError(f"{where}: {key!r} must be finite, from {lo:g} to {hi:g}")
        for key in ("wrap", "playing", "show_derivative", "show_stationary"):
            if not isinstance(new[key], bool):
                raise UsageError(f"{where}: {key!r} must be true or false")
        if new["sweep_direction"] not in (-1, 1) or isinstance(new["sweep_direction"], bool):
            raise UsageError(f"{where}: 'sweep_direction' must be -1 or 1")
        check_expression(new["expression"])  # ExpressionError, one line
        for key, value in new.items():
            setattr(self, key, float(value) if key in ("x", "speed") else value)

    def wanted(self) -> tuple[str, str] | None:
        """``(source, name or text)`` of the own curve the fields ask for; None for a slice."""
        if self.source == "slice":
            return None
        return (self.source, self.name if self.source == "catalogue" else self.expression)

    def built(self) -> tuple[str, str] | None:
        """``(source, name or text)`` of the own curve built last, or None."""
        cached = self._cache.get("own")
        return None if cached is None else cached[0][1:]

    def install(self, wanted: tuple[str, str], curve: Surface) -> None:
        """Keep ``curve``, built elsewhere for ``wanted`` (see :func:`build_curve`)."""
        self._cache["own"] = (("own", *wanted), curve)

    def restore(self, built: tuple[str, str]) -> None:
        """Point the fields back at a built curve (after a refused request)."""
        self.source = built[0]
        if built[0] == "catalogue":
            self.name = built[1]
        else:
            self.expression = built[1]

    def own_curve(self) -> Surface:
        """The catalogue or typed curve (compiled once per name/text).

        With ``inline`` False a curve not built yet is not built here: the last built one
        is returned, or :class:`CurveNotBuiltError` raised when there is none.
        """
        key = ("own", self.source, self.name if self.source == "catalogue" else self.expression)
        cached = self._cache.get("own")
        if cached is not None and cached[0] == key:
            return cached[1]
        if not self.inline:
            if cached is not None:
                return cached[1]
            raise CurveNotBuiltError("building the curve")
        source = "expression" if self.source == "expression" else "catalogue"
        curve = build_curve(source, self.expression if source == "expression" else self.name)
        self._cache["own"] = (key, curve)
        return curve

    def set_expression(self, text: str) -> bool:
        """Use a typed f(x); on a refusal keep the old curve and set ``error``."""
        old = (self.source, self.expression)
        self.source, self.expression = "expression", text
        self._cache.pop("own", None)
        try:
            self.own_curve()
        except GradientExplorerError as exc:
            self.source, self.expression = old
            self.error = str(exc)
            return False
        self.error = ""
        return True


def curve_key(curve) -> tuple:
    """What a curve's drawn samples depend on (caches of them key on it)."""
    if isinstance(curve, SliceCurve):
        return curve.key()
    return ("surface", curve.formula(), tuple(curve.param_values.items()), curve.domain)


def active_curve(state) -> Surface | SliceCurve:
    """The curve the 1D view shows for an :class:`~gradient_explorer.app.state.AppState`.

    A slice needs a height surface: with a curve loaded as the surface, that curve is
    shown; with no point, the slice passes through the domain's centre. While the app
    builds the own curve and none was built before, the slice stands in.
    """
    cs: CurveState = state.curve
    surface = state.surface
    if cs.source != "slice" and not (state.mode != "curve" and surface.dim == 1):
        try:
            return cs.own_curve()
        except CurveNotBuiltError:
            pass  # the app is building it: the slice (or the curve surface) meanwhile
    if surface.dim == 1:
        return surface
    if state.point is not None:
        anchor = tuple(state.point)
    else:
        anchor = tuple(float(np.mean(r)) for r in surface.domain)
    key = ("slice", id(surface), anchor, float(getattr(state, "direction", 0.0)))
    cached = cs._cache.get("slice")
    if cached is not None and cached[0] == key and cached[1].surface is surface:
        return cached[1]
    curve = SliceCurve(surface, anchor, key[3])
    cs._cache["slice"] = (key, curve)
    return curve


def follow_surface(state) -> None:
    """Open the 1D mode on the state's surface when that surface is a curve.

    The 1D mode's own curve (catalogue or typed) is a separate choice; its ``"slice"``
    source shows a curve surface itself (the slice of a curve is the curve), so a curve
    built in the Surface panel, given on the command line or rendered is the one shown.
    """
    if state.surface.dim == 1:
        state.mode = "curve"
        state.curve.source = "slice"


# ---------------------------------------------------------------------- the sweep


def advance(cs: CurveState, dt: float, domain=None) -> float:
    """Move the point for the Play sweep; return the new x.

    Back and forth between the domain's ends (``wrap`` False) or around (``wrap`` True)
    at ``speed`` domain widths per second. Does nothing unless ``playing``.
    """
    if not cs.playing or not dt > 0:
        return cs.x
    (lo, hi) = (domain if domain is not None else cs.own_curve().domain)[0]
    width = hi - lo
    x = min(max(cs.x, lo), hi) + cs.sweep_direction * cs.speed * width * float(dt)
    if cs.wrap:
        x = lo + (x - lo) % width
    else:
        # unfold the bounces: in the second half of each period the point runs backwards
        phase = (x - lo) % (2 * width)
        if phase < width:
            x = lo + phase
        else:
            x = hi - (phase - width)
            cs.sweep_direction = -cs.sweep_direction
    cs.x = float(min(max(x, lo), hi))
    return cs.x


# ---------------------------------------------------------------------- point readout


@dataclass(frozen=True)
class Readout:
    """f, f' and f'' at the point; ``fp`` is None where f' does not exist."""

    x: float
    f: float
    fp: float | None
    fpp: float | None


def readout(curve, x: float) -> Readout:
    """Values at ``x``; NaN f where f is undefined, None where a derivative is missing."""
    xa = np.array([float(x)])
    fv = float(curve.f(xa)[0])
    fp = float(curve.gradient(xa)[0])
    fpp = float(curve.hessian(xa)[0])
    return Readout(
        float(x),
        fv,
        fp if math.isfinite(fp) and math.isfinite(fv) else None,
        fpp if math.isfinite(fpp) and math.isfinite(fv) else None,
    )


def tangent_segment(curve, x: float, half_width: float):
    """End points ``((x0, y0), (x1, y1))`` of the tangent at ``x``, ``half_width`` each way.

    None where f or f' does not exist (a corner has no tangent line).
    """
    r = readout(curve, x)
    if r.fp is None or not math.isfinite(r.f):
        return None
    x0, x1 = x - half_width, x + half_width
    return (x0, r.f - r.fp * half_width), (x1, r.f + r.fp * half_width)


# ---------------------------------------------------------------------- f' = 0


@dataclass(frozen=True)
class StationaryPoint:
    """A point where f' = 0, or where f' does not exist.

    ``kind`` is one of :data:`STATIONARY_KINDS`; ``detail`` says why in a few words;
    ``slopes`` are f' just left and right of the point.
    """

    x: float
    f: float
    kind: str
    detail: str
    fpp: float
    slopes: tuple[float, float]

    @property
    def label(self) -> str:
        """Short text for the marker in the view."""
        return {"degenerate critical point": "degenerate"}.get(self.kind, self.kind)


def _bisect_sign(fp, a: float, b: float, da: float, iters: int = 200) -> tuple[float, float]:
    """Shrink [a, b] (f' changes sign) to adjacent floats; return the bracket."""
    for _ in range(iters):
        m = 0.5 * (a + b)
        if not a < m < b:
            break
        dm = fp(m)
        if not math.isfinite(dm):
            # step over a non-finite midpoint from the side that stays finite
            return a, b
        if dm == 0:
            return m, m
        if (dm < 0) == (da < 0):
            a, da = m, dm
        else:
            b = m
    return a, b


def _golden_min_abs(fp, a: float, b: float, iters: int = 90) -> float:
    """Where |f'| is smallest on [a, b] (golden section; |f'| unimodal near a touch)."""
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = abs(fp(c)), abs(fp(d))
    for _ in range(iters):
        if not (math.isfinite(fc) and math.isfinite(fd)):
            break
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = abs(fp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = abs(fp(d))
        if not b - a > 4 * math.ulp(max(abs(a), abs(b), 1e-300)):
            break
    return 0.5 * (a + b)


def _bisect_jump(fp, a: float, b: float, iters: int = 60) -> tuple[float, float]:
    """Shrink [a, b] toward where f' jumps: keep the half with the larger change."""
    da, db = fp(a), fp(b)
    for _ in range(iters):
        m = 0.5 * (a + b)
        if not a < m < b:
            break
        dm = fp(m)
        if not math.isfinite(dm):  # landed on the kink itself: bracket it tightly
            delta = max(1e-6 * (b - a), 1e-11 * max(1.0, abs(m)))
            return m - delta, m + delta
        if abs(dm - da) >= abs(db - dm):
            b, db = m, dm
        else:
            a, da = m, dm
    return a, b


def stationary_points(curve, domain=None, samples: int = 2001) -> list[StationaryPoint]:
    """Where f' = 0 on the domain, and where f' does not exist, with their verdicts.

    f' is sampled on ``samples`` points; sign changes are bracketed and refined by
    bisection, zeros that touch without a sign change (x^3 at 0) by a golden-section
    search on |f'|. A sign change or jump of f' that does not shrink as the bracket does
    is a corner (|x| at 0): reported as ``"not differentiable"`` where f itself is
    continuous there. Points where f is undefined are not reported.

    Parameters
    ----------
    curve : Surface (dim 1) or SliceCurve
    domain : ((lo, hi),), optional
        Defaults to the curve's domain.
    samples : int
        Sampling density for the first pass.

    Returns
    -------
    list of StationaryPoint, sorted by x.
    """
    cache = getattr(curve, "_functions", None)
    key = ("_stationary", domain, samples, curve_key(curve))
    if isinstance(cache, dict):
        hit = cache.get("_stationary")
        if hit is not None and hit[0] == key:
            return hit[1]
    (lo, hi) = (domain or curve.domain)[0]
    x = np.linspace(lo, hi, samples)
    fv = curve.f(x)
    d = curve.gradient(x)
    width = hi - lo
    finite_d = d[np.isfinite(d)]
    scale = float(np.median(np.abs(finite_d))) if finite_d.size else 1.0
    scale = max(scale, 1e-12)

    def fp(t: float) -> float:
        return float(curve.gradient(np.array([t]))[0])

    def fval(t: float) -> float:
        return float(curve.f(np.array([t]))[0])

    def fpp(t: float) -> float:
        return float(curve.hessian(np.array([t]))[0])

    found: list[StationaryPoint] = []

    def add(point: StationaryPoint) -> None:
        for other in found:
            if abs(other.x - point.x) <= 1e-7 * width:
                return
        found.append(point)

    def continuous_at(a: float, b: float) -> bool:
        fa, fb = fval(a), fval(b)
        h = max(b - a, 1e-9 * width)
        # f changes by no more than a bounded slope would allow over the bracket
        return (
            math.isfinite(fa)
            and math.isfinite(fb)
            and abs(fb - fa) <= 1e-6 * (1 + abs(fa)) + 1e3 * scale * h
        )

    def corner(a: float, b: float, da: float, db: float) -> None:
        r = 0.5 * (a + b)
        if not continuous_at(a - 1e-9 * width, b + 1e-9 * width):
            return  # a pole or a jump of f, not a corner
        shape = ""
        if da < 0 < db:
            shape = ": a minimum"
        elif da > 0 > db:
            shape = ": a maximum"
        add(StationaryPoint(r, fval(r), "not differentiable",
                            f"corner, slope jumps from {da:.3g} to {db:.3g}{shape}",
                            math.nan, (da, db)))  # fmt: skip

    def classify(r: float, left: float, right: float) -> None:
        fr = fval(r)
        if not math.isfinite(fr):
            return
        c = fpp(r)
        tol = 1e-7 * max(1.0, scale)
        if math.isfinite(c) and c > tol:
            kind, detail = "minimum", f"f'' = {c:.3g} > 0"
        elif math.isfinite(c) and c < -tol:
            kind, detail = "maximum", f"f'' = {c:.3g} < 0"
        else:
            kind = "degenerate critical point"
            if left < 0 < right:
                detail = "f'' = 0; f' goes - to +: a minimum"
            elif left > 0 > right:
                detail = "f'' = 0; f' goes + to -: a maximum"
            else:
                detail = "f'' = 0; f' keeps its sign: a flat inflection"
        add(StationaryPoint(r, fr, kind, detail, c, (left, right)))

    # 1. f' missing at a sample where f exists: a corner hit exactly
    step = width / (samples - 1)
    for i in np.flatnonzero(np.isfinite(fv) & ~np.isfinite(d)):
        t = float(x[i])
        da, db = fp(t - 1e-6 * step), fp(t + 1e-6 * step)
        if math.isfinite(da) and math.isfinite(db):
            corner(t - 1e-6 * step, t + 1e-6 * step, da, db)

    ok = np.isfinite(d)
    # 2. exact zeros at samples
    for i in np.flatnonzero(ok & (d == 0) & np.isfinite(fv)):
        lf = float(d[i - 1]) if i > 0 else float(d[i])
        rt = float(d[i + 1]) if i + 1 < samples else float(d[i])
        classify(float(x[i]), lf, rt)

    # 3. sign changes: a root of f' or a corner
    pair = ok[:-1] & ok[1:]
    with np.errstate(all="ignore"):
        change = pair & (d[:-1] * d[1:] < 0)
    for i in np.flatnonzero(change):
        a, b = _bisect_sign(fp, float(x[i]), float(x[i + 1]), float(d[i]))
        da, db = fp(a), fp(b)
        if a == b or (
            math.isfinite(da)
            and math.isfinite(db)
            and min(abs(da), abs(db)) <= 1e-6 * scale + 1e-12
        ):
            r = a if abs(da) <= abs(db) else b
            classify(r, float(d[i]), float(d[i + 1]))
        elif math.isfinite(da) and math.isfinite(db):
            corner(a, b, da, db)

    # 4. touching zeros: local minima of |f'| that reach 0 without a sign change
    mag = np.where(ok, np.abs(d), np.inf)
    interior = np.arange(1, samples - 1)
    with np.errstate(all="ignore"):
        local = (mag[interior] <= mag[interior - 1]) & (mag[interior] <= mag[interior + 1])
        local &= mag[interior] > 0
        local &= mag[interior] < 0.05 * scale
        local &= ~change[interior - 1] & ~change[interior]
    for i in interior[local]:
        r = _golden_min_abs(fp, float(x[i - 1]), float(x[i + 1]))
        if abs(fp(r)) <= 1e-9 * max(1.0, scale):
            classify(r, float(d[i - 1]), float(d[i + 1]))

    # 5. jumps of f' without a sign change (a kink such as |x| + 2x at 0): a step in f'
    # stands out of its neighbours' differences, which are smooth where f is
    diffs = np.diff(np.where(ok, d, 0.0))
    if diffs.size >= 3:
        bumps = np.zeros_like(diffs)
        bumps[1:-1] = np.abs(diffs[1:-1] - 0.5 * (diffs[:-2] + diffs[2:]))
        bumps[~pair] = 0.0
        bumps[change] = 0.0
        typical = float(np.median(bumps))
        candidates = np.flatnonzero(bumps > 100 * typical + 1e-9 * scale)
        for i in candidates[np.argsort(-bumps[candidates])][:32]:
            a, b = _bisect_jump(fp, float(x[i]), float(x[i + 1]))
            da, db = fp(a), fp(b)
            if math.isfinite(da) and math.isfinite(db) and abs(db - da) >= 0.5 * bumps[i]:
                corner(a, b, da, db)

    found.sort(key=lambda p: p.x)
    if isinstance(cache, dict):
        cache["_stationary"] = (key, found)
    return found
