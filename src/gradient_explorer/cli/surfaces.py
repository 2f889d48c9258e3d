"""``gradient-explorer surfaces``: the catalogue as a table, or as JSON with ``--json``.

The JSON lists every entry with its formula, domain (``[[x0, x1], [y0, y1]]``; one pair
for a curve), parameters, known critical points and ``teaching``: ``{"start": [x, y],
"lr": {"sgd": ..., ...}, "momentum": {"sgd": 0.9}}`` (``start`` is ``[x]`` on a curve).
"""

from __future__ import annotations

from gradient_explorer.cli.common import add_command, add_json_arg, print_json
from gradient_explorer.surfaces.catalogue import CATALOGUE
from gradient_explorer.surfaces.surface import Surface


def register(sub) -> None:
    parser = add_command(sub, "surfaces", run, help="list the catalogue of surfaces and curves")
    add_json_arg(parser, help="print JSON instead of a table")


def _domain_text(domain) -> str:
    if domain is None:
        return ""
    return " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in domain)


def entry_json(d) -> dict:
    """One catalogue entry as JSON: formula, domain, parameters, critical points (at the
    default parameters, with the closed-form text) and the teaching defaults."""
    surface = Surface.named(d.name)
    points = []
    for (texts, kind), (point, _) in zip(d.critical_points, surface.critical_points, strict=True):
        points.append({"point": [float(v) for v in point], "kind": kind, "exact": list(texts)})
    return {
        "name": d.name,
        "kind": "curve" if surface.dim == 1 else "surface",
        "formula": d.expression,
        "domain": [[float(lo), float(hi)] for lo, hi in surface.domain],
        "parameters": {
            p.name: {"default": p.default, "min": p.lo, "max": p.hi} for p in d.parameters
        },
        "critical_points": points,
        "lesson": d.lesson,
        "teaching": surface.teaching.to_json(),
    }


def run(args) -> int:
    if args.json:
        print_json([entry_json(d) for d in CATALOGUE.values()])
        return 0
    rows = []
    for d in CATALOGUE.values():
        kind = "curve" if d.dim == 1 else "surface"
        params = ", ".join(f"{p.name}={p.default:g}" for p in d.parameters)
        rows.append(
            {
                "name": d.name,
                "kind": kind,
                "formula": d.expression,
                "domain": _domain_text(d.domain),
                "parameters": params,
                "lesson": d.lesson,
            }
        )
    heads = ("name", "formula", "domain", "lesson")
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in heads[:-1]}
    widths["formula"] = min(widths["formula"], 44)
    line = "  ".join(h.ljust(widths.get(h, 0)) for h in heads)
    print(line.rstrip())
    print("-" * len(line))
    for r in rows:
        formula = r["formula"] if len(r["formula"]) <= 44 else r["formula"][:41] + "..."
        if r["parameters"]:
            extra = f"  ({r['parameters']})"
        else:
            extra = ""
        cells = [r["name"].ljust(widths["name"]), formula.ljust(widths["formula"])]
        cells.append(r["domain"].ljust(widths["domain"]))
        cells.append(r["lesson"] + extra)
        print("  ".join(cells))
    return 0
