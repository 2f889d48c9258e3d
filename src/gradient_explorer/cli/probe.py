"""``gradient-explorer probe``: f, gradient, Hessian and the verdict at a point."""

from __future__ import annotations

import math

import numpy as np

from gradient_explorer.cli.common import (
    add_command,
    add_json_arg,
    add_surface_args,
    parse_floats,
    print_json,
    surface_from_args,
)
from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces.probe import probe_point
from gradient_explorer.surfaces.surface import GRADIENT_TOLERANCE, Surface
from gradient_explorer.view.formatting import format_number, json_number


def register(sub) -> None:
    parser = add_command(
        sub,
        "probe",
        run,
        help="f, gradient, Hessian, eigenvalues and verdict at a point",
        description="Evaluate a surface or curve at a point: f, its derivatives, and whether "
        "the point is a minimum, maximum, saddle, degenerate critical point or not critical.",
    )
    add_surface_args(parser)
    parser.add_argument("--at", required=True, metavar="X[,Y]", help="the point, e.g. 1,1")
    parser.add_argument(
        "--tol",
        type=float,
        default=GRADIENT_TOLERANCE,
        help=f"gradient length under which a point is critical (default {GRADIENT_TOLERANCE:g})",
    )
    add_json_arg(parser)
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="also evaluate f and its gradient with the renderer's shader code (EGL)",
    )


def probe(surface: Surface, point, tol: float = GRADIENT_TOLERANCE) -> dict:
    """Everything ``probe`` reports, as plain JSON-ready values."""
    if not (math.isfinite(tol) and tol >= 0):
        raise UsageError(f"--tol must be a non-negative number, got {tol}")
    measured = probe_point(surface, point, tol)
    pt, verdict, fv = measured.point, measured.verdict, measured.f
    grad, hess = measured.gradient, measured.hessian
    out: dict = {
        "surface": surface.name,
        "formula": surface.formula(),
        "parameters": dict(surface.param_values),
        "at": [float(v) for v in np.atleast_1d(pt)],
        "f": json_number(fv),
    }
    model = getattr(surface, "model", None)
    if model is not None:  # a model's loss: say what x and y are and on which data
        out["axes"] = list(model.axes)
        out["data"] = {"name": model.data.name, "examples": model.n}
    if surface.dim == 2:
        gx, gy = (float(v) for v in grad)
        length = measured.length
        finite = math.isfinite(length)
        out["gradient"] = [json_number(gx), json_number(gy)] if finite else None
        out["gradient_length"] = json_number(length)
        out["gradient_angle_deg"] = json_number(measured.angle) if finite and length > 0 else None
        h = np.asarray(hess)
        out["hessian"] = (
            [
                [json_number(h[0, 0]), json_number(h[0, 1])],
                [json_number(h[1, 0]), json_number(h[1, 1])],
            ]
            if np.all(np.isfinite(h))
            else None
        )
    else:
        out["gradient"] = json_number(grad)
        out["gradient_length"] = json_number(measured.length)
        out["hessian"] = json_number(hess)
    if verdict.classification == "undefined":
        # Derivatives of a function that has no value here mean nothing.
        out.update(gradient=None, gradient_length=None, hessian=None)
        out.pop("gradient_angle_deg", None)
        if surface.dim == 2:
            out["gradient_angle_deg"] = None
    out["eigenvalues"] = [json_number(v) for v in verdict.eigenvalues] or None
    out["classification"] = verdict.classification
    out["tolerance"] = tol
    notes = []
    if verdict.classification == "undefined":
        notes.append("f is not finite here: the point is outside the function's domain")
    elif verdict.classification == "not differentiable":
        notes.append("the derivative does not exist here (a corner, cusp or cone tip)")
    if notes:
        out["note"] = notes[0]
    return out


def _fmt(value, brackets="()") -> str:
    if value is None:
        return "does not exist"
    if isinstance(value, list):
        return brackets[0] + ", ".join(_fmt(v) for v in value) + brackets[1]
    return format_number(value, ".10g")


def format_text(report: dict, dim: int) -> str:
    lines = [f"surface      {report['surface']}: {report['formula']}"]
    if report["parameters"]:
        params = ", ".join(f"{k}={v:g}" for k, v in report["parameters"].items())
        lines.append(f"parameters   {params}")
    lines.append(f"at           {_fmt(report['at'] if dim == 2 else report['at'][0])}")
    lines.append(f"f            {_fmt(report['f'])}")
    if dim == 2:
        grad = report["gradient"]
        lines.append(f"gradient     {_fmt(grad)}")
        lines.append(f"  length     {_fmt(report['gradient_length'])}")
        angle = report["gradient_angle_deg"]
        direction = "-" if angle is None else format_number(angle, ".6g") + " deg"
        lines.append(f"  direction  {direction}")
        h = report["hessian"]
        lines.append(f"hessian      {_fmt(h[0], '[]') if h else 'does not exist'}")
        if h:
            lines.append(f"             {_fmt(h[1], '[]')}")
        eig = report["eigenvalues"]
        lines.append(f"eigenvalues  {', '.join(_fmt(v) for v in eig) if eig else '-'}")
    else:
        lines.append(f"f'           {_fmt(report['gradient'])}")
        lines.append(f"f''          {_fmt(report['hessian'])}")
    lines.append(f"verdict      {report['classification']}")
    if "note" in report:
        lines.append(f"note         {report['note']}")
    if "gpu" in report:
        gpu = report["gpu"]
        lines.append(f"gpu          f {_fmt(gpu['f'])}, gradient {_fmt(gpu['gradient'])}")
        lines.append(f"             on {gpu['renderer']}")
    return "\n".join(lines)


def run(args) -> int:
    surface = surface_from_args(args)
    point = parse_floats(args.at, "--at", (surface.dim,))
    report = probe(surface, point if surface.dim == 2 else point[0], args.tol)
    if args.gpu:
        # GL loads only for the commands that draw: the CLI starts fast.
        from gradient_explorer.render.gpu_eval import gpu_probe

        report["gpu"] = gpu_probe(surface, point)
    if args.json:
        print_json(report)
    else:
        print(format_text(report, surface.dim))
    return 0
