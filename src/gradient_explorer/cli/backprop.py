"""``gradient-explorer backprop``: the computation graph at a point, with every adjoint."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from gradient_explorer.cli.common import (
    add_command,
    add_json_arg,
    add_surface_args,
    parse_floats,
    print_json,
    surface_from_args,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.view.formatting import format_number, json_number

if TYPE_CHECKING:
    from gradient_explorer.surfaces.backprop import Backprop


# flag -> what it makes: a surface drawn from data, which has no formula
NO_FORMULA = {"image": "an image", "heights": "an elevation map", "model": "a model's loss"}


def register(sub) -> None:
    parser = add_command(
        sub,
        "backprop",
        run,
        help="reverse-mode differentiation: each node's value and adjoint at a point",
        description="The expression's computation graph at a point: one node per operation "
        "with its forward value and its adjoint df/dnode, accumulated backwards over the "
        "graph (a node used twice sums its paths). The leaves' adjoints are the gradient.",
    )
    add_surface_args(parser, required=False, sampled=False)  # a circuit needs a formula
    # Sampled surfaces have none: their flags are accepted (unlisted) only to say so.
    for flag in NO_FORMULA:
        parser.add_argument(f"--{flag}", metavar="X", help=argparse.SUPPRESS)
    parser.add_argument("--at", required=True, metavar="X[,Y]", help="the point, e.g. 2,1")
    add_json_arg(parser)


def report(result: Backprop, surface_name: str) -> dict:
    """Everything ``backprop --json`` prints."""
    c = result.circuit
    out: dict = {
        "surface": surface_name,
        "formula": c.formula,
        "at": list(result.point),
        "parameters": dict(result.params),
        "f": json_number(result.f),
        "nodes": [
            {
                "id": n.id,
                "op": n.op,
                "label": n.label,
                "value": json_number(result.values[n.id]),
                # a constant (a number, pi, 1/2) is no variable: no adjoint, null
                "grad": _json_or_null(result.grads[n.id]),
                "inputs": list(n.inputs),
                "constant": n.constant,
            }
            for n in c.nodes
        ],
        "edges": [
            {"from": e.source, "to": e.target, "local": _json_or_null(result.local[e.id])}
            for e in c.edges
        ],
        "gradient": [json_number(g) for g in result.gradient],
        "param_gradient": {k: json_number(v) for k, v in result.param_gradient.items()},
    }
    if result.notes:
        out["note"] = result.notes[0]
    return out


def _json_or_null(value: float | None) -> float | None:
    return None if value is None else json_number(value)


def _fmt(value: float | None) -> str:
    if value is None:  # a constant: it has no adjoint
        return "-"
    return format_number(value, ".6g") if math.isfinite(value) else "NaN"


def adjoint_sum(result: Backprop, node: int) -> str:
    """A node's adjoint as the sum of what its users handed it: '5 = 2 + 3'."""
    parts = sorted(result.contributions_to(node), key=lambda c: c.edge)
    total = _fmt(result.grads[node])
    if len(parts) < 2:
        return total
    terms = " + ".join(_fmt(c.amount) for c in parts).replace("+ -", "- ")
    return f"{total} = {terms}"


def format_text(result: Backprop, surface_name: str) -> str:
    c = result.circuit
    rows = [("id", "op", "label", "value", "grad (= sum over paths)", "inputs")]
    for n in c.nodes:
        rows.append(
            (
                str(n.id),
                n.op,
                n.label,
                _fmt(result.values[n.id]),
                adjoint_sum(result, n.id),
                " ".join(str(i) for i in n.inputs) or "-",
            )
        )
    widths = [min(max(len(r[k]) for r in rows), 48) for k in range(len(rows[0]) - 1)]
    lines = [f"surface         {surface_name}: {c.formula}"]
    if result.params:
        lines.append("parameters      " + ", ".join(f"{k}={v:g}" for k, v in result.params.items()))
    lines.append("at              " + ", ".join(format_number(v, "g") for v in result.point))
    lines.append(f"f               {_fmt(result.f)}")
    lines.append("")
    for r in rows:
        cells = [cell.ljust(w) for cell, w in zip(r, widths, strict=False)]
        lines.append("  ".join([*cells, r[-1]]))
    lines.append("")
    names = ", ".join(f"df/d{v}" for v in c.variables)
    lines.append(f"gradient        ({names}) = ({', '.join(_fmt(g) for g in result.gradient)})")
    if c.parameters:
        grads = ", ".join(f"df/d{k} = {_fmt(v)}" for k, v in result.param_gradient.items())
        lines.append(f"param_gradient  {grads}")
    if any(not result.has_adjoint(n.id) for n in c.nodes):
        lines.append("constants       a number (or pi, e) is no variable: its grad is '-'")
    for note in result.notes:
        lines.append(f"note            {note}")
    return "\n".join(line.rstrip() for line in lines)


def _check_formula(args) -> None:
    """One line, before anything is loaded, for a surface that has no formula."""
    for flag, what in NO_FORMULA.items():
        value = getattr(args, flag, None)
        if value:
            raise UsageError(
                f"--{flag} {value} is {what} (sampled): it has no formula, so no computation "
                "graph to draw; backprop takes --surface NAME or --expr TEXT"
            )
    if not (args.surface or args.expr):
        raise UsageError("backprop needs --surface NAME or --expr TEXT")


def run(args) -> int:
    _check_formula(args)
    surface = surface_from_args(args)
    point = parse_floats(args.at, "--at", (surface.dim,))
    # imported here, not at the top: it needs sympy, which every other command's start
    # (and --help) would pay for
    from gradient_explorer.surfaces.backprop import backprop

    result = backprop(surface, point)
    if args.json:
        print_json(report(result, surface.name), ensure_ascii=False)
    else:
        print(format_text(result, surface.name))
    return 0
