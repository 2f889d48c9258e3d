"""gradient-explorer: make derivatives and gradients visible.

The Python API::

    import gradient_explorer as ge
    s = ge.Surface.from_expr("x^2 - y^2")      # or ge.Surface.named("banana")
    s.f(xy), s.gradient(xy), s.hessian(xy), s.classify(xy)
    path = ge.descend(s, "adam", start=(-1.5, 2), steps=500, lr=0.01)
    paths = ge.descend(s, "adam", start=starts, steps=500)  # (N, 2) starts: N balls
    image = ge.render(s, size=(800, 600), point=(0.5, 0.5), lighting="normals")
"""

from gradient_explorer.errors import ExpressionError, GradientExplorerError, UsageError
from gradient_explorer.surfaces.surface import Surface

__version__ = "0.1.0"


def __getattr__(name: str):
    # The renderer and the optimizers load on first use: `import gradient_explorer` stays
    # light for the CLI's numerics-only commands.
    if name in ("render", "Image", "descend", "Trajectory", "Trajectories"):
        from gradient_explorer import api

        return getattr(api, name)
    if name == "OPTIMIZERS":
        from gradient_explorer.optim.optimizers import OPTIMIZERS

        return OPTIMIZERS
    raise AttributeError(f"module 'gradient_explorer' has no attribute {name!r}")


__all__ = [
    "OPTIMIZERS",
    "ExpressionError",
    "GradientExplorerError",
    "Image",
    "Surface",
    "Trajectories",
    "Trajectory",
    "UsageError",
    "__version__",
    "descend",
    "render",
]
