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

# name -> (sympy constructor, number of arguments)
FUNCTIONS: dict[str, tuple[object, int]] = {
    "sin": (sp.sin, 1),
    "cos": (sp.cos, 1),
    "tan": (sp.tan, 1),
    "asin": (sp.asin, 1),
    "acos": (sp.acos, 1),
    "atan": (sp.atan, 1),
    "atan2": (sp.atan2, 2),
    "sinh": (sp.sinh, 1),
    "cosh": (sp.cosh, 1),
    "tanh": (sp.tanh, 1),
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "ln": (sp.log, 1),
    "sqrt": (sp.sqrt, 1),
    "abs": (sp.Abs, 1),
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|[-+*/^(),])
    """,
    re.VERBOSE,
)


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


def _tokenize(text: str) -> tuple[str, list[int]]:
    """Rewrite user text into Python syntax; return it with a map to user columns.

    ``colmap[i]`` is the 1-based column in the user's text of character ``i`` of the
    rewritten text, so parser errors point at what the user typed.
    """
    out: list[str] = []
    colmap: list[int] = []
    prev_kind = None  # "value" after a number, name or ")", else "op"/None
    prev_name = None
    pos = 0
    depth = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if not ch.isascii():
                raise _error(
                    f"non-ASCII character {ch!r}: type plain ASCII letters and symbols",
                    pos + 1,
                )
            raise _error(f"unexpected character {ch!r}: use numbers, x, y, + - * / ^ ( )", pos + 1)
        kind = m.lastgroup
        tok = m.group()
        col = pos + 1
        pos = m.end()
        if kind == "space":
            continue
        if kind == "op" and tok == "^":
            tok = "**"
        if kind == "name":
            tok = _split_name(tok, col)
        # Implicit multiplication, as on a calculator: 2x, 2(x+1), (x+1)(x-1), x y, 3pi.
        starts_value = kind in ("number", "name") or tok == "("
        if prev_kind == "value" and starts_value:
            # foo(x) stays a call, so an unknown function is reported as one.
            value_names = (*VARIABLES, *PARAMETER_LETTERS, *CONSTANTS)
            is_call = (
                tok == "(" and prev_name is not None and prev_name.split("*")[-1] not in value_names
            )
            if not is_call:
                out.append("*")
                colmap.append(col)
        if tok == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise _error(f"nesting deeper than {MAX_DEPTH} levels: simplify it", col)
        elif tok == ")":
            depth -= 1
            if depth < 0:
                raise _error("unmatched ')': remove it or add a '(' before it", col)
        out.append(tok)
        colmap.extend([col] * len(tok))
        if kind == "name":
            prev_kind, prev_name = "value", tok
        elif kind == "number" or tok == ")":
            prev_kind, prev_name = "value", None
        else:
            prev_kind, prev_name = "op", None
    if depth > 0:
        raise _error("missing ')': close every '('", len(text) + 1)
    return "".join(out), colmap


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
        result = method(node, depth + 1)
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
        constructor, arity = FUNCTIONS[func.id]
        if len(node.args) != arity:
            plural = "s" if arity > 1 else ""
            raise _error(
                f"{func.id}() takes {arity} argument{plural}, got {len(node.args)}: fix the call",
                self.column(node),
            )
        args = [self.build(arg, depth) for arg in node.args]
        if func.id == "exp":
            self._check_exp(args[0], node)
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
        offset = (exc.offset or 1) - 1
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
    present = {s.name for s in expr.free_symbols}
    params = tuple(sorted(present - set(variables)))
    return ParsedExpression(text=text, expr=expr, variables=tuple(variables), parameters=params)
