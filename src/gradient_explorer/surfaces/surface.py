"""A surface (or curve) is one definition; numpy and GLSL both come from it.

A :class:`Surface` holds a checked sympy expression, its domain, parameters and display
settings, and the code generated from it by :mod:`gradient_explorer.surfaces.symbolic`: f, the
gradient and the Hessian as float64 numpy functions, and the GLSL the renderer compiles.
Where f is not finite (log(x) at x <= 0, 1/x at 0) the numerics return NaN; they never
raise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gradient_explorer.errors import ExpressionError, UsageError
from gradient_explorer.surfaces import codecache, fastcode
from gradient_explorer.surfaces.catalogue import definition_named
from gradient_explorer.surfaces.compiled import (
    DISPLAY_NAMES,
    DerivedSources,
    compile_python,
    parameter_uniform,
    run_with_timeout,
)
from gradient_explorer.surfaces.definition import Parameter, SurfaceDefinition, Teaching
from gradient_explorer.surfaces.percentiles import finite_percentiles

# sympy (through expressions and symbolic) is imported where an expression is parsed or
# derived, not here: a catalogue surface with cached code never needs it, and importing
# it is most of a fresh process's time to the first picture (and to --help).

GRADIENT_TOLERANCE = 1e-6
SMALL_BATCH = 8
DEFAULT_DOMAIN_2D = ((-3.0, 3.0), (-3.0, 3.0))
DEFAULT_DOMAIN_1D = ((-3.0, 3.0),)

CLASSIFICATIONS = (
    "minimum",
    "maximum",
    "saddle",
    "degenerate critical point",
    "not a critical point",
    "not differentiable",
    "undefined",
)


@dataclass(frozen=True)
class Verdict:
    """What the point is: one of :data:`CLASSIFICATIONS`, with the numbers behind it."""

    classification: str
    gradient_length: float
    eigenvalues: tuple[float, ...]
    tolerance: float


#: The largest |f| and |height| the GPU's float32 holds: the shader gets inf beyond it
#: and leaves those points out, so the height box and scale are made without them.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Height scales stay within these normal float32 numbers (a smaller one is 0 there);
#: 2e-38 still lifts float32's largest f to a relief of about 7.
HEIGHT_SCALE_LIMITS = (2e-38, 1e36)


def drawable(values: np.ndarray) -> np.ndarray:
    """``values`` with what float32 cannot hold (and NaN, inf) as NaN."""
    out = np.array(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out[~(np.abs(out) <= FLOAT32_MAX)] = np.nan
    return out


@dataclass(frozen=True)
class HeightRange:
    """Displayed heights: colour range [lo, hi], clip box [clip_lo, clip_hi], floor z."""

    lo: float
    hi: float
    clip_lo: float
    clip_hi: float
    floor_z: float
    empty: bool = False  # no drawable height anywhere (f undefined on the whole domain)


@dataclass
class Surface:
    """A compiled surface or curve.

    Use :meth:`named` for the catalogue and :meth:`from_expr` for typed expressions.
    ``params`` holds the parameters with their ranges, ``param_values`` the current values.
    """

    definition: SurfaceDefinition
    _expr: Any  # the sympy expression; None until :attr:`expr` parses it (cached code)
    variables: tuple[str, ...]
    params: dict[str, Parameter]
    param_values: dict[str, float]
    sources: DerivedSources
    domain: tuple[tuple[float, float], ...]
    height_scale: float
    _functions: dict[str, Any] = field(repr=False, default_factory=dict)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_definition(
        cls, definition: SurfaceDefinition, timeout: float | None = 10.0
    ) -> Surface:
        """Parse, derive and compile a definition.

        The text is parsed here, so bad input is refused before any process starts. With
        a ``timeout`` the rest (derivatives, code, the sampled height range) runs in a
        child process stopped after ``timeout`` seconds of CPU, and the surface comes
        back pickled.
        """
        parsed = cls._parse(definition)
        return run_with_timeout(lambda: cls._build(definition, parsed), timeout)

    @staticmethod
    def _parse(definition: SurfaceDefinition):
        from gradient_explorer.surfaces.expressions import parse_expression  # sympy: see top

        dim = definition.dim
        if dim is None and definition.domain is not None and len(definition.domain) in (1, 2):
            dim = len(definition.domain)  # "x" over a 2D domain is a plane, not a curve
        variables = None if dim is None else ("x", "y")[:dim]
        declared = tuple(p.name for p in definition.parameters)
        return parse_expression(definition.expression, variables, declared)

    @classmethod
    def _build(cls, definition: SurfaceDefinition, parsed) -> Surface:
        from gradient_explorer.surfaces.symbolic import generate  # sympy: see top

        cls._check_display(definition)
        sources = generate(parsed.expr, parsed.variables, parsed.parameters, definition.display)
        return cls._assemble(definition, parsed.expr, sources, parsed.variables, parsed.parameters)

    @staticmethod
    def _check_display(definition: SurfaceDefinition) -> None:
        if definition.display not in DISPLAY_NAMES:
            known = ", ".join(DISPLAY_NAMES)
            raise UsageError(f"unknown display transform '{definition.display}': use {known}")

    @classmethod
    def _assemble(
        cls,
        definition: SurfaceDefinition,
        expr,
        sources: DerivedSources,
        variables: tuple[str, ...],
        parameters: tuple[str, ...],
    ) -> Surface:
        """The surface from its generated code (``expr`` may be None: parsed on demand)."""
        declared = {p.name: p for p in definition.parameters}
        params = {name: declared.get(name, Parameter(name)) for name in parameters}
        domain = definition.domain or (
            DEFAULT_DOMAIN_2D if len(variables) == 2 else DEFAULT_DOMAIN_1D
        )
        domain = _check_domain(domain, len(variables))
        surface = cls(
            definition=definition,
            _expr=expr,
            variables=variables,
            params=params,
            param_values={name: p.default for name, p in params.items()},
            sources=sources,
            domain=domain,
            height_scale=1.0,
            _functions=compile_python(sources.python),
        )
        surface.height_scale = definition.height_scale or surface.auto_height_scale()
        surface.height_range()  # memoised: the first frame need not sample it
        return surface

    @classmethod
    def from_expr(
        cls,
        text: str,
        domain: Any = None,
        params: Mapping[str, float] | None = None,
        display: str = "none",
        height_scale: float | None = None,
        name: str = "expression",
        timeout: float | None = 10.0,
        dim: int | None = None,
    ) -> Surface:
        """A surface from a typed expression such as ``"x^2 - y^2"``.

        Single lowercase letters a b c d k m n p q r s t u v w are parameters (default 1,
        range -10..10); ``params`` sets their values. ``dim`` forces a surface (2) or a
        curve (1); by default it is a surface if y appears or the domain has two ranges.
        """
        if dim not in (None, 1, 2):
            raise UsageError(f"dim must be 1 (a curve) or 2 (a surface), got {dim}")
        definition = SurfaceDefinition(
            name=name,
            expression=text,
            domain=domain,
            height_scale=height_scale,
            display=display,
            dim=dim,
        )
        surface = cls.from_definition(definition, timeout=timeout)
        return surface.with_params(**(params or {}))

    @classmethod
    def named(cls, name: str, **param_values: float) -> Surface:
        """A catalogue surface or curve by name (see ``gradient-explorer surfaces``)."""
        surface = cls.cached(definition_named(name))
        return surface.with_params(**param_values)

    @classmethod
    def cached(cls, definition: SurfaceDefinition) -> Surface:
        """A trusted definition (the catalogue's), its generated code read from the cache
        in the user's cache folder when valid, else derived and cached (see
        :mod:`gradient_explorer.surfaces.codecache`). Derives in this process."""
        entry = codecache.load(definition)
        if entry is not None:
            cls._check_display(definition)
            sources, variables, parameters = entry
            return cls._assemble(definition, None, sources, variables, parameters)
        surface = cls._build(definition, cls._parse(definition))
        codecache.store(definition, surface.sources, surface.variables, tuple(surface.param_values))
        return surface

    @classmethod
    def from_samples(cls, heights, domain: Any = None, **options) -> Surface:
        """A surface from a grid of heights (data, not a formula); see
        :meth:`gradient_explorer.surfaces.sampled.SampledSurface.from_samples`."""
        from gradient_explorer.surfaces.sampled import SampledSurface

        return SampledSurface.from_samples(heights, domain, **options)

    @classmethod
    def from_function(cls, evaluator, domain: Any, resolution=256, **options) -> Surface:
        """Exact numpy numerics drawn from a sampled grid; see
        :meth:`gradient_explorer.surfaces.sampled.SampledSurface.from_function`."""
        from gradient_explorer.surfaces.sampled import SampledSurface

        return SampledSurface.from_function(evaluator, domain, resolution, **options)

    @classmethod
    def from_image(cls, path_or_array, operator: str = "sobel", sigma: float = 0.0) -> Surface:
        """A photo as a surface: height = intensity in [0, 1] (Rec. 709 luma of colour), x
        right one unit per pixel, y up (row 0 at y = H - 1). Derivatives by ``operator``
        (central, sobel, scharr) after Gaussian smoothing by ``sigma`` pixels; see
        :mod:`gradient_explorer.surfaces.images`."""
        from gradient_explorer.surfaces.images import from_image

        return from_image(path_or_array, operator=operator, sigma=sigma)

    @classmethod
    def from_heights(cls, path_or_array, operator: str = "sobel", sigma: float = 0.0) -> Surface:
        """An elevation map (a ``.npy`` file or 2D array, row 0 the north edge) as a
        surface, heights as given; NaN cells are holes."""
        from gradient_explorer.surfaces.images import from_heights

        return from_heights(path_or_array, operator=operator, sigma=sigma)

    @classmethod
    def from_model(cls, model="line", data=None, **options) -> Surface:
        """A model's loss on data over two of its weights (line, logistic, mlp); see
        :func:`gradient_explorer.surfaces.model_surface.from_model`."""
        from gradient_explorer.surfaces.model_surface import from_model

        return from_model(model, data, **options)

    @property
    def sampled(self) -> bool:
        """Whether the heights come from data (drawn from textures), not a formula."""
        return False

    def with_params(self, **values: float) -> Surface:
        """A copy with new parameter values; the generated code is shared, not rebuilt."""
        new_values = dict(self.param_values)
        for key, value in values.items():
            if key not in self.params:
                known = ", ".join(self.params) or "none"
                raise UsageError(f"unknown parameter '{key}': this surface has {known}")
            value = float(value)
            if not math.isfinite(value):
                raise UsageError(f"parameter {key} must be a finite number, got {value}")
            new_values[key] = value
        # Share the compiled functions, and the memos: each is keyed by parameter values.
        functions = {
            k: v
            for k, v in self._functions.items()
            if not k.startswith("_") or k.startswith("_memo_")
        }
        return replace(self, param_values=new_values, _functions=functions)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict:
        # Compiled functions are rebuilt from the generated source; memos travel as data.
        state = {k: v for k, v in self.__dict__.items() if k != "_functions"}
        state["_memos"] = {k: v for k, v in self._functions.items() if k.startswith("_memo_")}
        return state

    def __setstate__(self, state: dict) -> None:
        memos = state.pop("_memos", {})
        self.__dict__.update(state)
        self._functions = {**compile_python(self.sources.python), **memos}

    # ------------------------------------------------------------------ properties

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def expr(self):
        """The checked sympy expression (parsed on first use for a cached surface)."""
        if self._expr is None:
            self._expr = self._parse(self.definition).expr
        return self._expr

    @property
    def dim(self) -> int:
        """2 for a height surface z = f(x, y), 1 for a curve y = f(x)."""
        return len(self.variables)

    @property
    def extent(self) -> float:
        """The domain's widest side: the yardstick for "near", "visible" and glyph sizes."""
        return float(max(hi - lo for lo, hi in self.domain))

    @property
    def display(self) -> str:
        return self.definition.display

    @property
    def glsl(self) -> str:
        """GLSL 330 source defining f, grad_f, hess_f, display_h, display_dh."""
        return self.sources.glsl

    def uniforms(self) -> dict[str, float]:
        """Values for the parameter uniforms the generated GLSL declares."""
        return {parameter_uniform(k): v for k, v in self.param_values.items()}

    @property
    def critical_points(self) -> list[tuple[np.ndarray, str]]:
        """Closed-form (or tabulated) critical points at the current parameters."""
        import sympy as sp  # see top: only where a critical point is asked for

        from gradient_explorer.surfaces.expressions import SYMBOLS, parse_expression

        out = []
        subs = {SYMBOLS.get(k) or sp.Symbol(k, real=True): v for k, v in self.param_values.items()}
        for coords, kind in self.definition.critical_points:
            values = []
            for text in coords:
                parsed = parse_expression(text, variables=(), parameters=tuple(self.params))
                values.append(float(parsed.expr.subs(subs)))
            out.append((np.array(values), kind))
        return out

    # ------------------------------------------------------------------ numerics

    def _args(self, points, params):
        pts = np.asarray(points, dtype=np.float64)
        if self.dim == 2:
            if pts.shape[-1:] != (2,):
                raise UsageError(f"points must have shape (..., 2), got {pts.shape}")
            coords = [pts[..., 0], pts[..., 1]]
        else:
            coords = [pts]
        values = self.param_values if params is None else {**self.param_values, **params}
        # numpy floats: a term of parameters alone overflows to inf, not OverflowError.
        return pts, coords, [np.float64(values[k]) for k in self.params] if self.params else []

    def _call(self, which: str, points, params):
        _, coords, pvals = self._args(points, params)
        shape = coords[0].shape
        # Holes and poles are part of real surfaces: NaN there, never an exception.
        with np.errstate(all="ignore"):
            results = self._functions[which](*coords, *pvals)
        return shape, [np.broadcast_to(np.asarray(r, dtype=np.float64), shape) for r in results]

    def f(self, points, params: Mapping[str, float] | None = None) -> np.ndarray:
        """f at points of shape (..., 2) (surfaces) or (...) (curves); NaN where undefined."""
        _, (value,) = self._call("f", points, params)
        out = np.array(value, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out

    def value_and_gradient_at(self, *coords: float) -> tuple[float, ...]:
        """(f, df/dx, df/dy) at one point, as plain floats (NaN where undefined).

        The fast path for a few balls: pure Python floats, no array overhead.
        """
        values = self._functions["value_and_gradient_scalar"](*coords, *self.param_values.values())
        values = tuple(v if type(v) is float and math.isfinite(v) else _scalar(v) for v in values)
        if not any(math.isnan(v) for v in values):
            return values
        # A math error in one term made every value NaN; numpy keeps each on its own.
        point = np.array(coords if self.dim == 2 else coords[0], dtype=np.float64)
        f = self.f(point)
        gradient = np.atleast_1d(self._gradient_numpy(point, None))
        return (float(f), *(float(g) for g in gradient))

    def gradient(self, points, params: Mapping[str, float] | None = None) -> np.ndarray:
        """(df/dx, df/dy) with shape (..., 2); f' with shape (...) for curves."""
        if params is None and type(points) is np.ndarray and points.ndim == 2 and self.dim == 2:
            n = points.shape[0]
            if fastcode.pays(self._functions, n):  # compiled, the same bits
                out = fastcode.surface_gradient(self, points, n <= SMALL_BATCH)
                if out is not None:
                    return out
            if 0 < n <= SMALL_BATCH:  # a few balls: plain floats beat numpy's overhead
                scalar = self._functions["value_and_gradient_scalar"]
                pvals = self.param_values.values()
                rows = [scalar(x, y, *pvals)[1:] for x, y in points.tolist()]
                out = np.array(rows, dtype=np.float64)
                undefined = ~np.isfinite(out).all(axis=1)
                if undefined.any():  # per component, as the numpy path gives them
                    out[undefined] = self._gradient_numpy(points[undefined], None)
                return out
        return self._gradient_numpy(points, params)

    def value_and_gradient(self, points) -> tuple[np.ndarray, np.ndarray]:
        """f and the gradient at once: ``(N,)`` and ``(N, dim)`` for ``(N, dim)`` points
        (``(N,)`` points on a curve); NaN where undefined. What a descent step needs.

        One generated function shares the work of f and gradient. A few points go
        through the plain-float code, which does the same operations in the same order
        as the numpy code: the results agree to the bit.
        """
        pts = np.asarray(points, dtype=np.float64)
        if "value_and_gradient" not in self._functions:
            # no generated code (a sampled surface, say): its own f and gradient
            return self.f(pts), self.gradient(pts)
        n = len(pts)
        coords = (pts[:, 0], pts[:, 1]) if self.dim == 2 else (pts.reshape(n),)
        pvals = list(self.param_values.values())
        if 0 < n <= SMALL_BATCH:
            scalar = self._functions["value_and_gradient_scalar"]
            rows = [scalar(*c, *pvals) for c in zip(*(c.tolist() for c in coords), strict=True)]
            out = np.array(rows, dtype=np.float64)
            bad = ~np.isfinite(out).all(axis=1)
            if bad.any():  # a math error makes a whole row NaN: numpy keeps each value
                fb, gb = self._value_and_gradient_numpy([c[bad] for c in coords], pvals)
                out[bad, 0], out[bad, 1:] = fb, gb
            out[~np.isfinite(out)] = np.nan
            return out[:, 0].copy(), out[:, 1:].copy()
        return self._value_and_gradient_numpy(coords, pvals)

    def _value_and_gradient_numpy(self, coords, pvals) -> tuple[np.ndarray, np.ndarray]:
        """f ``(n,)`` and the gradient ``(n, dim)``, contiguous, from the fused function."""
        n = len(coords[0])
        with np.errstate(all="ignore"):
            parts = self._functions["value_and_gradient"](*coords, *(np.float64(v) for v in pvals))
        f = np.empty(n)
        g = np.empty((n, len(parts) - 1))
        f[:] = parts[0]  # broadcasts a constant component
        for j, part in enumerate(parts[1:]):
            g[:, j] = part
        # inf (overflow) counts as undefined too; the mask only where there is one
        if not np.isfinite(f).all():
            f[~np.isfinite(f)] = np.nan
        if not np.isfinite(g).all():
            g[~np.isfinite(g)] = np.nan
        return f, g

    def _gradient_numpy(self, points, params) -> np.ndarray:
        _, parts = self._call("gradient", points, params)
        out = np.stack(parts, axis=-1) if self.dim == 2 else np.array(parts[0])
        out = np.array(out, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out

    def hessian(self, points, params: Mapping[str, float] | None = None) -> np.ndarray:
        """Second derivatives with shape (..., 2, 2); f'' with shape (...) for curves."""
        _, parts = self._call("hessian", points, params)
        if self.dim == 2:
            hxx, hxy, hyy = parts
            out = np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)
        else:
            out = np.array(parts[0])
        out = np.array(out, dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out

    def height(self, points, params: Mapping[str, float] | None = None) -> np.ndarray:
        """The displayed height h = height_scale * display(f): world z in the renderer."""
        h = self._height_of(self.f(points, params))
        h[~np.isfinite(h)] = np.nan
        return h

    def _height_of(self, fv: np.ndarray) -> np.ndarray:
        """h = height_scale * display(f), from f's values (non-finite where they go)."""
        with np.errstate(all="ignore"):
            return np.array(self.height_scale * self._display(fv), dtype=np.float64)

    def _display(self, fv: np.ndarray) -> np.ndarray:
        if self.display == "log1p":
            return np.log1p(fv)
        return fv

    def classify(
        self, points, tol: float = GRADIENT_TOLERANCE, params: Mapping[str, float] | None = None
    ):
        """Verdict at each point: minimum, maximum, saddle, degenerate critical point, ...

        A point is critical when the gradient length is at most ``tol``; the Hessian's
        eigenvalues then decide, with eigenvalues within ``1e-9 * max(1, |lambda|)`` of zero
        counted as zero (degenerate). Returns a string for one point, else an array.
        """
        verdicts = self.verdicts(points, tol, params)
        if isinstance(verdicts, Verdict):
            return verdicts.classification
        return np.array([v.classification for v in verdicts.ravel()], dtype=object).reshape(
            verdicts.shape
        )

    def verdicts(self, points, tol: float = GRADIENT_TOLERANCE, params=None):
        """Like :meth:`classify` but with gradient length and eigenvalues."""
        pts = np.asarray(points, dtype=np.float64)
        single = pts.ndim == (1 if self.dim == 2 else 0)
        flat = pts.reshape(-1, 2) if self.dim == 2 else pts.reshape(-1)
        fv = self.f(flat, params)
        grad = self.gradient(flat, params)
        hess = self.hessian(flat, params)
        out = np.empty(len(flat), dtype=object)
        for i in range(len(flat)):
            out[i] = _verdict(fv[i], grad[i], hess[i], tol, self.dim)
        if single:
            return out[0]
        return out.reshape(pts.shape[:-1] if self.dim == 2 else pts.shape)

    def auto_height_scale(self) -> float:
        """A height scale that makes the displayed relief about 0.6 of the domain's width."""
        if self.dim == 1:
            return 1.0
        (x0, x1), (y0, y1) = self.domain
        gx, gy = np.meshgrid(np.linspace(x0, x1, 65), np.linspace(y0, y1, 65))
        with np.errstate(all="ignore"):
            d = self._display(drawable(self.f(np.stack([gx, gy], -1))))
        d = d[np.isfinite(d)]
        if d.size < 2:
            return 1.0
        with np.errstate(under="ignore"):  # f of 1e-300 interpolates below the floats
            lo, hi = (float(v) for v in finite_percentiles(d, [2.0, 98.0]))
        extent = max(x1 - x0, y1 - y0)
        span = hi - lo
        if not np.isfinite(span) or span <= 1e-12 * max(abs(lo), abs(hi)) or span == 0:
            return 1.0
        lo_scale, hi_scale = HEIGHT_SCALE_LIMITS
        return float(min(max(0.6 * extent / span, lo_scale), hi_scale))

    def height_range(self, samples: int = 129) -> HeightRange:
        """Colour range, clip box and floor height of the displayed surface.

        Sampled in numpy on a grid; a heavy tail (a pole such as 1/x) is clipped at the
        robust range so the picture shows the surface, not one spike.
        """
        return self.memo(("height_range", samples), lambda: self._height_range(samples))

    def draw_key(self) -> tuple:
        """What the drawn shape depends on: the sources (each formula and each sampled
        data set has its own), parameter values, domain, display and height scale. Caches
        of geometry built from the surface are keyed on it."""
        return (
            id(self.sources),
            tuple(self.param_values.items()),
            self.domain,
            self.display,
            self.height_scale,
        )

    def memo(self, name, compute):
        """``compute()`` once per ``name`` and drawn shape (parameter values, domain,
        display, height scale): per-frame readers are free.

        Used for what is sampled from f over the domain (height range, arrow scales).
        """
        slot = f"_memo_{name}"
        key = self.draw_key()[1:]  # this surface's own cache: its sources are fixed
        cached = self._functions.get(slot)
        if cached is None or cached[0] != key:
            cached = (key, compute())
            self._functions[slot] = cached
        return cached[1]

    def sampled_f(self, samples: int = 129) -> np.ndarray:
        """f on a ``samples``-point grid over the domain (``(samples, samples)``, rows
        along y; ``(samples,)`` on a curve), memoised: the height range and the
        renderer's drawing note read the same samples."""
        return self.memo(("sampled_f", samples), lambda: self._sample_f(samples))

    def _sample_f(self, samples: int) -> np.ndarray:
        (x0, x1), (y0, y1) = self.domain if self.dim == 2 else (self.domain[0], (0.0, 0.0))
        gx, gy = np.meshgrid(np.linspace(x0, x1, samples), np.linspace(y0, y1, samples))
        if self.dim == 2:
            return np.asarray(self.f(np.stack([gx, gy], -1)), dtype=np.float64)
        return np.asarray(self.f(gx[0]), dtype=np.float64)

    def _height_range(self, samples: int) -> HeightRange:
        (x0, x1), (y0, y1) = self.domain if self.dim == 2 else (self.domain[0], (0.0, 0.0))
        if self.dim == 2:
            h = drawable(self._height_of(drawable(self.sampled_f(samples))))
        else:
            h = self.sampled_f(samples)
        h = h[np.isfinite(h)]
        empty = h.size == 0
        if empty:
            lo = hi = 0.0
            clip_lo, clip_hi = lo, hi
        else:
            lo, hi = float(h.min()), float(h.max())
            p_lo, p_hi = (float(v) for v in finite_percentiles(h, [1.0, 99.0]))
            robust = p_hi - p_lo
            if robust > 0 and hi - lo > 10 * robust:
                lo, hi = p_lo, p_hi
                clip_lo, clip_hi = p_lo - 0.5 * robust, p_hi + 0.5 * robust
            else:
                clip_lo, clip_hi = lo, hi
        if hi - lo < 1e-9:  # flat: give the colormap and contours some room
            lo, hi = lo - 0.5, hi + 0.5
            clip_lo, clip_hi = min(clip_lo, lo), max(clip_hi, hi)
        extent = max(x1 - x0, y1 - y0)
        return HeightRange(lo, hi, clip_lo, clip_hi, clip_lo - 0.15 * extent, empty)

    @property
    def teaching(self) -> Teaching:
        """The catalogue's teaching defaults; for a typed surface, a start near the
        top-left corner (a long way to roll) and torch's learning rates."""
        if self.definition.teaching is not None:
            return self.definition.teaching
        if self.dim == 1:
            (lo, hi) = self.domain[0]
            return Teaching(start=(lo + 0.15 * (hi - lo),))
        (x0, x1), (y0, y1) = self.domain
        return Teaching(start=(x0 + 0.15 * (x1 - x0), y1 - 0.15 * (y1 - y0)))

    def formula(self) -> str:
        """The expression as typed, or the catalogue's formula."""
        return self.definition.expression


def _scalar(value) -> float:
    """A generated scalar result as a finite float or NaN (ints, inf and complex too)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _verdict(fv, grad, hess, tol: float, dim: int) -> Verdict:
    grad = np.atleast_1d(grad)
    if not np.isfinite(fv):
        return Verdict("undefined", math.nan, (), tol)
    if not np.all(np.isfinite(grad)):
        return Verdict("not differentiable", math.nan, (), tol)
    length = float(np.linalg.norm(grad))
    h = np.atleast_2d(hess)
    if not np.all(np.isfinite(h)):
        kind = "not a critical point" if length > tol else "not differentiable"
        return Verdict(kind, length, (), tol)
    eig = tuple(float(v) for v in np.linalg.eigvalsh(h)) if dim == 2 else (float(h[0, 0]),)
    if length > tol:
        return Verdict("not a critical point", length, eig, tol)
    scale = 1e-9 * max(1.0, *(abs(v) for v in eig))
    if any(abs(v) <= scale for v in eig):
        kind = "degenerate critical point"
    elif all(v > 0 for v in eig):
        kind = "minimum"
    elif all(v < 0 for v in eig):
        kind = "maximum"
    else:
        kind = "saddle"
    return Verdict(kind, length, eig, tol)


def _check_domain(domain, dim: int) -> tuple[tuple[float, float], ...]:
    try:
        pairs = tuple((float(lo), float(hi)) for lo, hi in domain)
    except (TypeError, ValueError):
        raise UsageError("domain must be pairs of numbers like ((-2, 2), (-1, 3))") from None
    if len(pairs) != dim:
        raise UsageError(f"domain needs {dim} ranges for this {'surface' if dim == 2 else 'curve'}")
    for lo, hi in pairs:
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise UsageError(f"domain range {lo}..{hi} must be finite with min < max")
    return pairs


def check_point(point, domain, what: str = "point") -> tuple[float, ...]:
    """``point`` (x on a curve, (x, y) on a surface) as floats inside ``domain``.

    The one check of a placed point, for the command line (``what="--point"``) and the
    API alike: a wrong count, a non-finite value or a point outside the domain raises
    :class:`UsageError` in one line.
    """
    dim = len(domain)
    try:
        values = np.atleast_1d(np.asarray(point, dtype=np.float64))
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (dim,):
        shape = "one number x for a curve" if dim == 1 else "two numbers x,y for a surface"
        raise UsageError(f"{what} must be {shape}, got {point!r}")
    if not np.all(np.isfinite(values)):
        raise UsageError(f"{what} must be finite numbers, got {point!r}")
    if not all(lo <= v <= hi for v, (lo, hi) in zip(values, domain, strict=True)):
        shown = ",".join(f"{v:g}" for v in values)
        box = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in domain)
        raise UsageError(f"{what} {shown} is outside the domain {box}")
    return tuple(float(v) for v in values)


def check_expression(text: str) -> None:
    """Raise :class:`ExpressionError` if ``text`` would be refused; builds nothing else."""
    from gradient_explorer.surfaces.expressions import parse_expression  # sympy: see top

    parse_expression(text)


__all__ = [
    "CLASSIFICATIONS",
    "ExpressionError",
    "Parameter",
    "Surface",
    "SurfaceDefinition",
    "Teaching",
    "Verdict",
]
