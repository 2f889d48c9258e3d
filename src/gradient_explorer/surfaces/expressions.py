"""Safe parsing of typed expressions into sympy objects.

Users type f(x, y) the way they would in Desmos: ``x^2 - y^2``, ``2x sin(y)``,
``exp(-(x^2+y^2))``. The text is tokenized here, rewritten into Python syntax
(``^`` becomes ``**``, implicit products get a ``*``), parsed with :mod:`ast`, and every
node is checked against an allowlist while sympy objects are built directly from it.
Nothing is ever evaluated as code: no ``eval``, ``sympify``, ``parse_expr`` or
``lambdify`` of user text, because all of them can run arbitrary Python.

The work is bounded before anything is built: input length, nesting depth, node count,
the size of literals and of integer exponents (``9^9^9`` is refused, not computed).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import sympy as sp

from gradient_explorer.errors import ExpressionError
from gradient_explorer.surfaces.syntax import SYNTAX_HELP  # noqa: F401 (its old home)

MAX_LENGTH = 1000
MAX_DEPTH = 40
MAX_NODES = 400
MAX_EXPONENT = 64
MAX_LITERAL = 1e15
# Constants must stay representable on the GPU (float32 max is about 3.4e38).
MAX_CONSTANT = 1e30
_TOO_LARGE = f"number too large (over {MAX_LITERAL:g}): use smaller numbers"

VARIABLES = ("x", "y")
PARAMETER_LETTERS = tuple("abcdkmnpqrstuvw")

# Real symbols: derivatives of |g| become sign(g) * g', not complex expressions.
SYMBOLS: dict[str, sp.Symbol] = {
    name: sp.Symbol(name, real=True) for name in (*VARIABLES, *PARAMETER_LETTERS)
}
X, Y = SYMBOLS["x"], SYMBOLS["y"]

CONSTANTS = {"pi": sp.pi, "e": sp.E}


class sigmoid(sp.Function):  # noqa: N801 (lowercase like sympy's sin: it prints as typed)
    """The logistic function 1 / (1 + e^-v), kept whole so numpy and GLSL stay stable.

    Written out, its derivative e^-v / (1 + e^-v)^2 is inf/inf for v below about -710;
    as a function, the derivative is sigmoid(v) sigmoid(-v), finite everywhere.
    """

    @classmethod
    def eval(cls, v):
        if v.is_number:
            return 1 / (1 + sp.exp(-v))
        return None

    def fdiff(self, argindex=1):
        v = self.args[0]
        return sigmoid(v) * sigmoid(-v)

    def _eval_rewrite_as_exp(self, v, **kwargs):
        return 1 / (1 + sp.exp(-v))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_extended_positive(self):
        return self.args[0].is_extended_real


class softplus(sp.Function):  # noqa: N801 (lowercase like sympy's sin: it prints as typed)
    """log(1 + e^v), a smooth relu; kept whole so that e^v never overflows."""

    @classmethod
    def eval(cls, v):
        if v.is_number:
            return sp.log(1 + sp.exp(v))
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, v, **kwargs):
        return sp.log(1 + sp.exp(v))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_extended_positive(self):
        return self.args[0].is_extended_real


def _log(v, base=None):
    return sp.log(v) if base is None else sp.log(v, base)


# name -> (sympy constructor, fewest arguments, most arguments or None for any number)
FUNCTIONS: dict[str, tuple[object, int, int | None]] = {
    "sin": (sp.sin, 1, 1),
    "cos": (sp.cos, 1, 1),
    "tan": (sp.tan, 1, 1),
    "asin": (sp.asin, 1, 1),
    "acos": (sp.acos, 1, 1),
    "atan": (sp.atan, 1, 1),
    "atan2": (sp.atan2, 2, 2),
    "sinh": (sp.sinh, 1, 1),
    "cosh": (sp.cosh, 1, 1),
    "tanh": (sp.tanh, 1, 1),
    "exp": (sp.exp, 1, 1),
    "log": (_log, 1, 2),  # natural log; log(x, b) is the log to base b
    "ln": (sp.log, 1, 1),
    "log10": (lambda v: sp.log(v, 10), 1, 1),
    "log2": (lambda v: sp.log(v, 2), 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "sign": (sp.sign, 1, 1),
    "max": (sp.Max, 2, None),
    "min": (sp.Min, 2, None),
    "arcsin": (sp.asin, 1, 1),
    "arccos": (sp.acos, 1, 1),
    "arctan": (sp.atan, 1, 1),
    "relu": (lambda v: sp.Max(v, 0), 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "softplus": (softplus, 1, 1),
}

# sin^-1(x) is arcsin(x), as in textbooks and Desmos.
INVERSES = {"sin": "asin", "cos": "acos", "tan": "atan"}


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression: the sympy object, its variables and parameter names."""

    text: str
    expr: sp.Expr
    variables: tuple[str, ...]
    parameters: tuple[str, ...]


def _error(message: str, column: int | None = None) -> ExpressionError:
    where = f" at column {column}" if column is not None else ""
    head, _, advice = message.partition(": ")
    return ExpressionError(f"{head}{where}: {advice}" if advice else f"{head}{where}")


# Characters pasted from textbooks and web pages, and what they mean in ASCII.
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))
_TIMES = "·×⋅∗•"  # middle dot, times, dot operator, asterisk operator, bullet
_DIVIDE = "÷∕"  # division sign, division slash
_DASHES = "−–—‐‑‒﹣"  # minus sign, en and em dash, hyphens, small minus
_OPENERS = {"(": ")", "{": "}"}
# LaTeX, as Desmos copies it: \frac{1}{1+e^{-x}}, \sin\left(x\right), x\cdot y.
_LATEX = {
    **{rf"\{c}": ("space", " ") for c in ("left", "right", ",", ";", ":", "!", " ")},
    **{rf"\{c}": ("op", "*") for c in ("cdot", "times", "ast")},
    r"\div": ("op", "/"),
    r"\{": ("op", "{"),
    r"\}": ("op", "}"),
    r"\pi": ("name", "pi"),
    r"\frac": ("frac", r"\frac"),
}

_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<superscript>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
  | (?P<op>\*\*|[-+*/^(),{{}}|])
  | (?P<unicode_op>[{_TIMES}{_DIVIDE}{_DASHES}])
  | (?P<pi>π)
  | (?P<root>√)
  | (?P<operatorname>\\operatorname\{{[A-Za-z][A-Za-z0-9]*\}})
  | (?P<latex>\\(?:[A-Za-z]+|.))
    """,
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str  # number, name, superscript, op or frac
    text: str  # in ASCII: "−" is "-", "·" is "*", "π" is "pi", "²" is "2", "^" is "**"
    col: int  # 1-based column in the text as typed


@dataclass
class _Group:
    """A bracket still open while rewriting: '(', '{', '|', or 'implicit' (sin x)."""

    kind: str
    col: int
    suffix: str = ""  # written after its ')': "**(2)" for sin^2(x)
    stage: int = 0  # of a \frac: 0 before its numerator closes, then 1


_FRAC = r"incomplete \frac: write \frac{numerator}{denominator}"


def _lex(text: str) -> list[_Token]:
    """Split the text into tokens, each in ASCII and with its column as typed."""
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if not ch.isascii():
                raise _error(
                    f"non-ASCII character {ch!r}: type ASCII letters and symbols (or ² · × π − √)",
                    pos + 1,
                )
            raise _error(f"unexpected character {ch!r}: use numbers, x, y, + - * / ^ ( )", pos + 1)
        kind, tok = m.lastgroup, m.group()
        col = pos + 1
        pos = m.end()
        if kind == "space":
            continue
        if kind == "superscript":
            tok = "".join(_SUPERSCRIPTS[c] for c in tok)
        elif kind == "unicode_op":
            kind, tok = "op", "*" if tok in _TIMES else "/" if tok in _DIVIDE else "-"
        elif kind == "pi":
            kind, tok = "name", "pi"
        elif kind == "root":
            kind, tok = "name", "sqrt"
        elif kind == "operatorname":  # \operatorname{sign}
            kind, tok = "name", tok[len("\\operatorname{") : -1]
        elif kind == "latex":
            if tok in _LATEX:
                kind, tok = _LATEX[tok]
            elif tok[1:] in FUNCTIONS:  # \sin, \ln, \max, \sqrt
                kind, tok = "name", tok[1:]
            else:
                raise _error(f"unknown command '{tok}': write it without the backslash", col)
            if kind == "space":
                continue
        elif tok == "^":
            tok = "**"
        tokens.append(_Token(kind, tok, col))
    return tokens


def _tokenize(text: str) -> tuple[str, list[int]]:
    """Rewrite user text into Python syntax; return it with a map to user columns.

    ``colmap[i]`` is the 1-based column in the user's text of character ``i`` of the
    rewritten text, so parser errors point at what the user typed. Implicit products get
    a ``*``, ``|x|`` becomes ``abs(x)``, ``{ }`` become ``( )``, ``x²`` becomes ``x**(2)``,
    ``sin^2(x)`` becomes ``sin(x)**(2)`` and ``sin x`` becomes ``sin(x)``.
    """
    return _Rewriter(_lex(text), len(text)).run()


class _Rewriter:
    """One pass over the tokens, with a stack of the brackets still open."""

    def __init__(self, tokens: list[_Token], length: int):
        self.tokens = tokens
        self.length = length
        self.out: list[str] = []
        self.colmap: list[int] = []
        self.stack: list[_Group] = []
        self.prev_value = False  # what was written last ends a value: x, 2, ), |x|
        self.prev_name: str | None = None
        self.expect_brace: int | None = None  # column of a \frac that needs its next '{'

    def emit(self, text: str, col: int, value: bool = False, name: str | None = None) -> None:
        self.out.append(text)
        self.colmap.extend([col] * len(text))
        self.prev_value, self.prev_name = value, name

    def push(self, group: _Group) -> None:
        self.stack.append(group)
        if len(self.stack) > MAX_DEPTH:
            raise _error(f"nesting deeper than {MAX_DEPTH} levels: simplify it", group.col)

    def implicit_product(self, col: int) -> None:
        """A ``*`` between two values, as on a calculator: 2x, 2(x+1), (x+1)(x-1), x y."""
        if self.prev_value:
            self.emit("*", col)

    def close_implicit(self, col: int) -> None:
        """End the argument of each ``sin x`` still open (at + - * / , ) | or the end)."""
        while self.stack and self.stack[-1].kind == "implicit":
            self.emit(")" + self.stack.pop().suffix, col, value=True)

    def peek(self, i: int) -> _Token | None:
        return self.tokens[i] if i < len(self.tokens) else None

    def run(self) -> tuple[str, list[int]]:
        i = 0
        while i < len(self.tokens):
            i = self.step(i)
        self.close_implicit(self.length + 1)
        if self.stack:
            group = self.stack[-1]
            if group.kind == "|":
                raise _error(
                    f"missing closing '|': close the '|' at column {group.col}", self.length + 1
                )
            if group.kind == "frac":
                raise _error(_FRAC, group.col)
            closer = _OPENERS[group.kind]
            raise _error(f"missing '{closer}': close every '{group.kind}'", self.length + 1)
        return "".join(self.out), self.colmap

    def step(self, i: int) -> int:
        tok = self.tokens[i]
        kind, text, col = tok.kind, tok.text, tok.col
        if self.expect_brace is not None:
            if text != "{":
                raise _error(_FRAC, self.expect_brace)
            self.expect_brace = None
        if kind == "frac":  # \frac{a}{b} is ((a)/(b))
            self.implicit_product(col)
            self.push(_Group("frac", col))
            self.emit("(", col)
            self.expect_brace = col
        elif kind == "number":
            self.implicit_product(col)
            self.emit(text, col, value=True)
        elif kind == "name":
            return self.name(i)
        elif kind == "superscript":
            if not self.prev_value:
                raise _error("a superscript must follow a number, a letter or ')': write x²", col)
            self.emit(f"**({text})", col, value=True)
        elif text in _OPENERS:
            # foo(x) stays a call, so an unknown function is reported as one.
            if not self.is_call():
                self.implicit_product(col)
            self.push(_Group(text, col))
            self.emit("(", col)
        elif text in (")", "}"):
            self.close_implicit(col)
            self.close(text, col)
        elif text == "|":
            self.bar(col)
        else:
            # A binary + or -, * / and a comma end the argument of sin x.
            if text in ("*", "/", ",") or (text in ("+", "-") and self.prev_value):
                self.close_implicit(col)
            self.emit(text, col)
        return i + 1

    def is_call(self) -> bool:
        value_names = (*VARIABLES, *PARAMETER_LETTERS, *CONSTANTS)
        name = self.prev_name
        return name is not None and name.split("*")[-1] not in value_names

    def close(self, text: str, col: int) -> None:
        if not self.stack:
            opener = "(" if text == ")" else "{"
            raise _error(f"unmatched '{text}': remove it or add a '{opener}' before it", col)
        group = self.stack[-1]
        if group.kind == "|":
            raise _error(
                f"unmatched '{text}': the '|' at column {group.col} is still open: close it first",
                col,
            )
        closer = _OPENERS[group.kind]
        if closer != text:
            raise _error(
                f"unmatched '{text}': the '{group.kind}' at column {group.col} closes with "
                f"'{closer}'",
                col,
            )
        self.stack.pop()
        self.emit(")" + group.suffix, col, value=True)
        frac = self.stack[-1] if self.stack and self.stack[-1].kind == "frac" else None
        if frac is not None and group.kind == "{":
            if frac.stage == 0:  # the numerator: the denominator's '{' must follow
                frac.stage = 1
                self.emit("/", col)
                self.expect_brace = frac.col
            else:
                self.stack.pop()
                self.emit(")", col, value=True)

    def bar(self, col: int) -> None:
        """``|`` after a value closes the innermost open ``|``, else it opens one."""
        brackets = [g for g in self.stack if g.kind != "implicit"]
        if self.prev_value and brackets and brackets[-1].kind == "|":
            self.close_implicit(col)  # |sin x|
            self.stack.pop()
            self.emit(")", col, value=True)
            return
        self.implicit_product(col)  # 2|x|, |x||y|
        self.push(_Group("|", col))
        self.emit("abs(", col)

    def name(self, i: int) -> int:
        tok = self.tokens[i]
        name = _split_name(tok.text, tok.col)
        if name in FUNCTIONS:
            if self.prev_value:
                self.close_implicit(tok.col)  # sin x cos y: the second function ends x
            return self.function(i, name)
        self.implicit_product(tok.col)
        self.emit(name, tok.col, value=True, name=name)
        return i + 1

    def function(self, i: int, name: str) -> int:
        """sin(x), sin x, sin^2(x), sin² x, sin^{2} x, and sin^-1(x), which is asin(x)."""
        col = self.tokens[i].col
        power, i = self.function_power(i + 1, name, col)
        suffix = ""
        if power == -1:
            name = INVERSES[name]
        elif power is not None:
            suffix = f"**({power})"
        self.implicit_product(col)
        nxt = self.peek(i)
        if nxt is not None and nxt.text in _OPENERS:  # sin(x), sin{x}, sin^2(x)
            self.emit(name, col)
            self.push(_Group(nxt.text, nxt.col, suffix))
            self.emit("(", nxt.col)
            return i + 1
        one_argument = FUNCTIONS[name][1] == 1
        argument_follows = nxt is not None and (
            nxt.kind in ("number", "name") or nxt.text in ("|", "-")
        )
        if one_argument and argument_follows:  # sin x
            self.push(_Group("implicit", col, suffix))
            self.emit(name + "(", col)
            return i
        if suffix:
            raise _error(f"'{name}' needs its argument: write {name}^{power}(x)", col)
        self.emit(name, col, value=True, name=name)  # the builder says: write name(...)
        return i

    def function_power(self, i: int, name: str, col: int) -> tuple[int | None, int]:
        """The n of sin^n, sin^{n} or sinⁿ right after a function's name (None if none)."""
        tok = self.peek(i)
        if tok is not None and tok.kind == "superscript":
            text, i = tok.text, i + 1
        elif tok is not None and tok.text == "**":
            i += 1
            braced = self.next_is(i, "{")
            i += braced
            negative = self.next_is(i, "-")
            i += negative
            number = self.peek(i)
            if number is None or number.kind != "number" or not number.text.isdigit():
                raise _error(f"a power of {name} must be a whole number: write {name}^2(x)", col)
            text, i = ("-" if negative else "") + number.text, i + 1
            if braced:
                if not self.next_is(i, "}"):
                    raise _error(f"missing '}}' after the power of {name}: write {name}^{{2}}", col)
                i += 1
        else:
            return None, i
        power = int(text) if text.lstrip("+-").isdigit() else None
        if power is None:
            raise _error(f"a power of {name} must be a whole number: write {name}^2(x)", col)
        if power == -1 and name in INVERSES:
            return -1, i
        if power < 0:
            inverse = f"1/{name}(x)" + (f"^{-power}" if power < -1 else "")
            raise _error(f"negative power of {name}: write {inverse}", col)
        if power > MAX_EXPONENT:
            raise _error(f"exponent too large (limit {MAX_EXPONENT}): use smaller powers", col)
        return power, i

    def next_is(self, i: int, text: str) -> bool:
        tok = self.peek(i)
        return tok is not None and tok.kind == "op" and tok.text == text


def _split_name(name: str, column: int) -> str:
    """``xy`` means x*y and ``ax`` means a*x, as on a calculator; ``sinx`` is refused."""
    if name in FUNCTIONS or name in CONSTANTS or len(name) == 1:
        return name
    for func in sorted(FUNCTIONS, key=len, reverse=True):
        if name.startswith(func) and name[len(func) :].isalnum():
            rest = name[len(func) :]
            raise _error(f"unknown name '{name}': write {func}({rest})", column)
    letters = set(VARIABLES) | set(PARAMETER_LETTERS)
    if all(ch in letters for ch in name):
        return "*".join(name)
    return name


class _Builder:
    """Walks an allowlisted Python AST and builds the sympy expression."""

    def __init__(self, colmap: list[int], variables: tuple[str, ...], extra_parameters):
        self.colmap = colmap
        self.variables = variables
        self.extra_parameters = set(extra_parameters)
        self.nodes = 0

    def column(self, node: ast.AST) -> int | None:
        offset = getattr(node, "col_offset", None)
        if offset is None or not self.colmap:
            return None
        return self.colmap[min(offset, len(self.colmap) - 1)]

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(f"expression too large (over {MAX_NODES} parts): simplify it")
        if depth > MAX_DEPTH * 2:
            raise _error(f"nesting deeper than {MAX_DEPTH} levels: simplify the expression")
        method = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None:
            raise _error(
                f"'{_describe(node)}' is not allowed: use numbers, x, y, + - * / ^ and functions",
                self.column(node),
            )
        try:
            result = method(node, depth + 1)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            # sympy itself can fail on odd constants (log(log(c)^2) compares a non-real).
            raise _error(
                f"cannot work this part out exactly ({type(exc).__name__}): simplify it",
                self.column(node),
            ) from None
        return self.checked(result, node)

    def checked(self, expr: sp.Expr, node: ast.AST) -> sp.Expr:
        if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise _error(
                "division by zero or an infinite value: change the constants", self.column(node)
            )
        if expr.is_number:
            value = _magnitude(expr)
            if value is None or value > MAX_CONSTANT:
                raise _error(
                    f"constant too large (over {MAX_CONSTANT:g}): use smaller numbers",
                    self.column(node),
                )
        for power in expr.atoms(sp.Pow):
            exponent = power.exp
            if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
                raise _error(
                    f"exponent too large (limit {MAX_EXPONENT}): use smaller powers",
                    self.column(node),
                )
        return expr

    def _constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _error(f"'{value!r}' is not a number: use plain numbers", self.column(node))
        if isinstance(value, int):
            if value > MAX_LITERAL:
                raise _error(_TOO_LARGE, self.column(node))
            return sp.Integer(value)
        if not math.isfinite(value) or abs(value) > MAX_LITERAL:
            raise _error(_TOO_LARGE, self.column(node))
        # Keep decimals exact (0.1 is 1/10) so derivatives carry no binary rounding.
        text = repr(value)
        return sp.Rational(text) if len(text) <= 20 else sp.Float(value)

    def _name(self, node: ast.Name, depth: int) -> sp.Expr:
        name = node.id
        if name in self.variables:
            return SYMBOLS[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in PARAMETER_LETTERS or name in self.extra_parameters:
            return SYMBOLS.get(name) or sp.Symbol(name, real=True)
        if name in FUNCTIONS:
            raise _error(f"'{name}' is a function: write {name}(...)", self.column(node))
        if name == "z":
            advice = "z is the height: write f(x, y) with x and y"
        elif name in VARIABLES:
            advice = "this is a curve in x: use x only"
        else:
            advice = "use x and y" if len(self.variables) == 2 else "use x"
            advice += ", pi, e, the parameters a b c d k m n p q r s t u v w, or a function"
        raise _error(f"unknown name '{name}': {advice}", self.column(node))

    def _unaryop(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        operand = self.build(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise _error(
            f"operator '{_describe(node)}' is not allowed: use + - * / ^", self.column(node)
        )

    def _binop(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = node.op
        if not isinstance(op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            raise _error(
                f"operator '{_describe(node)}' is not allowed: use + - * / ^", self.column(node)
            )
        if isinstance(op, ast.Pow):
            base = self.build(node.left, depth)
            exponent = self.build(node.right, depth)
            # Bound the exponent before sympy sees it: 9^9^9 must never be computed.
            if exponent.is_number:
                value = _magnitude(exponent)
                if value is None or value > MAX_EXPONENT:
                    raise _error(
                        f"exponent too large (limit {MAX_EXPONENT}): use smaller powers",
                        self.column(node.right),
                    )
            if base.is_number and not exponent.is_number:
                limit = _magnitude(base)
                if limit is not None and limit > 1e6:
                    raise _error(
                        "base of a power too large: use a smaller number", self.column(node)
                    )
            return sp.Pow(base, exponent)
        left = self.build(node.left, depth)
        right = self.build(node.right, depth)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if right == 0:
            raise _error("division by zero: change the divisor", self.column(node.right))
        return left / right

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            name = func.id if isinstance(func, ast.Name) else _describe(func)
            known = " ".join(sorted(FUNCTIONS))
            raise _error(f"unknown function '{name}': use one of {known}", self.column(node))
        if node.keywords:
            raise _error(
                f"{func.id}() takes no keyword arguments: write {func.id}(...)",
                self.column(node),
            )
        constructor, fewest, most = FUNCTIONS[func.id]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            if most is None:
                wanted = f"{fewest} or more arguments"
            elif fewest == most:
                wanted = f"{fewest} argument{'s' if fewest > 1 else ''}"
            else:
                wanted = f"{fewest} or {most} arguments"
            raise _error(
                f"{func.id}() takes {wanted}, got {count}: fix the call", self.column(node)
            )
        args = [self.build(arg, depth) for arg in node.args]
        if func.id == "exp":
            self._check_exp(args[0], node)
        if func.id == "log" and count == 2:
            base = args[1]
            if base.is_number and (_magnitude(base) is None or not base > 0 or base == 1):
                raise _error(
                    "the base of log(x, b) must be positive and not 1: write log(x, 2)",
                    self.column(node.args[1]),
                )
        return constructor(*args)

    def _check_exp(self, arg: sp.Expr, node: ast.AST) -> None:
        """exp(c log u) is u^c to sympy, computed exactly: bound c before it is built."""
        if arg.is_number:
            value = _magnitude(arg)
            if value is None or value > math.log(MAX_CONSTANT):
                message = "exp() of a constant too large: use smaller numbers"
                raise _error(message, self.column(node))
        for term in sp.Add.make_args(arg):
            coeff, rest = term.as_coeff_Mul()
            if rest.has(sp.log) and abs(float(coeff)) > MAX_EXPONENT:
                raise _error(
                    f"exponent too large (limit {MAX_EXPONENT}): use smaller powers",
                    self.column(node),
                )


def _magnitude(expr: sp.Expr) -> float | None:
    """|expr| for a constant expression, None if it is not a finite real number."""
    try:
        value = complex(sp.N(expr, 20))
    except (TypeError, ValueError, OverflowError):
        return None
    if value.imag != 0 or not math.isfinite(value.real):
        return None
    return abs(value.real)


def _describe(node: ast.AST) -> str:
    """A short, user-facing name for a disallowed AST node."""
    names = {
        ast.Attribute: ".",
        ast.Subscript: "[...]",
        ast.Lambda: "lambda",
        ast.ListComp: "comprehension",
        ast.GeneratorExp: "comprehension",
        ast.Compare: "comparison",
        ast.BoolOp: "and/or",
        ast.Mod: "%",
        ast.FloorDiv: "//",
        ast.BitXor: "^",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.MatMult: "@",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.Invert: "~",
        ast.Not: "not",
        ast.Tuple: "tuple",
        ast.List: "list",
        ast.Dict: "dict",
        ast.Set: "set",
        ast.Starred: "*args",
        ast.NamedExpr: ":=",
        ast.IfExp: "if-else",
        ast.JoinedStr: "f-string",
    }
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return names.get(type(node.op), type(node.op).__name__)
    return names.get(type(node), type(node).__name__.lower())


def parse_expression(
    text: str,
    variables: tuple[str, ...] | None = None,
    parameters: tuple[str, ...] = (),
) -> ParsedExpression:
    """Parse user text into a checked sympy expression.

    Parameters
    ----------
    text
        What the user typed, e.g. ``"x^2 - y^2"``.
    variables
        ``("x",)`` for a curve, ``("x", "y")`` for a height surface; ``None`` infers it
        (a surface if ``y`` appears, else a curve).
    parameters
        Extra parameter names allowed beside the single letters.

    Raises
    ------
    ExpressionError
        With one line that says what is wrong, where, and what to do.
    """
    if not isinstance(text, str):
        raise ExpressionError("expression must be text: type something like x^2 - y^2")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression too long ({len(text)} characters, limit {MAX_LENGTH}): shorten it"
        )
    if not text.strip():
        raise ExpressionError("empty expression: type something like x^2 - y^2")
    python_text, colmap = _tokenize(text)
    try:
        tree = ast.parse(python_text, mode="eval")
    except SyntaxError as exc:
        if not exc.offset:  # Python's parser gives offset 0 when the text ends too soon
            column = len(text.rstrip()) + 1
            message = "incomplete expression: complete what the end leaves open"
            raise _error(message, column) from None
        offset = exc.offset - 1
        column = colmap[min(offset, len(colmap) - 1)] if colmap else None
        raise _error("syntax error: check the operators and parentheses", column) from None
    except (MemoryError, RecursionError, ValueError):
        raise ExpressionError("expression too complex to parse: simplify it") from None
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if variables is None:
        variables = ("x", "y") if "y" in names else ("x",)
    builder = _Builder(colmap, tuple(variables), parameters)
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise ExpressionError("expression too deeply nested: simplify it") from None
    if expr.has(sp.re, sp.im, sp.conjugate):
        # sympy writes |e^u| as e^re(u) when u is not known real (log(y)); here every
        # value is real (NaN, never complex, outside a function's domain).
        expr = expr.replace(sp.re, lambda v: v).replace(sp.conjugate, lambda v: v)
        expr = expr.replace(sp.im, lambda v: sp.Integer(0))
    present = {s.name for s in expr.free_symbols}
    params = tuple(sorted(present - set(variables)))
    return ParsedExpression(text=text, expr=expr, variables=tuple(variables), parameters=params)
