"""Reverse-mode differentiation drawn out: the computation graph of an expression.

The graph is built from the expression as the user wrote it (the parser's syntax tree,
before sympy reorders, flattens or distributes anything), so ``1/(1 + exp(-(a*x + b*y +
c)))`` keeps the gates of the classic sigmoid neuron. One node per operation; the leaves
are the variables x and y, the parameters and the constants. A variable, a parameter or
a repeated subexpression is one node used by several others (``(x + y)(y + 1)`` has one
y feeding two sums); each written constant is its own leaf.

:meth:`Circuit.run` evaluates the graph at a point in float64 (``math`` scalars), then
walks it in reverse topological order: each node's adjoint ``∂f/∂node`` is handed to its
inputs, multiplied by the edge's local derivative, and summed where paths meet. A constant
(a number as written, pi, or a subexpression of them only, like ``1/2``) is not a variable:
it has no adjoint and its edges carry no derivative (None), so ``(y - x^2)^2`` at y < x^2
does not show ``d/d2 = u^2 ln u`` = NaN for the exponent 2. The
derivatives are this module's own (one table entry per operation), not sympy's ``diff``;
the tests hold them to sympy. Where a value or a derivative does not exist the result is
NaN with a note, never an exception.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gradient_explorer.errors import ExpressionError, UsageError
from gradient_explorer.surfaces.expressions import CONSTANTS, _tokenize, parse_expression
from gradient_explorer.surfaces.sampled import why_no_formula
from gradient_explorer.surfaces.symbolic import (
    max_scalar,
    min_scalar,
    sigmoid_scalar,
    sign_or_nan_scalar,
    sign_scalar,
    softplus_scalar,
    step_or_nan_scalar,
    zero_or_nan_scalar,
)

NAN = math.nan

# ---------------------------------------------------------------------------- op table


@dataclass(frozen=True)
class Op:
    """One operation: its value and its local derivatives.

    ``value(*args)`` is the forward value; ``partials(args, out)`` gives ``∂out/∂arg`` for
    each argument (``out`` is the forward value, reused where it is cheaper: exp, tanh).
    Either may raise ValueError, ZeroDivisionError or OverflowError: that value is NaN.
    """

    name: str
    value: Callable[..., float]
    partials: Callable[[tuple[float, ...], float], tuple[float, ...]]


def _extreme_partials(args: tuple[float, ...], out: float) -> tuple[float, ...]:
    # max/min: 1 for the argument that wins, 0 for the rest; no derivative at a tie.
    winners = [i for i, a in enumerate(args) if a == out]
    if len(winners) > 1:
        return tuple(NAN if i in winners else 0.0 for i in range(len(args)))
    return tuple(1.0 if i in winners else 0.0 for i in range(len(args)))


def _sech2(u: float) -> float:
    """tanh'(u) = 1/cosh(u)^2, accurate where 1 - tanh(u)^2 would round to 0."""
    t = math.exp(-2.0 * abs(u))
    return 4.0 * t / (1.0 + t) ** 2


def _pow_partials(args: tuple[float, ...], out: float) -> tuple[float, float]:
    b, e = args
    d_base = 0.0 if e == 0 else e * math.pow(b, e - 1)
    # b^e = exp(e log b): the exponent's derivative needs log b, real only for b > 0.
    d_exp = out * math.log(b) if b > 0 else NAN
    return d_base, d_exp


def _log_partials(args: tuple[float, ...], out: float) -> tuple[float, ...]:
    if len(args) == 1:
        return (1.0 / args[0],)
    u, b = args  # log(u, b) = ln u / ln b
    return 1.0 / (u * math.log(b)), -math.log(u) / (b * math.log(b) ** 2)


def _log_value(u: float, b: float | None = None) -> float:
    return math.log(u) if b is None else math.log(u) / math.log(b)


def _unary(name: str, value: Callable[[float], float], slope: Callable[[float, float], float]):
    return Op(name, value, lambda args, out: (slope(args[0], out),))


_OPS: tuple[Op, ...] = (
    Op("add", lambda a, b: a + b, lambda args, out: (1.0, 1.0)),
    Op("sub", lambda a, b: a - b, lambda args, out: (1.0, -1.0)),
    Op("mul", lambda a, b: a * b, lambda args, out: (args[1], args[0])),
    Op("div", lambda a, b: a / b, lambda args, out: (1.0 / args[1], -args[0] / args[1] ** 2)),
    Op("pow", math.pow, _pow_partials),
    _unary("neg", lambda u: -u, lambda u, out: -1.0),
    _unary("sin", math.sin, lambda u, out: math.cos(u)),
    _unary("cos", math.cos, lambda u, out: -math.sin(u)),
    _unary("tan", math.tan, lambda u, out: 1.0 + out * out),
    _unary("asin", math.asin, lambda u, out: 1.0 / math.sqrt(1.0 - u * u)),
    _unary("acos", math.acos, lambda u, out: -1.0 / math.sqrt(1.0 - u * u)),
    _unary("atan", math.atan, lambda u, out: 1.0 / (1.0 + u * u)),
    Op(
        "atan2",
        math.atan2,  # atan2(y, x): the angle of the point (x, y)
        lambda args, out: (
            args[1] / (args[0] ** 2 + args[1] ** 2),
            -args[0] / (args[0] ** 2 + args[1] ** 2),
        ),
    ),
    _unary("sinh", math.sinh, lambda u, out: math.cosh(u)),
    _unary("cosh", math.cosh, lambda u, out: math.sinh(u)),
    _unary("tanh", math.tanh, lambda u, out: _sech2(u)),
    _unary("exp", math.exp, lambda u, out: out),
    Op("log", _log_value, _log_partials),
    _unary("log10", math.log10, lambda u, out: 1.0 / (u * math.log(10.0))),
    _unary("log2", math.log2, lambda u, out: 1.0 / (u * math.log(2.0))),
    _unary("sqrt", math.sqrt, lambda u, out: 0.5 / out),
    _unary("abs", abs, lambda u, out: sign_or_nan_scalar(u)),
    _unary("sign", sign_scalar, lambda u, out: zero_or_nan_scalar(u)),
    _unary("relu", lambda u: max_scalar(u, 0.0), lambda u, out: step_or_nan_scalar(u)),
    _unary("sigmoid", sigmoid_scalar, lambda u, out: out * sigmoid_scalar(-u)),
    _unary("softplus", softplus_scalar, lambda u, out: sigmoid_scalar(u)),
    Op("max", max_scalar, _extreme_partials),
    Op("min", min_scalar, _extreme_partials),
)
OPS: dict[str, Op] = {op.name: op for op in _OPS}

# Function names the parser accepts -> op. A new function is one entry here (and in _OPS);
# a name the parser knows but this table does not is refused with a clear error.
FUNCTION_OPS: dict[str, str] = {
    **{name: name for name in OPS if name not in ("add", "sub", "mul", "div", "pow", "neg")},
    "ln": "log",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
}

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_INFIX = {"add": " + ", "sub": " - ", "mul": "*", "div": "/", "pow": "^"}
# Binding strength for printing labels with only the parentheses they need.
_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_ATOM = 5

# ---------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Node:
    """One node: a leaf (``op`` "variable", "parameter", "constant") or an operation."""

    id: int
    op: str
    label: str  # the subexpression, e.g. "x + y"
    inputs: tuple[int, ...]
    constant: bool  # depends on no variable and no parameter
    name: str = ""  # a leaf's name ("x", "a", "pi") or the function as typed ("ln")
    number: float = NAN  # a constant's value


@dataclass(frozen=True)
class Edge:
    """Input ``source`` feeds ``target`` as its argument number ``slot``."""

    id: int
    source: int
    target: int
    slot: int


@dataclass(frozen=True)
class Circuit:
    """The computation graph of one expression, without values.

    ``nodes`` are in topological order (every input before its users); the last is f.
    ``formula`` is the whole expression as printed; ``spans[i]`` are the ranges of
    ``formula`` where node ``i`` occurs, for highlighting.
    """

    text: str
    variables: tuple[str, ...]
    parameters: tuple[str, ...]  # every parameter leaf
    required: tuple[str, ...]  # those f depends on (a surface's parameters)
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    formula: str
    spans: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def output(self) -> int:
        return len(self.nodes) - 1

    def out_edges(self, node: int) -> list[Edge]:
        return [e for e in self.edges if e.source == node]

    def run(self, point: Sequence[float], params: Mapping[str, float] | None = None) -> Backprop:
        """Forward values and adjoints at ``point`` (x or (x, y)) with ``params``."""
        return _run(self, point, dict(params or {}))


@dataclass(frozen=True)
class Contribution:
    """One edge of the backward pass: ``amount = adjoint(target) * local`` goes to source."""

    edge: int
    source: int
    target: int
    local: float
    amount: float
    total: float  # the source's adjoint once this amount is added


def has_adjoint(c: Circuit, node: int) -> bool:
    """Whether node ``node`` gets an adjoint: every node but a constant one (f itself
    always has df/df = 1, even where f is a constant)."""
    return not c.nodes[node].constant or node == c.output


@dataclass(frozen=True)
class BackwardStep:
    """Node ``node`` has its final adjoint ``grad`` and hands it to its inputs (a
    constant node: ``grad`` None, nothing handed on)."""

    node: int
    grad: float | None
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Backprop:
    """A circuit evaluated at one point: values, local derivatives, adjoints, the steps."""

    circuit: Circuit
    point: tuple[float, ...]
    params: dict[str, float]
    values: tuple[float, ...]
    local: tuple[float | None, ...]  # per edge: ∂target/∂source; None from a constant
    grads: tuple[float | None, ...]  # per node: ∂f/∂node; None for a constant
    steps: tuple[BackwardStep, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def f(self) -> float:
        return self.values[-1]

    @property
    def gradient(self) -> tuple[float, ...]:
        """∂f/∂x (and ∂f/∂y): the adjoints of the variable leaves (0 if absent)."""
        return tuple(self._leaf_grad("variable", v) for v in self.circuit.variables)

    @property
    def param_gradient(self) -> dict[str, float]:
        return {p: self._leaf_grad("parameter", p) for p in self.circuit.parameters}

    def _leaf_grad(self, op: str, name: str) -> float:
        for node in self.circuit.nodes:
            if node.op == op and node.name == name:
                return self.grads[node.id]
        return 0.0

    def contributions_to(self, node: int) -> list[Contribution]:
        """What each of the node's users handed it, in the order they were added."""
        return [c for s in self.steps for c in s.contributions if c.source == node]

    def has_adjoint(self, node: int) -> bool:
        return has_adjoint(self.circuit, node)

    def adjoints_after(self, count: int) -> list[float | None]:
        """Each node's adjoint after the first ``count`` backward steps; None where no
        contribution has arrived yet, and always for a constant (``count = len(steps)``
        gives :attr:`grads`)."""
        out: list[float | None] = [None] * len(self.values)
        if count > 0:
            out[self.circuit.output] = _seed(self.f)
        for step in self.steps[:count]:
            for c in step.contributions:
                out[c.source] = c.total
        return out


def circuit(
    text: str, variables: tuple[str, ...] | None = None, parameters: tuple[str, ...] = ()
) -> Circuit:
    """The computation graph of typed text, checked by the same parser as everything else.

    ``variables`` and ``parameters`` are as for :func:`parse_expression`.
    """
    parsed = parse_expression(text, variables, parameters)
    python_text, _ = _tokenize(text)
    tree = ast.parse(python_text, mode="eval").body
    builder = _GraphBuilder(parsed.variables, set(parsed.parameters))
    root = builder.convert(tree)
    builder.emit(root)
    nodes = builder.finish()
    formula, spans = _print_all(nodes)
    # A parameter that cancels (b - b) is absent from the parsed expression but still a
    # leaf here, with adjoint 0.
    leaves = {n.name for n in nodes if n.op == "parameter"}
    return Circuit(
        text=text,
        variables=parsed.variables,
        parameters=tuple(sorted(leaves | set(parsed.parameters))),
        required=parsed.parameters,
        nodes=tuple(nodes),
        edges=tuple(builder.edges),
        formula=formula,
        spans=tuple(tuple(s) for s in spans),
    )


def circuit_for(surface) -> Circuit:
    """The circuit of a :class:`~gradient_explorer.surfaces.Surface` (built once per text);
    a UsageError in one line for a surface without a formula (an image, a model's loss)."""
    reason = why_no_formula(surface)
    if reason:
        raise UsageError(reason)
    return _cached_circuit(
        surface.definition.expression, tuple(surface.variables), tuple(surface.params)
    )


@functools.lru_cache(maxsize=32)
def _cached_circuit(text: str, variables: tuple[str, ...], declared: tuple[str, ...]):
    return circuit(text, variables, declared)


def backprop(surface, point: Sequence[float], params: Mapping[str, float] | None = None):
    """Backprop through ``surface`` at ``point`` with its parameter values (or ``params``)."""
    values = dict(surface.param_values)
    values.update(params or {})
    return circuit_for(surface).run(point, values)


# ---------------------------------------------------------------------------- building


@dataclass
class _Tree:
    """The syntax tree reduced to ops, with a structural key for sharing."""

    op: str
    children: list[_Tree]
    key: tuple
    name: str = ""
    number: float = NAN


class _GraphBuilder:
    def __init__(self, variables: tuple[str, ...], parameters: set[str]):
        self.variables = variables
        self.parameters = parameters
        self.specs: list[tuple[str, str, float, tuple[int, ...]]] = []  # op, name, number, ins
        self.edges: list[Edge] = []
        self.shared: dict[tuple, int] = {}

    def convert(self, node: ast.AST) -> _Tree:
        if isinstance(node, ast.Constant):
            value = float(node.value)
            name = _number_text(value)
            return _Tree("constant", [], ("constant", value), name=name, number=value)
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.variables:
                return _Tree("variable", [], ("variable", name), name=name)
            if name in CONSTANTS:
                value = float(CONSTANTS[name])
                return _Tree("constant", [], ("constant", name), name=name, number=value)
            return _Tree("parameter", [], ("parameter", name), name=name)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            inner = self.convert(node.operand)
            if isinstance(node.op, ast.UAdd):
                return inner
            if inner.op == "constant" and inner.name[0].isdigit():  # -3 is a number
                value = -inner.number
                return _Tree("constant", [], ("constant", value), _number_text(value), value)
            return _Tree("neg", [inner], ("neg", inner.key))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            kids = [self.convert(node.left), self.convert(node.right)]
            return _Tree(op, kids, (op, kids[0].key, kids[1].key))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            typed = node.func.id
            if typed not in FUNCTION_OPS:
                raise ExpressionError(
                    f"backprop does not know the function '{typed}' yet: "
                    "its derivative is missing from backprop's op table"
                )
            op = FUNCTION_OPS[typed]
            kids = [self.convert(arg) for arg in node.args]
            return _Tree(op, kids, (op, *(k.key for k in kids)), name=typed)
        # The parser refused anything else already; this guards a parser that grew.
        raise ExpressionError(f"backprop cannot draw '{ast.dump(node)[:40]}': simplify it")

    def emit(self, tree: _Tree) -> int:
        """Post-order: inputs get smaller ids. Constants are never shared."""
        if tree.op != "constant" and tree.key in self.shared:
            return self.shared[tree.key]
        ins = tuple(self.emit(child) for child in tree.children)
        node_id = len(self.specs)
        self.specs.append((tree.op, tree.name, tree.number, ins))
        for slot, src in enumerate(ins):
            self.edges.append(Edge(len(self.edges), src, node_id, slot))
        if tree.op != "constant":
            self.shared[tree.key] = node_id
        return node_id

    def finish(self) -> list[Node]:
        nodes: list[Node] = []
        for i, (op, name, number, ins) in enumerate(self.specs):
            if op in ("variable", "parameter"):
                constant = False
            else:
                constant = all(nodes[j].constant for j in ins)
            label = _print(i, self.specs, 0, [], 0)
            nodes.append(Node(i, op, label, ins, constant, name, number))
        return nodes


def _number_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ---------------------------------------------------------------------------- printing


def _precedence(spec) -> int:
    op, name, _, _ = spec
    if op == "constant" and name.startswith("-"):
        return _PRECEDENCE["neg"]
    return _PRECEDENCE.get(op, _ATOM)


def _print(i: int, specs, need: int, spans: list, offset: int) -> str:
    """Print node ``i`` at ``offset`` of the whole text; record (node, start, end) spans.

    ``need``: the least binding strength that needs no parentheses here. The text parses
    back to the same tree (Python's rules: unary minus binds tighter than * and looser
    than ^, which groups to the right).
    """
    spec = specs[i]
    op, name, _, ins = spec
    wrap = _precedence(spec) < need
    start = offset + (1 if wrap else 0)
    pieces: list[str] = []
    pos = start

    def emit(text: str) -> None:
        nonlocal pos
        pieces.append(text)
        pos += len(text)

    def child(j: int, child_need: int, right: bool = False) -> None:
        if right and _precedence(specs[j]) == _PRECEDENCE["neg"]:
            child_need = _ATOM  # x*(-y), x - (-1), x^(-1): never two operators in a row
        emit(_print(j, specs, child_need, spans, pos))

    if op in ("variable", "parameter", "constant"):
        emit(name)
    elif op == "neg":
        emit("-")
        child(ins[0], _PRECEDENCE["pow"])
    elif op in _INFIX:
        p = _PRECEDENCE[op]
        if op == "pow":
            left_need, right_need = _ATOM, p
        else:  # + - * / group to the left: x + (y + z) keeps the parentheses it was typed with
            left_need, right_need = p, p + 1
        child(ins[0], left_need)
        emit(_INFIX[op])
        child(ins[1], right_need, right=True)
    else:
        emit(f"{name or op}(")
        for k, j in enumerate(ins):
            if k:
                emit(", ")
            child(j, 0)
        emit(")")
    text = "".join(pieces)
    spans.append((i, start, start + len(text)))
    return f"({text})" if wrap else text


def _print_all(nodes: list[Node]) -> tuple[str, list[list[tuple[int, int]]]]:
    specs = [(n.op, n.name, n.number, n.inputs) for n in nodes]
    raw: list[tuple[int, int, int]] = []
    formula = _print(len(nodes) - 1, specs, 0, raw, 0)
    spans: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for i, start, end in raw:
        spans[i].append((start, end))
    return formula, spans


# ---------------------------------------------------------------------------- running


def _seed(f: float) -> float:
    return 1.0 if math.isfinite(f) else NAN


def _safe(fn: Callable, *args) -> float:
    try:
        value = float(fn(*args))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return NAN
    return value


def _run(c: Circuit, point: Sequence[float], params: dict[str, float]) -> Backprop:
    point = tuple(float(v) for v in point)
    if len(point) != len(c.variables):
        names = ", ".join(c.variables)
        raise UsageError(f"the point needs {len(c.variables)} coordinates ({names})")
    missing = [p for p in c.required if p not in params]
    params = {p: 1.0 for p in c.parameters} | params  # a cancelled one: the default, 1
    if missing:
        raise UsageError(f"no value for parameter {', '.join(missing)}: set it with a=1")
    env = dict(zip(c.variables, point, strict=True))
    values: list[float] = []
    for node in c.nodes:
        if node.op == "variable":
            values.append(env[node.name])
        elif node.op == "parameter":
            values.append(float(params[node.name]))
        elif node.op == "constant":
            values.append(node.number)
        else:
            values.append(_safe(OPS[node.op].value, *(values[j] for j in node.inputs)))

    local: list[float | None] = [None] * len(c.edges)
    by_target: dict[int, list[Edge]] = {}
    for e in c.edges:
        # A constant's edges carry no derivative: nothing varies along them.
        if has_adjoint(c, e.source):
            by_target.setdefault(e.target, []).append(e)
    for target, edges in by_target.items():
        node = c.nodes[target]
        args = tuple(values[j] for j in node.inputs)
        try:
            parts = OPS[node.op].partials(args, values[target])
        except (ValueError, ZeroDivisionError, OverflowError):
            parts = (NAN,) * len(args)
        for e in edges:
            local[e.id] = float(parts[e.slot])

    grads: list[float | None] = [0.0 if has_adjoint(c, n.id) else None for n in c.nodes]
    # df/df = 1; where f has no value, no derivative exists either: NaN flows back.
    grads[c.output] = _seed(values[c.output])
    steps: list[BackwardStep] = []
    for node in reversed(c.nodes):
        edges = by_target.get(node.id, [])
        contributions = []
        for e in edges:
            amount = grads[node.id] * local[e.id]
            grads[e.source] += amount
            contributions.append(
                Contribution(e.id, e.source, e.target, local[e.id], amount, grads[e.source])
            )
        steps.append(BackwardStep(node.id, grads[node.id], tuple(contributions)))
    notes = _notes(c, values, local, grads)
    return Backprop(
        c, point, dict(params), tuple(values), tuple(local), tuple(grads), tuple(steps), notes
    )


def _notes(
    c: Circuit, values: list[float], local: list[float | None], grads: list[float | None]
) -> tuple[str, ...]:
    """Say where a value or a derivative first stops existing (NaN, never an exception)."""
    for node in c.nodes:
        if not math.isfinite(values[node.id]) and all(
            math.isfinite(values[j]) for j in node.inputs
        ):
            return (
                f"{node.label} is not defined at this point (NaN): "
                "f and its gradient do not exist here",
            )
    for e in reversed(c.edges):
        if local[e.id] is not None and not math.isfinite(local[e.id]):
            user, arg = c.nodes[e.target].label, c.nodes[e.source].label
            # say which adjoints it spoils: x and y's (the gradient), or only parameters'
            spoiled = [
                n.name
                for n in c.nodes
                if n.op in ("variable", "parameter") and not math.isfinite(grads[n.id])
            ]
            where = (
                "the gradient is NaN"
                if set(spoiled) & {"x", "y"}
                else f"df/d{', df/d'.join(spoiled)} {'is' if len(spoiled) == 1 else 'are'} NaN"
                if spoiled
                else "its path adds nothing to the leaves"
            )
            target = c.nodes[e.target]
            base = values[target.inputs[0]]
            if target.op == "pow" and e.slot == 1 and base <= 0:
                # d(u^e)/de = u^e ln u: a real logarithm needs u > 0 (u^e itself exists
                # for u < 0 only at whole e, and nowhere near them)
                label = c.nodes[target.inputs[0]].label
                why = (
                    f"ln({label}) is not a real number"
                    if c.nodes[target.inputs[0]].constant
                    else f"ln needs {label} > 0, here it is {base:.6g}"
                )
                return (
                    f"d({user})/d({arg}) = {user}*ln({label}) does not exist at this point: "
                    f"{why}: {where}",
                )
            return (
                f"d({user})/d({arg}) does not exist at this point (a corner, kink or "
                f"vertical tangent): {where}",
            )
    return ()
