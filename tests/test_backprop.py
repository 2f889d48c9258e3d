"""Reverse-mode backprop over the expression graph: textbook cases, sympy on the whole
catalogue and on random expressions, the step-through, the JSON and the CLI errors."""

from __future__ import annotations

import json
import math
import random

import numpy
import pytest
import sympy as sp

from gradient_explorer.cli import main
from gradient_explorer.errors import ExpressionError
from gradient_explorer.surfaces.backprop import FUNCTION_OPS, OPS, backprop, circuit
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.expressions import FUNCTIONS, SYMBOLS, parse_expression
from gradient_explorer.surfaces.surface import Surface

REL = 1e-12
SIGMOID_NEURON = "1/(1 + exp(-(a*x + b*y + c)))"


def _exact(expr: sp.Expr, values: dict[str, float]) -> float:
    """expr at the point, from exact binary values of the floats, to 40 digits."""
    subs = {SYMBOLS.get(k) or sp.Symbol(k, real=True): sp.Rational(v) for k, v in values.items()}
    value = complex(sp.N(expr.subs(subs), 40))
    return value.real if value.imag == 0 else math.nan


def _sympy_gradient(text, variables, parameters, values):
    """∂f/∂x, ∂f/∂y and ∂f/∂param from sympy's diff, independent of this module."""
    parsed = parse_expression(text, variables, parameters)
    names = (*parsed.variables, *values)  # a parameter that cancels out: sympy says 0
    return {
        n: _exact(sp.diff(parsed.expr, SYMBOLS.get(n) or sp.Symbol(n, real=True)), values)
        for n in names
    }, _exact(parsed.expr, values)


def _assert_close(got: float, want: float, what: str, scale: float = 0.0) -> None:
    assert math.isfinite(got), f"{what}: got {got}, sympy {want}"
    tol = REL * max(abs(want), scale)
    assert abs(got - want) <= tol or got == want, f"{what}: {got} vs sympy {want}"


def _path_mass(result) -> list[float]:
    """Σ over paths of |product of local derivatives|: the size of the terms that a leaf's
    adjoint sums. Where they cancel (x/x), rounding is relative to these, not to the sum."""
    mass = [0.0] * len(result.values)
    mass[-1] = 1.0
    for step in result.steps:
        for part in step.contributions:
            mass[part.source] += mass[part.target] * abs(part.local)
    return mass


def _every_node_real(result, values) -> bool:
    """False where some subexpression is not a finite real number (log of a negative): the
    whole can still be real (|sqrt(-1)|), but float arithmetic has NaN there by design."""
    c = result.circuit
    for node in c.nodes:
        if node.op not in ("variable", "parameter", "constant"):
            sub = parse_expression(node.label, c.variables, c.parameters).expr
            if not math.isfinite(_exact(sub, values)):
                return False
    return True


def _check_against_sympy(
    text, variables, parameters, point, params, cancellation: bool = False
) -> bool:
    """Compare every leaf adjoint with sympy; False if sympy has no finite value here.

    Relative to the exact value; with ``cancellation``, relative to the larger of it and
    the path mass (random expressions contain x/x and a - a)."""
    result = circuit(text, variables, parameters).run(point, params)
    values = dict(zip(variables, point, strict=True)) | result.params
    if cancellation and not _every_node_real(result, values):
        return False
    ref, f_ref = _sympy_gradient(text, variables, parameters, values)
    if not all(math.isfinite(v) for v in (f_ref, *ref.values())):
        return False
    mass = _path_mass(result)
    leaf = {n.name: mass[n.id] if cancellation else 0.0 for n in result.circuit.nodes}
    _assert_close(result.f, f_ref, f"{text} f at {values}", 1.0 if cancellation else 0.0)
    for name, g in zip(variables, result.gradient, strict=True):
        _assert_close(g, ref[name], f"{text} df/d{name} at {values}", leaf.get(name, 0.0))
    for name, g in result.param_gradient.items():
        _assert_close(g, ref[name], f"{text} df/d{name} at {values}", leaf.get(name, 0.0))
    return True


# ---------------------------------------------------------------------------- textbook


def test_two_paths_sum_at_the_shared_leaf():
    result = circuit("(x + y)(y + 1)").run((2.0, 1.0))
    c = result.circuit
    assert result.f == 6.0
    assert result.gradient == (2.0, 5.0)
    (y,) = [n for n in c.nodes if n.op == "variable" and n.name == "y"]
    assert len(c.out_edges(y.id)) == 2  # one y, used by both sums
    parts = sorted(result.contributions_to(y.id), key=lambda p: p.edge)
    assert [c.nodes[p.target].label for p in parts] == ["x + y", "y + 1"]
    assert [p.amount for p in parts] == [2.0, 3.0]
    assert result.grads[y.id] == sum(p.amount for p in parts)
    labels = {n.label for n in c.nodes}
    assert {"x + y", "y + 1", "(x + y)*(y + 1)"} <= labels


def test_cs231n_sigmoid_neuron():
    """cs231n.github.io/optimization-2: w = [2, -3, -3], x = [-1, -2] gives f = 0.73,
    dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59]."""
    params = {"a": 2.0, "b": -3.0, "c": -3.0}
    result = circuit(SIGMOID_NEURON).run((-1.0, -2.0), params)
    assert round(result.f, 2) == 0.73
    pg = result.param_gradient
    assert [round(pg[k], 2) for k in "abc"] == [-0.20, -0.39, 0.20]
    assert [round(g, 2) for g in result.gradient] == [0.39, -0.59]
    assert _check_against_sympy(SIGMOID_NEURON, ("x", "y"), ("a", "b", "c"), (-1.0, -2.0), params)
    # The gates of the worked example, as the user wrote them (sympy would distribute -).
    ops = [
        n.op
        for n in result.circuit.nodes
        if not n.constant and n.op not in ("variable", "parameter")
    ]
    assert ops == ["mul", "mul", "add", "add", "neg", "exp", "add", "div"]


def test_node_used_twice_by_one_op_gets_both_edges():
    result = circuit("x*x + y").run((3.0, 0.0))
    assert result.gradient == (6.0, 1.0)
    x = result.circuit.nodes[0]
    assert [p.amount for p in result.contributions_to(x.id)] == [3.0, 3.0]


def test_repeated_subexpression_is_one_node():
    c = circuit("x*exp(-x^2) + exp(-x^2)")
    shared = [n for n in c.nodes if n.label == "exp(-x^2)"]
    assert len(shared) == 1 and len(c.out_edges(shared[0].id)) == 2
    assert _check_against_sympy(c.text, ("x",), (), (0.7,), {})


def test_labels_read_like_the_formula_and_spans_point_into_it():
    c = circuit("2x sin(y) - (x - y)^2/-y")
    assert c.formula == "2*x*sin(y) - (x - y)^2/(-y)"
    for node, spans in zip(c.nodes, c.spans, strict=True):
        assert spans, node
        for start, end in spans:
            assert c.formula[start:end] == node.label
    # Every label parses back to an expression equal to the node's (nothing reordered).
    whole = parse_expression(c.formula).expr
    assert sp.simplify(whole - parse_expression("2x sin(y) - (x - y)^2/-y").expr) == 0


def test_step_through_replays_to_the_adjoints():
    result = circuit(SIGMOID_NEURON).run((-1.0, -2.0), {"a": 2.0, "b": -3.0, "c": -3.0})
    c = result.circuit
    assert len(result.steps) == len(c.nodes)
    assert result.steps[0].node == c.output and result.steps[0].grad == 1.0
    seen = set()
    for k, step in enumerate(result.steps):
        # A node hands on its adjoint only once every user has handed it theirs.
        assert all(e.target in seen for e in c.out_edges(step.node))
        seen.add(step.node)
        for part in step.contributions:
            assert part.amount == step.grad * part.local == step.grad * result.local[part.edge]
        partial = result.adjoints_after(k + 1)
        assert partial[step.node] == step.grad
    assert result.adjoints_after(len(result.steps)) == list(result.grads)
    assert result.adjoints_after(0) == [None] * len(c.nodes)


def test_local_derivatives_match_finite_differences():
    """Each edge's local derivative against a central difference of its op."""
    result = circuit("atan2(y, x) + log(x*y + 3) + tanh(x)/sqrt(y + 2)").run((0.4, 0.9))
    c = result.circuit
    for e in c.edges:
        if c.nodes[e.source].constant:
            assert result.local[e.id] is None  # a constant's edge carries no derivative
            continue
        node = c.nodes[e.target]
        args = [result.values[j] for j in node.inputs]
        h = 1e-6 * max(1.0, abs(args[e.slot]))
        up, down = list(args), list(args)
        up[e.slot] += h
        down[e.slot] -= h
        fd = (OPS[node.op].value(*up) - OPS[node.op].value(*down)) / (2 * h)
        assert result.local[e.id] == pytest.approx(fd, rel=1e-6, abs=1e-9), node.label


# ---------------------------------------------------------------------------- sympy


def _catalogue_cases() -> list:
    return [pytest.param(d, id=name) for name, d in CATALOGUE.items()]


@pytest.mark.parametrize("definition", _catalogue_cases())
def test_catalogue_gradient_matches_sympy(definition):
    parsed = Surface._parse(definition)
    declared = tuple(p.name for p in definition.parameters)
    ranges = {p.name: (p.lo, p.hi, p.default) for p in definition.parameters}
    for pname in parsed.parameters:
        ranges.setdefault(pname, (-10.0, 10.0, 1.0))
    domain = definition.domain or ((-3.0, 3.0),) * len(parsed.variables)
    gen = random.Random(definition.name)
    checked = 0
    for k in range(6):
        point = tuple(gen.uniform(lo, hi) for lo, hi in domain[: len(parsed.variables)])
        params = {n: (r[2] if k % 2 == 0 else gen.uniform(r[0], r[1])) for n, r in ranges.items()}
        checked += _check_against_sympy(
            definition.expression, parsed.variables, declared, point, params
        )
    assert checked >= 4, f"{definition.name}: only {checked} points had a finite sympy gradient"


_UNARY = (
    "sin",
    "cos",
    "tan",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "exp",
    "log",
    "sqrt",
    "abs",
    "asin",
    "acos",
)


def _random_expression(gen: random.Random, depth: int) -> str:
    leaves = ("x", "y", "a", "b", "2", "0.5", "3", "1.5")  # no pi: sin(pi) is 1e-16 in floats
    if depth == 0 or gen.random() < 0.2:
        return gen.choice(leaves)
    kind = gen.random()
    if kind < 0.45:
        op = gen.choice("+-*/")
        left, right = _random_expression(gen, depth - 1), _random_expression(gen, depth - 1)
        return f"({left}) {op} ({right})"
    if kind < 0.55:
        return f"({_random_expression(gen, depth - 1)})^{gen.choice(['2', '3', '-1', '0.5'])}"
    if kind < 0.6:
        return f"-({_random_expression(gen, depth - 1)})"
    if kind < 0.65:
        return f"atan2({_random_expression(gen, depth - 1)}, {_random_expression(gen, depth - 1)})"
    func = gen.choice(_UNARY)
    inner = _random_expression(gen, depth - 1)
    if func in ("asin", "acos"):
        inner = f"0.9*tanh({inner})"  # inside (-1, 1), away from the ends where tanh rounds
    return f"{func}({inner})"


def test_random_expressions_match_sympy():
    gen = random.Random(20261128)
    checked = 0
    for _ in range(60):
        text = _random_expression(gen, 4)
        if "x" not in text or "y" not in text:
            text = f"({text}) + x*y"
        try:
            parsed = parse_expression(text, ("x", "y"))
        except ExpressionError:  # a constant sub-expression too large: the parser says no
            continue
        # The printed formula (the labels' source) parses back to the same graph.
        graph = circuit(text, ("x", "y"))
        again = circuit(graph.formula, ("x", "y"))
        assert [(n.op, n.label, n.inputs) for n in again.nodes] == [
            (n.op, n.label, n.inputs) for n in graph.nodes
        ], text
        point = (gen.uniform(0.1, 2.0), gen.uniform(-2.0, 2.0))
        params = {p: gen.uniform(-2.0, 2.0) for p in parsed.parameters}
        checked += _check_against_sympy(
            text, ("x", "y"), parsed.parameters, point, params, cancellation=True
        )
    assert checked >= 40


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_parser_function_has_an_op_and_matches_sympy(name):
    """A function the parser accepts and backprop does not know would be refused: this
    test names it. Each is checked against sympy away from its kinks."""
    assert name in FUNCTION_OPS, f"add '{name}' to backprop's op table"
    checked = 0
    for args in ((0.3,), (0.3, 0.8), (0.8, 0.3, 0.5)):
        inner = ", ".join(f"{v}*x + y" for v in args)
        try:
            text = f"{name}({inner})"
            parse_expression(text, ("x", "y"))
        except ExpressionError:
            continue
        for point in ((0.7, 0.2), (1.3, 0.4)):
            assert _check_against_sympy(text, ("x", "y"), (), point, {}), text
            checked += 1
    assert checked, f"{name}: no call with 1, 2 or 3 arguments was accepted"


# ---------------------------------------------------------------------------- NaN, notes


@pytest.mark.parametrize(
    ("text", "point", "where"),
    [
        ("abs(x) + y", (0.0, 1.0), "abs(x)"),
        ("sqrt(x) + y", (0.0, 1.0), "sqrt(x)"),
        ("atan2(y, x)", (0.0, 0.0), "atan2(y, x)"),
    ],
)
def test_no_derivative_is_nan_with_a_note(text, point, where):
    result = circuit(text).run(point)
    assert math.isfinite(result.f)
    assert math.isnan(result.gradient[0])
    assert result.notes and where in result.notes[0]


def test_undefined_value_is_nan_everywhere_with_a_note():
    result = circuit("log(x) + y").run((-1.0, 2.0))
    assert math.isnan(result.f)
    assert all(math.isnan(g) for g in result.gradient)
    assert "log(x) is not defined" in result.notes[0]
    for text, x in (("1/x", 0.0), ("x^0.5", -1.0), ("exp(x)", 1e6), ("(x - 1)^(-2)", 1.0)):
        r = circuit(text).run((x,))
        assert math.isnan(r.f) and math.isnan(r.gradient[0]) and r.notes, text


def test_constant_exponent_of_negative_base_gives_no_note():
    result = circuit("x^2 + y^3").run((-1.5, -2.0))
    assert result.gradient == (-3.0, 12.0) and result.notes == ()


BANANA_VALLEY = (0.2178, -0.0149)  # y < x^2: the base y - x^2 of (y - x^2)^2 is negative


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("(a - x)^2 + b*(y - x^2)^2", BANANA_VALLEY),
        ("2^x + y", (1.3, -0.4)),
        ("pi^x*y", (-0.7, 2.0)),
        ("x^3 + y^5", (-2.0, -1.5)),
        ("x^0.5 + y", (2.0, 1.0)),
        ("x^(1/2) + y^(-1)", (3.0, -2.0)),
        ("(x - y)^(2*pi/pi) + x^0", (-1.0, 2.0)),
        ("exp(-(x^2 + y^2)/2)", (-0.3, 0.8)),
    ],
)
def test_constants_have_no_adjoint_and_no_nan(text, point):
    """A number in the formula is no variable: d(u^2)/d(2) = u^2 ln u (NaN for u < 0)
    must not appear as its adjoint or on its edge; the leaves still match sympy."""
    params = {"a": 1.0, "b": 100.0} if "b*" in text else {}
    result = circuit(text, ("x", "y"), tuple(params)).run(point, params)
    c = result.circuit
    for node in c.nodes:
        if node.constant:
            assert result.grads[node.id] is None, node.label
            assert result.adjoints_after(len(result.steps))[node.id] is None
        else:
            assert math.isfinite(result.grads[node.id]), node.label
    for e in c.edges:
        if c.nodes[e.source].constant:
            assert result.local[e.id] is None
        else:
            assert math.isfinite(result.local[e.id])
    assert result.notes == ()
    assert _check_against_sympy(text, ("x", "y"), tuple(params), point, params)


def test_constant_subexpression_has_no_adjoint_but_f_always_has_one():
    result = circuit("x^(1/2) + 0*y").run((4.0, 1.0))
    half = next(n for n in result.circuit.nodes if n.label == "1/2")
    assert half.op == "div" and result.grads[half.id] is None
    only = circuit("2*3", ("x", "y")).run((1.0, 1.0))  # f itself: df/df = 1, its inputs nothing
    assert only.grads[only.circuit.output] == 1.0 and only.gradient == (0.0, 0.0)


@pytest.mark.parametrize(
    ("text", "point", "params", "said"),
    [
        ("x^n + y", (-1.0, 0.5), {"n": 2.0}, "ln needs x > 0, here it is -1: df/dn is NaN"),
        ("x^y", (-2.0, 2.0), {}, "ln needs x > 0, here it is -2: the gradient is NaN"),
        ("(-2)^x + y", (2.0, 1.0), {}, "ln(-2) is not a real number"),
        ("b^x + y", (3.0, 1.0), {"b": -1.5}, "ln needs b > 0, here it is -1.5"),
    ],
)
def test_a_power_whose_exponent_varies_explains_a_negative_base(text, point, params, said):
    """d(u^e)/de = u^e ln u: real only for u > 0. A varying exponent's NaN is explained,
    not shown bare as a 'corner or kink'; the other adjoints still match sympy."""
    result = circuit(text, ("x", "y"), tuple(params)).run(point, params)
    assert math.isfinite(result.f)
    assert said in result.notes[0] and "corner" not in result.notes[0]
    if "n" in params:  # x's adjoint is fine: n x^(n-1)
        assert result.gradient == (-2.0, 1.0)


@pytest.mark.parametrize("kind", ["image", "heights", ""])
def test_a_sampled_surface_has_no_circuit(kind):
    """Its label ('image camera.png (sobel)') is no formula: never parsed, one line."""
    from gradient_explorer.errors import UsageError
    from gradient_explorer.surfaces.sampled import SampledSurface

    grid = numpy.add.outer(numpy.arange(4.0), numpy.arange(5.0))
    surface = SampledSurface.from_samples(grid, name="camera.png", kind=kind)
    with pytest.raises(UsageError, match="has no formula, so no computation graph") as exc:
        backprop(surface, (1.0, 1.0))
    assert "\n" not in str(exc.value) and "unexpected character" not in str(exc.value)


def test_a_model_loss_has_no_circuit():
    from gradient_explorer.errors import UsageError
    from gradient_explorer.surfaces.model_surface import from_model

    with pytest.raises(UsageError, match=r"a model's loss over data .*: it has no formula"):
        backprop(from_model("line"), (0.0, 0.0))


def test_unknown_function_is_refused(monkeypatch):
    import gradient_explorer.surfaces.backprop as bp

    monkeypatch.delitem(bp.FUNCTION_OPS, "tanh")
    with pytest.raises(ExpressionError, match="does not know the function 'tanh'"):
        bp.circuit("tanh(x) + y")


def test_surface_api_uses_its_parameter_values():
    surface = Surface.named("banana").with_params(a=1.5, b=20.0)
    result = backprop(surface, (0.5, 0.2))
    assert result.gradient == pytest.approx(tuple(surface.gradient((0.5, 0.2))), rel=1e-12)
    assert set(result.param_gradient) == {"a", "b"}
    assert result.param_gradient["b"] == pytest.approx((0.2 - 0.25) ** 2, rel=1e-12)


@pytest.mark.parametrize("text", ["tanh(x) + y", "sigmoid(x) + y"])
def test_saturated_slopes_keep_their_digits(text):
    """tanh'(20) is 1.7e-17: 1 - tanh(20)^2 would round it to 0."""
    if "sigmoid" in text and "sigmoid" not in FUNCTIONS:
        pytest.skip("the parser has no sigmoid yet")
    for x in (-20.0, 20.0, 40.0):
        assert _check_against_sympy(text, ("x", "y"), (), (x, 0.0), {})


# ---------------------------------------------------------------------------- CLI


def _json(capsys, *args):
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_json_schema(capsys):
    out = _json(capsys, "backprop", "--expr", "(x + y)(y + 1)", "--at", "2,1", "--json")
    assert out["gradient"] == [2.0, 5.0] and out["param_gradient"] == {} and out["f"] == 6.0
    for node in out["nodes"]:
        assert set(node) == {"id", "op", "label", "value", "grad", "inputs", "constant"}
        assert all(i < node["id"] for i in node["inputs"])
    by_label = {n["label"]: n for n in out["nodes"]}
    assert by_label["x + y"]["value"] == 3.0 and by_label["y"]["grad"] == 5.0
    assert [n["id"] for n in out["nodes"]] == list(range(len(out["nodes"])))


def test_cli_json_parameters_and_curve(capsys):
    out = _json(
        capsys,
        "backprop",
        "--expr",
        SIGMOID_NEURON,
        "--param",
        "a=2",
        "--param",
        "b=-3",
        "--param",
        "c=-3",
        "--at",
        "-1,-2",
        "--json",
    )
    assert set(out["param_gradient"]) == {"a", "b", "c"}
    assert round(out["param_gradient"]["b"], 2) == -0.39
    curve = _json(capsys, "backprop", "--surface", "abs", "--at", "0", "--json")
    assert curve["gradient"] == [None] and "note" in curve


def test_cli_constants_have_no_adjoint(capsys):
    """Row 10 of the banana, the exponent 2 of (y - x^2)^2, read 'NaN' at y < x^2."""
    at = ",".join(map(str, BANANA_VALLEY))
    assert main(["backprop", "--surface", "banana", f"--at={at}"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "note" not in text
    rows = [line.split() for line in text.splitlines() if line[:1].isdigit()]
    constants = [r for r in rows if r[1] == "constant"]
    assert len(constants) == 3 and all(r[4] == "-" for r in constants)
    out = _json(capsys, "backprop", "--surface", "banana", f"--at={at}", "--json")
    nodes = out["nodes"]
    for node in nodes:
        assert node["constant"] == (node["op"] == "constant")
        assert (node["grad"] is None) == node["constant"]
    for edge in out["edges"]:
        assert (edge["local"] is None) == nodes[edge["from"]]["constant"]
    assert "note" not in out and None not in out["gradient"]


def test_cli_table_shows_the_sum_over_paths(capsys):
    assert main(["backprop", "--expr", "(x + y)(y + 1)", "--at", "2,1"]) == 0
    out = capsys.readouterr().out
    assert "5 = 2 + 3" in out
    assert "x + y" in out and "(df/dx, df/dy) = (2, 5)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expr", "x + y", "--at", "1"], "--at needs 2"),
        (["--expr", "x +", "--at", "1,1"], "error"),
        (["--surface", "nope", "--at", "1,1"], "nope"),
        (["--expr", "x + y", "--at", "1,zz"], "--at must be numbers"),
        (["--expr", "a*x + y", "--param", "q=1", "--at", "1,1"], "unknown parameter 'q'"),
        (["--expr", "x + y"], "--at"),
        (["--image", "camera", "--at", "1,1"], "camera is an image (sampled): it has no formula"),
        (["--heights", "jacksboro", "--at", "1,1"], "an elevation map (sampled): it has no form"),
        (["--model", "line", "--at", "1,1"], "a model's loss (sampled): it has no formula"),
        (["--image", "camera", "--expr", "x", "--at", "1,1"], "no computation graph"),
        (["--at", "1,1"], "backprop needs --surface NAME or --expr TEXT"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(capsys, args, message):
    code = main(["backprop", *args]) if "--at" in args else None
    if code is None:
        with pytest.raises(SystemExit) as exc:
            main(["backprop", *args])
        code = exc.value.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "text",
    ["max(1, sqrt(x)) + y", "max(sqrt(x), 1) + y", "min(1, sqrt(x)) + y", "sign(sqrt(x)) + y"],
)
def test_a_value_that_does_not_exist_is_nan_whatever_the_argument_order(text):
    # max/min/sign of NaN is NaN, as in the surface's own numpy (Python's max(1, nan) is 1)
    surface = Surface.from_expr(text)
    result = backprop(surface, (-1.0, 0.5))
    assert math.isnan(float(surface.f(numpy.array([-1.0, 0.5]))))
    assert math.isnan(result.f) and all(math.isnan(g) for g in result.gradient)
    assert "sqrt(x) is not defined" in result.notes[0]


def test_a_parameter_without_a_derivative_does_not_spoil_the_gradient_in_the_note():
    result = backprop(Surface.from_expr("x^n + y"), (-1.0, 0.5))
    assert result.gradient == (1.0, 1.0) and math.isnan(result.param_gradient["n"])
    assert result.notes[0].endswith("df/dn is NaN")
