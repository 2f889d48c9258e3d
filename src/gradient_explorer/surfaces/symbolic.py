"""Symbolic derivatives and code generation: one sympy expression in, numpy and GLSL out.

Everything downstream of a surface's definition comes from here: f, the gradient and
the Hessian as vectorized float64 numpy functions (with common-subexpression
elimination), and the GLSL functions the shaders call. No derivative is written by hand.

The GLSL must mean the same thing on every driver. GLSL leaves ``pow(x, y)`` undefined for
x < 0 (llvmpipe gives NaN for pow(-2, 3), an H100 gives -8), ``sqrt`` and ``log`` undefined
for negative arguments and ``atan(0, 0)`` undefined, so integer powers become
multiplications and every partial function goes through a helper that returns NaN (or
the numpy value) explicitly outside its domain.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from gradient_explorer.errors import ExpressionError
from gradient_explorer.surfaces.compiled import (  # noqa: F401 (re-exported: the 0.1 names)
    GLSL_HELPERS,
    WALL_FACTOR,
    DerivedSources,
    compile_python,
    max_scalar,
    min_scalar,
    parameter_uniform,
    run_with_timeout,
    sigmoid_scalar,
    sign_or_nan_scalar,
    sign_scalar,
    softplus_scalar,
    step_or_nan_scalar,
    zero_or_nan_scalar,
)
from gradient_explorer.surfaces.expressions import SYMBOLS, sigmoid, softplus

DISPLAY_SYMBOL = sp.Symbol("v", real=True)

# Display transforms h = display(f) for steep surfaces; the height is s * display(f).
DISPLAY_TRANSFORMS: dict[str, sp.Expr] = {
    "none": DISPLAY_SYMBOL,
    "log1p": sp.log(1 + DISPLAY_SYMBOL),
}


class kink_sign(sp.Function):  # noqa: N801 (sympy function names are lowercase)
    """sign(v) in a derivative (d|v|/dv): undefined at v = 0, where |v| has its corner."""


class kink_step(sp.Function):  # noqa: N801
    """Heaviside(v) in a derivative (d max(v, 0)/dv): undefined at v = 0."""


class kink_delta(sp.Function):  # noqa: N801
    """DiracDelta(v) in a derivative (d sign(v)/dv): 0 where v != 0, undefined at v = 0."""


class real_abs(sp.Function):  # noqa: N801
    """|v| while differentiating: d|v| = sign(v) dv for any real-valued v.

    sympy's Abs goes through re() and im() unless v is known to be real, and sqrt(x) or
    log(x) are not known to be (here they are NaN, never complex, outside their domain).
    """

    is_extended_real = True
    is_extended_nonnegative = True  # so that |real_abs(v)| is real_abs(v)

    def fdiff(self, argindex=1):
        return real_sign(self.args[0])


class real_sign(sp.Function):  # noqa: N801
    """sign(v) while differentiating, for the same reason: d sign(v) = 2 DiracDelta(v) dv."""

    is_extended_real = True

    def fdiff(self, argindex=1):
        return 2 * sp.DiracDelta(self.args[0])


def derivatives(expr: sp.Expr, variables: tuple[str, ...]) -> tuple[list, list[list]]:
    """Gradient and Hessian of ``expr`` in the variables (never in the parameters).

    Where f has a kink or a jump (|v|, max, min, relu, sign at v = 0) the derivatives
    are NaN in numpy, so the verdict there is "not differentiable"; elsewhere they are
    the one-sided derivatives, which agree.
    """
    syms = [SYMBOLS[v] for v in variables]
    for _ in range(3):  # a rebuilt |1/|x|| is 1/|real_abs(x)|: a new Abs to replace
        if not expr.has(sp.Abs, sp.sign):
            break
        expr = expr.replace(sp.Abs, real_abs).replace(sp.sign, real_sign)
    gradient = [sp.diff(expr, s) for s in syms]
    hessian = [[_clean(sp.diff(g, s)) for s in syms] for g in gradient]
    return [_clean(g) for g in gradient], hessian


def _clean(expr: sp.Expr) -> sp.Expr:
    """Name the kinks of a derivative, so that f's own sign(v) stays 0 at v = 0."""
    return (
        expr.replace(real_abs, sp.Abs)
        .replace(real_sign, kink_sign)
        .replace(sp.DiracDelta, lambda v, *order: kink_delta(v))
        .replace(sp.Heaviside, lambda v, *h0: kink_step(v))
        .replace(sp.sign, kink_sign)
    )


# --------------------------------------------------------------------------- numpy


def _big_integer_as_float(printer, expr) -> str:
    # numpy turns a Python int beyond int64 into an object array that ufuncs refuse.
    n = int(expr)
    return repr(float(n)) if abs(n) > 2**53 else str(n)


class _NumpyPrinter(NumPyPrinter):
    """sympy's numpy printer, with NaN at kinks and stable sigmoid and softplus."""

    _print_Integer = _big_integer_as_float  # noqa: N815 (sympy printer protocol)

    def _helper(self, name, expr):
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_sign(self, expr):
        return self._helper("numpy.sign", expr)

    def _print_Pow(self, expr, rational=False):  # noqa: N802 (sympy printer protocol)
        # The one-point code prints powers the same way (see _ScalarPrinter._print_Pow):
        # ufuncs round alike on arrays and on parameters (numpy floats), ** may not.
        if expr.exp == 2:
            return f"numpy.square({self._print(expr.base)})"
        if expr.exp in _EXACT_EXPONENTS:
            return super()._print_Pow(expr, rational)
        return _numpy_power(self, expr)

    def _print_kink_sign(self, expr):
        return self._helper("_sign_or_nan", expr)

    def _print_kink_step(self, expr):
        return self._helper("_step_or_nan", expr)

    def _print_kink_delta(self, expr):
        return self._helper("_zero_or_nan", expr)

    def _print_sigmoid(self, expr):
        return self._helper("_sigmoid", expr)

    def _print_softplus(self, expr):
        return f"numpy.logaddexp(0.0, {self._print(expr.args[0])})"

    def _print_Max(self, expr):  # noqa: N802 (sympy printer protocol)
        return self._nested("numpy.maximum", expr.args)

    def _print_Min(self, expr):  # noqa: N802 (sympy printer protocol)
        return self._nested("numpy.minimum", expr.args)

    def _nested(self, name, args):
        # numpy.amax((x, 0)) would stack an array with a scalar: pair them instead.
        first = self._print(args[0])
        if len(args) == 1:
            return first
        return f"{name}({first}, {self._nested(name, args[1:])})"


def _numpy_power(printer, expr) -> str:
    """``numpy.power(base, exponent)``, printed alike for arrays and for one float."""
    exponent = expr.exp
    text = repr(float(exponent)) if exponent.is_number else printer._print(exponent)
    return f"numpy.power({printer._print(expr.base)}, {text})"


def _python_function(name: str, args: list[str], exprs: list[sp.Expr]) -> str:
    printer = _NumpyPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})
    temps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"))
    lines = [f"def {name}({', '.join(args)}):"]
    for sym, sub in temps:
        lines.append(f"    {sym} = {printer.doprint(sub)}")
    lines.append(f"    return ({', '.join(printer.doprint(e) for e in reduced)},)")
    return "\n".join(lines)


class _ScalarPrinter(PythonCodePrinter):
    """Plain-float Python with the math module: a few microseconds for one point.

    Powers other than squares, reciprocals and square roots go through numpy.power: the
    numpy path's rounding, and NaN (not a Python complex number) for a real power of a
    negative base.
    """

    _print_Integer = _big_integer_as_float  # noqa: N815 (sympy printer protocol)

    def _helper(self, name, expr):
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_sign(self, expr):
        return self._helper("_sign_scalar", expr)

    def _print_kink_sign(self, expr):
        return self._helper("_sign_or_nan_scalar", expr)

    def _print_kink_step(self, expr):
        return self._helper("_step_or_nan_scalar", expr)

    def _print_kink_delta(self, expr):
        return self._helper("_zero_or_nan_scalar", expr)

    def _print_sigmoid(self, expr):
        return self._helper("_sigmoid_scalar", expr)

    def _print_softplus(self, expr):
        return self._helper("_softplus_scalar", expr)

    def _print_Max(self, expr):  # noqa: N802 (sympy printer protocol)
        return self._helper("_max_scalar", expr)

    def _print_Min(self, expr):  # noqa: N802 (sympy printer protocol)
        return self._helper("_min_scalar", expr)

    def _print_Pow(self, expr, rational=False):  # noqa: N802 (sympy printer protocol)
        if expr.exp == 2:
            # v*v as numpy squares: Python's v**2 (libm's pow) differs in the last bit
            return f"_sq({self._print(expr.base)})"
        if expr.exp in _EXACT_EXPONENTS:
            return super()._print_Pow(expr, rational)
        # numpy.power also gives NaN (not a complex number) for a real power of b < 0
        return _numpy_power(self, expr)

    def _module_format(self, fqn, register=True):
        # math's transcendental functions round differently from numpy's (SIMD) ones:
        # numpy's, called on one float, give the numpy path's bits, so one ball and a
        # batch of balls follow the same path exactly
        head, _, tail = fqn.partition(".")
        if head == "math" and tail in _NUMPY_SCALAR:
            return f"numpy.{_NUMPY_SCALAR[tail]}"
        return super()._module_format(fqn, register)


# Exponents printed as exact operations on both paths (a reciprocal, a square root; squares
# are _sq); other powers go through numpy.power.
_EXACT_EXPONENTS = (sp.Integer(1), sp.Integer(-1), sp.S.Half, -sp.S.Half)
# math functions printed as numpy ufuncs in the scalar code (sqrt and fabs are exact).
_NUMPY_SCALAR = {
    name: {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2"}.get(name, name)
    for name in (
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "atan2",
        "sinh",
        "cosh",
        "tanh",
    )
}


def _scalar_function(name: str, args: list[str], exprs: list[sp.Expr]) -> str:
    """One point at a time; math domain errors and overflow give NaN, never an exception.

    The same common subexpressions as :func:`_fused_function`, printed the same way, so
    that one ball's arithmetic is the numpy path's operation for operation. Where numpy
    ufuncs are called on floats (non-exact functions), numpy's warnings are silenced.
    """
    printer = _ScalarPrinter({"fully_qualified_modules": True})
    temps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"))
    body = [f"{sym} = {printer.doprint(sub)}" for sym, sub in temps]
    body.append(f"return ({', '.join(printer.doprint(e) for e in reduced)},)")
    quiet = ("numpy.", "_sigmoid_scalar(", "_softplus_scalar(")
    uses_numpy = any(word in line for line in body for word in quiet)
    lines = [f"def {name}({', '.join(args)}):"]
    indent = "    "
    if uses_numpy:
        lines.append('    with numpy.errstate(all="ignore"):')
        indent = "        "
    lines.append(f"{indent}try:")
    lines += [f"{indent}    {line}" for line in body]
    lines.append(f"{indent}except (ValueError, OverflowError, ZeroDivisionError):")
    lines.append(f"{indent}    return ({', '.join(['math.nan'] * len(exprs))},)")
    return "\n".join(lines)


def _fused_function(name: str, args: list[str], exprs: list[sp.Expr]) -> str:
    """f and its gradient in one numpy pass, sharing common subexpressions (descent)."""
    return _python_function(name, args, exprs)


# --------------------------------------------------------------------------- GLSL


def glsl_float(value: float) -> str:
    """A float literal exact to float32, always with a '.' or exponent, never inf/nan."""
    v32 = np.float32(value)
    if not np.isfinite(v32):
        raise ExpressionError(f"constant {value:g} does not fit in float32: use smaller numbers")
    if v32 == 0:
        return "0.0"
    mag = abs(float(v32))
    if 1e-4 <= mag < 1e7:
        text = np.format_float_positional(v32, unique=True, trim="0")
    else:
        text = np.format_float_scientific(v32, unique=True, trim="0")
    if "." not in text and "e" not in text:
        text += ".0"
    return f"({text})" if text.startswith("-") else text


class _GLSLWriter:
    """Prints sympy expressions as GLSL 330 without pow() of a possibly negative base."""

    def __init__(self, names: dict[sp.Symbol, str]):
        self.names = names
        self.powers: set[int] = set()

    def print(self, e: sp.Expr) -> str:
        if e.is_number and not e.has(kink_sign, kink_step, kink_delta):
            value = complex(sp.N(e, 30))
            if value.imag != 0 or not math.isfinite(value.real):
                raise ExpressionError(f"constant {e} is not a finite real number: change it")
            return glsl_float(value.real)
        if isinstance(e, sp.Symbol):
            if e not in self.names:
                raise ExpressionError(f"unknown name '{e}' in generated code: use x and y")
            return self.names[e]
        if isinstance(e, sp.Add):
            return "(" + " + ".join(self.print(a) for a in e.args) + ")"
        if isinstance(e, sp.Mul):
            return self._mul(e)
        if isinstance(e, sp.Pow):
            return self._pow(e.base, e.exp)
        return self._function(e)

    def _mul(self, e: sp.Mul) -> str:
        coeff, factors = e.as_coeff_mul()
        num, den = [], []
        for factor in factors:
            if isinstance(factor, sp.Pow) and factor.exp.is_number and factor.exp < 0:
                den.append(self._pow(factor.base, -factor.exp))
            else:
                num.append(self.print(factor))
        sign = ""
        if coeff == -1:
            sign = "-"
        elif coeff != 1:
            num.insert(0, self.print(abs(coeff)) if coeff < 0 else self.print(coeff))
            sign = "-" if coeff < 0 else ""
        text = " * ".join(num) if num else "1.0"
        if den:
            text = f"{text} / ({' * '.join(den)})"
        return f"({sign}{text})"

    def _pow(self, base: sp.Expr, exponent: sp.Expr) -> str:
        b = self.print(base)
        if exponent.is_Integer:
            n = int(exponent)
            if n == 0:
                return "1.0"
            if n == 1:
                return b
            if n == -1:
                return f"(1.0 / {b})"
            self.powers.add(abs(n))
            text = f"ge_powi_{abs(n)}({b})"
            return text if n > 0 else f"(1.0 / {text})"
        if exponent.is_Rational and exponent.q == 2:
            # Half-integer powers: sqrt keeps NaN for a negative base, as numpy does.
            n = int(exponent.p)
            root = f"ge_sqrt({b})"
            if abs(n) == 1:
                return root if n > 0 else f"(1.0 / {root})"
            self.powers.add(abs(n))
            text = f"ge_powi_{abs(n)}({root})"
            return text if n > 0 else f"(1.0 / {text})"
        if base.is_number and base.is_positive:
            return f"exp({self.print(exponent)} * {glsl_float(float(sp.log(base)))})"
        return f"ge_pow({b}, {self.print(exponent)})"

    def _function(self, e: sp.Expr) -> str:
        if isinstance(e, kink_delta):
            return "0.0"  # away from the kink; at it, shading needs a finite number
        if isinstance(e, sp.Max | sp.Min):
            name = "max" if isinstance(e, sp.Max) else "min"
            text = self.print(e.args[-1])
            for arg in reversed(e.args[:-1]):
                text = f"{name}({self.print(arg)}, {text})"
            return text
        args = [self.print(a) for a in e.args]
        native = {
            sp.sin: "sin",
            sp.cos: "cos",
            sp.tan: "tan",
            sp.atan: "atan",
            sp.exp: "exp",
            sp.sinh: "sinh",
            sp.cosh: "cosh",
            sp.Abs: "abs",
            sp.sign: "sign",
            kink_sign: "sign",
            kink_step: "ge_step",
            sigmoid: "ge_sigmoid",
            softplus: "ge_softplus",
            sp.tanh: "ge_tanh",
            sp.log: "ge_log",
            sp.asin: "ge_asin",
            sp.acos: "ge_acos",
            sp.atan2: "ge_atan2",
        }
        name = native.get(e.func)
        if name is None:
            raise ExpressionError(f"'{e.func.__name__}' has no GPU version: use another function")
        return f"{name}({', '.join(args)})"

    def power_helpers(self) -> str:
        """Integer powers by repeated squaring: no loops, no pow()."""
        out = []
        for n in sorted(self.powers):
            lines = [f"float ge_powi_{n}(float v) {{"]
            terms, square, bit, k = [], "v", 1, 0
            while bit <= n:
                if n & bit:
                    terms.append(square)
                if bit * 2 <= n:
                    k += 1
                    lines.append(f"    float v{k} = {square} * {square};")
                    square = f"v{k}"
                bit *= 2
            lines.append(f"    return {' * '.join(terms)};")
            lines.append("}")
            out.append("\n".join(lines))
        return "\n".join(out)


def _glsl_function(writer: _GLSLWriter, signature: str, prologue: str, exprs, make) -> str:
    temps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c"))
    names = writer.names
    lines = [f"{signature} {{", prologue]
    for sym, sub in temps:
        text = writer.print(sub)
        names[sym] = str(sym)
        lines.append(f"    float {sym} = {text};")
    lines.append(f"    return {make([writer.print(e) for e in reduced])};")
    lines.append("}")
    for sym, _ in temps:
        names.pop(sym, None)
    return "\n".join(line for line in lines if line)


def generate(
    expr: sp.Expr,
    variables: tuple[str, ...],
    parameters: tuple[str, ...],
    display: str = "none",
) -> DerivedSources:
    """Derive gradient and Hessian and print numpy and GLSL code for them."""
    gradient, hessian = derivatives(expr, variables)
    args = [*variables, *parameters]

    if len(variables) == 2:
        hess_flat = [hessian[0][0], hessian[0][1], hessian[1][1]]
    else:
        hess_flat = [hessian[0][0]]
    python = "\n\n".join(
        [
            _python_function("f", args, [expr]),
            _python_function("gradient", args, gradient),
            _python_function("hessian", args, hess_flat),
            _fused_function("value_and_gradient", args, [expr, *gradient]),
            _scalar_function("value_and_gradient_scalar", args, [expr, *gradient]),
        ]
    )

    names = {SYMBOLS[v]: v for v in variables}
    for p in parameters:
        names[SYMBOLS.get(p) or sp.Symbol(p, real=True)] = parameter_uniform(p)
    writer = _GLSLWriter(names)
    unpack = "    float x = p.x;" + ("\n    float y = p.y;" if len(variables) == 2 else "")
    grad2 = gradient if len(variables) == 2 else [gradient[0], sp.Integer(0)]
    hess3 = hess_flat if len(variables) == 2 else [hess_flat[0], sp.Integer(0), sp.Integer(0)]
    body = [
        _glsl_function(writer, "float f(vec2 p)", unpack, [expr], lambda t: t[0]),
        _glsl_function(
            writer, "vec2 grad_f(vec2 p)", unpack, grad2, lambda t: f"vec2({t[0]}, {t[1]})"
        ),
        # (f_xx, f_xy, f_yy): curvature for the tangent-plane and Newton visuals.
        _glsl_function(
            writer, "vec3 hess_f(vec2 p)", unpack, hess3, lambda t: f"vec3({', '.join(t)})"
        ),
    ]
    transform = DISPLAY_TRANSFORMS[display]
    display_writer = _GLSLWriter({DISPLAY_SYMBOL: "v"})
    body.append(
        _glsl_function(display_writer, "float display_h(float v)", "", [transform], lambda t: t[0])
    )
    body.append(
        _glsl_function(
            display_writer,
            "float display_dh(float v)",
            "",
            [sp.diff(transform, DISPLAY_SYMBOL)],
            lambda t: t[0],
        )
    )
    writer.powers |= display_writer.powers
    uniforms = "\n".join(f"uniform float {parameter_uniform(p)};" for p in parameters)
    glsl = "\n".join(
        part
        for part in (
            "// generated by gradient-explorer: do not edit",
            uniforms,
            GLSL_HELPERS,
            writer.power_helpers(),
            *body,
        )
        if part
    )
    return DerivedSources(python=python, glsl=glsl, gradient=tuple(sp.srepr(g) for g in gradient))


def generate_with_timeout(
    expr: sp.Expr,
    variables: tuple[str, ...],
    parameters: tuple[str, ...],
    display: str = "none",
    timeout: float | None = 10.0,
) -> DerivedSources:
    """:func:`generate` in a child process that is stopped after ``timeout`` seconds.

    Differentiation and CSE of a large expression can take unbounded time; a forked child
    can be killed, a thread cannot. ``timeout=None`` runs in this process.
    """
    return run_with_timeout(lambda: generate(expr, variables, parameters, display), timeout)
