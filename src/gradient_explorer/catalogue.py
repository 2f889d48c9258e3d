"""The catalogue: surfaces and curves people come to learn from, each with its lesson.

Each entry is a :class:`SurfaceDefinition`: the expression is parsed by the same safe
parser as typed text, so the catalogue and user input share one path to numpy and GLSL.
Critical points are given in closed form where one exists (possibly in the parameters),
else to 17 digits (roots found once with sympy's nsolve at 30 digits).
"""

from __future__ import annotations

from gradient_explorer.errors import UsageError
from gradient_explorer.surface import Parameter, SurfaceDefinition

P = Parameter

SURFACES: tuple[SurfaceDefinition, ...] = (
    SurfaceDefinition(
        name="bowl",
        expression="x^2 + y^2",
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        height_scale=0.3,
        lesson="Every gradient points straight away from the bottom: descent cannot miss.",
        critical_points=((("0", "0"), "minimum"),),
    ),
    SurfaceDefinition(
        name="elongated_bowl",
        expression="(x^2 + k*y^2)/2",
        parameters=(P("k", 10.0, 1.0, 100.0),),
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        height_scale=0.1,
        lesson="Condition number k: plain descent zig-zags across the valley; momentum helps.",
        critical_points=((("0", "0"), "minimum"),),
    ),
    SurfaceDefinition(
        name="saddle",
        expression="x^2 - y^2",
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        height_scale=0.3,
        lesson="A zero gradient is not a minimum: up along x, down along y.",
        critical_points=((("0", "0"), "saddle"),),
    ),
    SurfaceDefinition(
        name="monkey_saddle",
        expression="x^3 - 3*x*y^2",
        domain=((-1.5, 1.5), (-1.5, 1.5)),
        height_scale=0.15,
        lesson="Three valleys meet where the Hessian vanishes: the second-derivative test fails.",
        critical_points=((("0", "0"), "degenerate critical point"),),
    ),
    SurfaceDefinition(
        name="banana",
        expression="(a - x)^2 + b*(y - x^2)^2",
        parameters=(P("a", 1.0, -2.0, 2.0), P("b", 100.0, 1.0, 200.0)),
        domain=((-2.0, 2.0), (-1.0, 3.0)),
        height_scale=0.25,
        display="log1p",
        lesson="Rosenbrock's curved valley: the gradient points across it, not along it.",
        critical_points=((("a", "a^2"), "minimum"),),
    ),
    SurfaceDefinition(
        name="himmelblau",
        expression="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        height_scale=0.4,
        display="log1p",
        lesson="Four minima of equal depth: where a ball ends depends only on where it starts.",
        critical_points=(
            (("3", "2"), "minimum"),
            (("-2.8051180869527449", "3.1313125182505730"), "minimum"),
            (("-3.7793102533777469", "-3.2831859912861694"), "minimum"),
            (("3.5844283403304917", "-1.8481265269644036"), "minimum"),
            (("-0.27084459066734761", "-0.92303855647998146"), "maximum"),
            (("0.086677504555396352", "2.8842547011747761"), "saddle"),
            (("3.3851541836070209", "0.073851879837749288"), "saddle"),
            (("-3.0730257507643896", "-0.081353044287967511"), "saddle"),
            (("-0.12796134673068007", "-1.9537149802445764"), "saddle"),
        ),
    ),
    SurfaceDefinition(
        name="rastrigin",
        expression="2*a + x^2 - a*cos(2*pi*x) + y^2 - a*cos(2*pi*y)",
        parameters=(P("a", 10.0, 0.0, 20.0),),
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        height_scale=0.04,
        lesson="A bowl covered in bumps: local descent gets stuck in the nearest dimple.",
        critical_points=((("0", "0"), "minimum"),),
    ),
    SurfaceDefinition(
        name="ackley",
        expression=(
            "-20*exp(-0.2*sqrt(0.5*(x^2 + y^2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20"
        ),
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        height_scale=0.3,
        lesson="The global minimum is the tip of a cone, where the gradient does not exist.",
    ),
    SurfaceDefinition(
        name="beale",
        expression="(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        height_scale=0.35,
        display="log1p",
        lesson="Flat basins and sharp ridges: step sizes that work here fail over there.",
        critical_points=((("3", "0.5"), "minimum"),),
    ),
    SurfaceDefinition(
        name="six_hump_camel",
        expression="(4 - 2.1*x^2 + x^4/3)*x^2 + x*y + (-4 + 4*y^2)*y^2",
        domain=((-2.0, 2.0), (-1.2, 1.2)),
        height_scale=0.25,
        lesson="Six minima, two of them global: which one you find is a matter of luck.",
        critical_points=(
            (("0.089842013100318062", "-0.71265640302073963"), "minimum"),
            (("-0.089842013100318062", "0.71265640302073963"), "minimum"),
            (("-1.7036067149699808", "0.79608356867262512"), "minimum"),
            (("1.7036067149699808", "-0.79608356867262512"), "minimum"),
            (("1.6071047529201972", "0.56865145488413137"), "minimum"),
            (("-1.6071047529201972", "-0.56865145488413137"), "minimum"),
        ),
    ),
    SurfaceDefinition(
        name="gaussian_hills",
        expression=(
            "0.05*(x^2 + y^2) - exp(-((x - 1)^2 + (y - 1)^2)/w)"
            " - 0.6*exp(-((x + 1.2)^2 + (y + 0.5)^2)/w) - 0.3*exp(-((x - 1.2)^2 + (y + 1.6)^2)/w)"
        ),
        parameters=(P("w", 0.8, 0.1, 3.0),),
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        height_scale=0.8,
        lesson="Wells of different depth: the deepest is not always the one you roll into.",
    ),
    SurfaceDefinition(
        name="waves",
        expression="sin(x)*cos(y)",
        domain=((-3.5, 3.5), (-3.5, 3.5)),
        height_scale=0.8,
        lesson="Peaks, pits and saddles in a regular pattern: the Hessian tells them apart.",
        critical_points=(
            (("pi/2", "0"), "maximum"),
            (("-pi/2", "0"), "minimum"),
            (("0", "pi/2"), "saddle"),
            (("pi/2", "pi"), "minimum"),
            (("-pi/2", "-pi"), "maximum"),
        ),
    ),
    SurfaceDefinition(
        name="plateau",
        expression="1 - exp(-(x^2 + y^2)/w)",
        parameters=(P("w", 1.0, 0.1, 5.0),),
        domain=((-4.0, 4.0), (-4.0, 4.0)),
        height_scale=1.2,
        lesson="Far from the pit the ground is flat: the gradient vanishes and descent stalls.",
        critical_points=((("0", "0"), "minimum"),),
    ),
)

CURVES: tuple[SurfaceDefinition, ...] = (
    SurfaceDefinition(
        name="cubic",
        expression="x^3 - 3*x",
        domain=((-2.5, 2.5),),
        dim=1,
        lesson="The tangent goes flat at the peak (x = -1) and at the valley (x = 1).",
        critical_points=((("-1",), "maximum"), (("1",), "minimum")),
    ),
    SurfaceDefinition(
        name="sine",
        expression="sin(x)",
        domain=((-6.5, 6.5),),
        dim=1,
        lesson="The slope of sin is cos: flat at every crest and trough.",
        critical_points=(
            (("pi/2",), "maximum"),
            (("-pi/2",), "minimum"),
            (("3*pi/2",), "minimum"),
            (("-3*pi/2",), "maximum"),
        ),
    ),
    SurfaceDefinition(
        name="double_well",
        expression="(x^2 - 1)^2",
        domain=((-2.0, 2.0),),
        dim=1,
        lesson="Two valleys and a hump between: f' = 0 three times, with two kinds of answer.",
        critical_points=((("-1",), "minimum"), (("0",), "maximum"), (("1",), "minimum")),
    ),
    SurfaceDefinition(
        name="softplus",
        expression="log(1 + exp(x))",
        domain=((-6.0, 6.0),),
        dim=1,
        lesson="Always rising, never flat: a slope that fades to 0 but never reaches it.",
    ),
    SurfaceDefinition(
        name="abs",
        expression="abs(x)",
        domain=((-3.0, 3.0),),
        dim=1,
        lesson="A corner: at 0 the slope jumps from -1 to 1, and the derivative does not exist.",
    ),
)

CATALOGUE: dict[str, SurfaceDefinition] = {d.name: d for d in (*SURFACES, *CURVES)}


def definition_named(name: str) -> SurfaceDefinition:
    """The catalogue entry ``name`` (hyphens and case are forgiven)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {"rosenbrock": "banana", "camel": "six_hump_camel", "sin": "sine"}
    key = aliases.get(key, key)
    if key not in CATALOGUE:
        known = ", ".join(CATALOGUE)
        raise UsageError(f"unknown surface '{name}': choose one of {known}")
    return CATALOGUE[key]
