"""``gradient-explorer surfaces``: the catalogue as a table."""

from __future__ import annotations

import json

from gradient_explorer.catalogue import CATALOGUE


def register(sub) -> None:
    parser = sub.add_parser("surfaces", help="list the catalogue of surfaces and curves")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def _domain_text(domain) -> str:
    if domain is None:
        return ""
    return " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in domain)


def run(args) -> int:
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
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
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
