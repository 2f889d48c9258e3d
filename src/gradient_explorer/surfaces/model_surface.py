"""A model's loss as a surface: exact numerics from the model, drawn from a sampled grid.

:class:`ModelSurface` is a :class:`~gradient_explorer.surfaces.sampled.SampledSurface`
whose evaluator is a :class:`~gradient_explorer.surfaces.models.ModelLoss`: f, the
gradient and the Hessian everywhere (probe, picking readout, balls, verdicts) are the
model's exact backpropagated values; only the drawing reads the grid (``resolution``
points a side). Its x and y are the model's two coordinates (``w, b``; ``α, β``; or two
named weights).

Mini-batches: with ``batch_size`` set, a :class:`~gradient_explorer.optim.descent.Descent`
on this surface steps each ball with the gradient of its own shuffled mini-batch
(:class:`~gradient_explorer.optim.minibatch.MiniBatches`, seeded by ``seed``) while f,
what the height shows, stays the loss on the whole set. The protocol the runner reads:
``batch_size``, ``seed``, ``n_examples`` and :meth:`ModelSurface.batch_gradient`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.minibatch import MAX_SEED, check_batch_size, check_seed
from gradient_explorer.surfaces.datasets import BUNDLED
from gradient_explorer.surfaces.models import ModelLoss, make_model
from gradient_explorer.surfaces.sampled import Evaluator, SampledSurface
from gradient_explorer.surfaces.surface import Teaching

__all__ = ["DEFAULT_RESOLUTION", "ModelSurface", "from_model"]

#: Grid points a side of the drawn grid, per model (the MLP's forward pass is the dearest).
DEFAULT_RESOLUTION = {"line": 192, "logistic": 128, "mlp": 96}


def default_resolution(model: ModelLoss) -> int:
    """Grid points a side for drawing: the model's default, fewer on much data (the
    logistic and MLP losses cost points x examples (x hidden units) to sample; about 25
    million at most, and never under 32 a side). The line's cost does not grow with N."""
    res = DEFAULT_RESOLUTION[model.kind]
    if model.kind != "line":
        per_point = model.n * (model.net.hidden if model.kind == "mlp" else 1)
        res = int(min(res, max(32, (25e6 / per_point) ** 0.5)))
    return res


@dataclass
class ModelSurface(SampledSurface):
    """The loss of :attr:`model` over its two coordinates; see the module docstring."""

    model: ModelLoss | None = None
    batch_size: int | None = None
    seed: int = 0
    #: how :func:`from_model` made it (model, data, inputs, options), for sessions
    recipe: dict | None = None

    @classmethod
    def build(
        cls,
        model: ModelLoss,
        *,
        batch_size: int | None = None,
        seed: int = 0,
        resolution: int | None = None,
    ) -> ModelSurface:
        """The surface of ``model``'s loss (see :func:`from_model` for the arguments)."""
        # the checks the mini-batches make, before the grid is sampled
        batch_size = check_batch_size(batch_size, model.n)
        seed = check_seed(seed)
        evaluator = Evaluator(
            f=model.f,
            gradient=model.gradient,
            hessian=model.hessian,
            value_and_gradient=model.value_and_gradient,
        )
        res = int(resolution or default_resolution(model))
        if res < 2:
            raise UsageError(f"resolution must be at least 2, got {res}")
        (x0, x1), (y0, y1) = model.domain
        gx, gy = np.meshgrid(np.linspace(x0, x1, res), np.linspace(y0, y1, res))
        pts = np.stack([gx, gy], -1)
        # One pass for f and the exact gradient; the drawn Hessian (shading only: every
        # number shown comes from the exact evaluator) by differences of that gradient.
        heights, grad = model.value_and_gradient(pts)
        dx, dy = (x1 - x0) / (res - 1), (y1 - y0) / (res - 1)
        gxy, gxx = np.gradient(grad[..., 0], dy, dx)
        gyy, gyx = np.gradient(grad[..., 1], dy, dx)
        hess = np.stack([gxx, 0.5 * (gxy + gyx), gyy], -1)
        # Without the evaluator while built: the height range and scale are read from the
        # grid, not from thousands more exact evaluations.
        surface = cls.from_samples(
            heights,
            model.domain,
            gradient=grad,
            hessian=hess,
            name=f"{model.kind} model on {model.data.name}",
            source=f"{model.kind} loss: {model.data.title}",
        )
        surface.samples = replace(surface.samples, evaluator=evaluator)
        surface.model = model
        surface.batch_size, surface.seed = batch_size, seed
        return surface

    # -- the runner's protocol ------------------------------------------------------------

    @property
    def n_examples(self) -> int:
        """Number of examples in the data."""
        return self.model.n

    @property
    def axis_names(self) -> tuple[str, str, str]:
        """The names of the surface's x, y and height, for the axes drawn."""
        return (*self.model.axes, "loss")

    def batch_gradient(self, points, rows) -> np.ndarray:
        """The gradient of the mean loss over ``rows`` ((M, B) indices) at ``points``."""
        return self.model.gradient(points, rows)

    # -- defaults -------------------------------------------------------------------------

    @property
    def teaching(self) -> Teaching:
        """Start where an untrained model would (w = b = 0 for line and logistic; a
        corner of the plane for the MLP); gd and sgd at lr = 1/λ_max (the steepest
        curvature the loss reaches), the adaptive ones at 1/200 of the domain."""
        return self.memo("model_teaching", self._teaching)

    def _teaching(self) -> Teaching:
        model = self.model
        (x0, x1), (y0, y1) = self.domain
        if model.kind == "mlp":
            start = (model.centre[0] + 0.75 * (x1 - x0) / 2, model.centre[1] + 0.75 * (y1 - y0) / 2)
        else:
            start = (0.0, 0.0)
            if np.linalg.norm(model.gradient(np.array(start))) < 1e-9:
                start = (x0 + 0.2 * (x1 - x0), y1 - 0.2 * (y1 - y0))
        hess = self.samples.hessian
        with np.errstate(all="ignore"):
            mean = 0.5 * (hess[..., 0] + hess[..., 2])
            rad = np.hypot(0.5 * (hess[..., 0] - hess[..., 2]), hess[..., 1])
            top = np.abs(mean) + rad
        top = top[np.isfinite(top)]
        lam = float(top.max()) if top.size else 1.0
        plain = float(min(max(1.0 / lam, 1e-7), 1.0)) if lam > 0 else 0.1
        step = float(min(max(self.extent / 200.0, 1e-5), 1.0))
        lr = [("gd", plain), ("sgd", plain), ("newton", 1.0)]
        lr += [(n, step) for n in ("adagrad", "rmsprop", "adam", "adamw", "nadam")]
        lr += [("adafactor", float(min(max(step / max(self.extent, 1.0), 1e-5), 1.0)))]
        return Teaching(
            start=tuple(float(v) for v in start), lr=tuple(lr), momentum=(("sgd", 0.9),)
        )

    def session_dict(self) -> dict:
        """The surface object of a session: enough to build this surface again."""
        from gradient_explorer.errors import SessionError

        if self.recipe is None:
            raise SessionError(
                "a model surface made from a ModelLoss in Python has no recipe to save"
            )
        recipe = dict(self.recipe)
        out = {
            "source": "model",
            "name": self.name,
            "model": recipe.pop("model"),
            "data": recipe.pop("data"),
            "inputs": recipe.pop("inputs"),
            "batch_size": self.batch_size,
            "seed": int(self.seed),
        }
        if recipe:
            out["mlp"] = {k: list(v) if k == "weights" else v for k, v in recipe.items()}
        return out

    def formula(self) -> str:
        model = self.model
        what = {
            "line": "mean((w·x + b − y)²)",
            "logistic": "mean BCE(σ(w·x + b), label)",
            "mlp": f"mean BCE of the MLP over ({model.axes[0]}, {model.axes[1]})",
        }[model.kind]
        return f"L = {what} on {model.data.name}"


def from_model(
    model: str | ModelLoss = "line",
    data=None,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    inputs: str = "raw",
    resolution: int | None = None,
    **options,
) -> ModelSurface:
    """The loss surface of a model on data.

    Parameters
    ----------
    model : str or ModelLoss
        ``"line"``, ``"logistic"`` or ``"mlp"`` (or a ready :class:`ModelLoss`).
    data : str, Dataset or None
        A CSV path, a bundled name (``diabetes``, ``breast_cancer``, ``moons``) or None
        for the model's default set.
    batch_size : int, optional
        Mini-batch size for descent (None or >= N: the whole set).
    seed : int
        The mini-batches' shuffles (the MLP's init and plane directions have their own
        ``seed`` option, so the landscape stays put when the batches change).
    inputs : str
        ``raw``, ``centred`` or ``standardized`` inputs.
    resolution : int, optional
        Grid points a side for drawing (numerics are exact regardless).
    **options
        For the MLP: ``hidden``, ``activation`` (tanh, relu), ``directions`` (filter,
        random), ``weights`` (two names such as ``("w1[0,0]", "b2")``), ``train_steps``.
    """
    # refused before the data is read and a model trained
    check_batch_size(batch_size, None)
    check_seed(seed)
    recipe = None
    if isinstance(model, ModelLoss):
        if data is not None or options or inputs != "raw":
            raise UsageError("give data and options to make_model, not with a ModelLoss")
        loss = model
    else:
        loss = make_model(model, data, inputs=inputs, **options)
        if data is None or isinstance(data, str | os.PathLike):
            text = loss.data.name if data is None else str(data)
            if text not in BUNDLED:
                text = os.path.abspath(text)  # a session opened elsewhere finds the file
            recipe = {"model": model, "data": text, "inputs": inputs, **options}
    surface = ModelSurface.build(loss, batch_size=batch_size, seed=seed, resolution=resolution)
    surface.recipe = recipe
    return surface


def model_from_session(r, wrap) -> ModelSurface:
    """Rebuild a model surface from a session's surface object (``r``: the session's
    reader, ``wrap``: its error wrapper that names the key)."""
    from gradient_explorer.surfaces.models import MODELS

    kind = r.str("model", None, MODELS)
    r.str("name", "", limit=200)
    data = r.str("data", None, limit=4096)
    inputs = r.str("inputs", "raw", ("raw", "centred", "standardized"))
    size = r.raw("batch_size", None)
    batch = None if size is None else r.int("batch_size", None, 1, 2**31)
    seed = r.int("seed", 0, 0, MAX_SEED)
    options = {}
    if kind == "mlp":
        mlp = r.sub("mlp")
        if mlp is not None:
            if mlp.has("hidden"):
                options["hidden"] = mlp.int("hidden", 16, 1, 256)
            if mlp.has("activation"):
                options["activation"] = mlp.str("activation", "tanh", ("tanh", "relu"))
            if mlp.has("directions"):
                options["directions"] = mlp.str("directions", "filter", ("filter", "random"))
            if mlp.has("train_steps"):
                options["train_steps"] = mlp.int("train_steps", 2000, 0, 100_000)
            if mlp.has("seed"):
                options["seed"] = mlp.int("seed", 0, 0, 2**63 - 1)
            if mlp.has("weights"):
                names = mlp.raw("weights", None)
                if not (isinstance(names, list) and len(names) == 2):
                    raise UsageError(f"{mlp.where('weights')} must be two weight names")
                options["weights"] = tuple(str(n) for n in names)
            mlp.done()
    for key in ("params", "ranges", "height_scale"):
        r.raw(key, None)  # read by the caller
    r.done()
    return wrap(
        lambda: from_model(kind, data, batch_size=batch, seed=seed, inputs=inputs, **options),
        r.where("data"),
    )
