"""The input plane as the surface: a 2D classifier's loss over its inputs, and attacks on it.

For a classifier with two inputs and a chosen label, ``L(x1, x2; label)`` is a surface
over the input plane: low where the model is sure of ``label``, rising across the decision
boundary. Gradient *ascent on the input* climbs it: :func:`attack_at` works out, at one
point, the gradient dL/dx, the FGSM point ``x + eps * sign(dL/dx)`` (a corner of the
eps-square, the L-inf ball), the L2 step ``x + eps * g/|g|`` (on the eps-circle), and a
PGD path of k sign steps of size alpha, each projected back into the square, with the
predicted class at every iterate and the step after which it first flips.

The default model is issue 12's ``mlp`` (two inputs, one tanh hidden layer, one logit)
trained on the seeded two moons or on a CSV with columns x1, x2, label
(:func:`input_plane`). Everything is numpy float64: no GL here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import adversarial
from gradient_explorer.surfaces.models import MLP, make_model, sigmoid, softplus


class BinaryNet:
    """Issue 12's one-logit MLP in the classifier contract of ``surfaces.classifiers``:
    classes 0 and 1, ``P(1) = sigmoid(z)``, per-row loss ``softplus(z) - label * z``."""

    n_features = 2
    n_classes = 2

    def __init__(self, net: MLP):
        self.net = net

    def _rows(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != 2:
            raise UsageError(f"expected points with 2 coordinates, got shape {x.shape}")
        return x.reshape(-1, 2)

    def logit(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return self.net.logits(self._rows(x)).reshape(x.shape[:-1])

    def probabilities(self, x) -> np.ndarray:
        with np.errstate(under="ignore"):
            p1 = sigmoid(self.logit(x))
        return np.stack([1.0 - p1, p1], axis=-1)

    def predict(self, x) -> np.ndarray:
        return (self.logit(x) > 0).astype(int)

    def margin(self, x, label: int) -> np.ndarray:
        """> 0 where ``label`` is predicted: the logit, signed for the label."""
        z = self.logit(x)
        return z if label == 1 else -z

    def loss_and_input_gradient(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        rows = self._rows(x)
        labels = np.broadcast_to(np.asarray(y, dtype=np.float64), (len(rows),))
        with np.errstate(under="ignore"):  # one forward pass for the loss and dL/dx
            _, z, _, _, dz1 = self.net._backward(rows, labels)
            grad = dz1 @ self.net.W1
        loss = softplus(z) - labels * z
        return loss.reshape(x.shape[:-1]), grad.reshape(x.shape)


@dataclass(frozen=True, eq=False)
class InputPlane:
    """``L(x1, x2; label)`` over a rectangle of the input plane, with the data behind it."""

    model: Any  # BinaryNet, or a classifiers.Classifier with two features
    X: np.ndarray  # the training points (N, 2)
    y: np.ndarray  # their labels (N,)
    label: int
    domain: tuple[tuple[float, float], tuple[float, float]]
    name: str = "moons"
    # how input_plane() made it ({"data", "hidden", "seed"}), so a session can make it
    # again; None for a plane built by hand
    recipe: dict | None = None

    def loss(self, points) -> np.ndarray:
        return self.model.loss_and_input_gradient(points, self.label)[0]

    def gradient(self, points) -> np.ndarray:
        return self.model.loss_and_input_gradient(points, self.label)[1]

    def loss_and_gradient(self, points) -> tuple[np.ndarray, np.ndarray]:
        return self.model.loss_and_input_gradient(points, self.label)

    def predict(self, points) -> np.ndarray:
        return np.asarray(self.model.predict(points))

    def margin(self, points) -> np.ndarray:
        """> 0 where the label is predicted, < 0 where another class is; 0 on the boundary."""
        if hasattr(self.model, "margin"):
            return self.model.margin(points, self.label)
        z = np.asarray(self.model.logits(np.reshape(points, (-1, 2))))
        others = np.delete(z, self.label, axis=1).max(axis=1)
        return (z[:, self.label] - others).reshape(np.shape(points)[:-1])

    def with_label(self, label: int) -> InputPlane:
        return InputPlane(
            self.model, self.X, self.y, check_label(label), self.domain, self.name, self.recipe
        )

    def surface(self, resolution: int = 161):
        """The loss over the domain as a sampled surface with exact numerics (the drawing
        reads a grid; f and the gradient at any point are the model's own)."""
        from gradient_explorer.surfaces.sampled import Evaluator, SampledSurface

        # The loss runs from ~0 to tens far on the wrong side: scale the tallest part to
        # about a third of the plane's width, so the floor's class map shows beside it.
        (x0, x1), (y0, y1) = self.domain
        gx, gy = np.meshgrid(np.linspace(x0, x1, 33), np.linspace(y0, y1, 33))
        top = float(np.max(self.loss(np.stack([gx, gy], -1))))
        scale = 0.35 * max(x1 - x0, y1 - y0) / top if top > 0 else None
        surface = SampledSurface.from_function(
            Evaluator(
                f=self.loss, gradient=self.gradient, value_and_gradient=self.loss_and_gradient
            ),
            self.domain,
            resolution,
            name=f"{self.name}: loss for label {self.label}",
            source=f"cross-entropy of the {self.name} classifier for label {self.label}",
            height_scale=scale,
        )
        surface.input_plane = self  # what a session saves to build it again
        return surface

    def class_grid(self, n: int = 96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell edges in x and y, and the predicted class at each cell's centre (n, n)."""
        (x0, x1), (y0, y1) = self.domain
        ex, ey = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
        cx, cy = (ex[:-1] + ex[1:]) / 2, (ey[:-1] + ey[1:]) / 2
        gx, gy = np.meshgrid(cx, cy)
        return ex, ey, self.predict(np.stack([gx, gy], -1))

    def boundary(self, n: int = 128) -> np.ndarray:
        """The decision boundary for the label as segments (m, 2, 2): marching squares on
        the margin's zero level, crossings placed by linear interpolation."""
        (x0, x1), (y0, y1) = self.domain
        xs, ys = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
        gx, gy = np.meshgrid(xs, ys)
        return zero_contour(xs, ys, self.margin(np.stack([gx, gy], -1)))


def zero_contour(xs: np.ndarray, ys: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Segments of the zero level of v (ny, nx) on the grid xs (nx,), ys (ny,)."""
    pos = v > 0
    segments = []
    changed = (pos[:-1, :-1] != pos[:-1, 1:]) | (pos[:-1, :-1] != pos[1:, :-1])
    changed |= pos[:-1, :-1] != pos[1:, 1:]
    for j, i in zip(*np.nonzero(changed), strict=True):
        corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]  # counter-clockwise
        crossings = []
        for (ia, ja), (ib, jb) in zip(corners, corners[1:] + corners[:1], strict=True):
            a, b = v[ja, ia], v[jb, ib]
            if (a > 0) != (b > 0):
                t = a / (a - b)
                crossings.append((xs[ia] + t * (xs[ib] - xs[ia]), ys[ja] + t * (ys[jb] - ys[ja])))
        if len(crossings) == 2:
            segments.append(crossings)
        elif len(crossings) == 4:  # a saddle cell: pair by the centre's side
            centre = v[j : j + 2, i : i + 2].mean() > 0
            first = pos[j, i] == centre
            pairs = ((0, 1), (2, 3)) if not first else ((3, 0), (1, 2))
            segments.extend([crossings[a], crossings[b]] for a, b in pairs)
    return np.asarray(segments, dtype=np.float64).reshape(-1, 2, 2)


def check_label(label) -> int:
    if int(label) != label or label not in (0, 1):
        raise UsageError(f"label must be 0 or 1, got {label}")
    return int(label)


def _padded_domain(xs: np.ndarray, pad: float = 0.5):
    lo, hi = xs.min(axis=0) - pad, xs.max(axis=0) + pad
    return tuple((float(a), float(b)) for a, b in zip(lo, hi, strict=True))


def input_plane(data="moons", label: int = 1, *, hidden: int = 16, seed: int = 0) -> InputPlane:
    """Issue 12's mlp trained on ``data`` (a bundled name, a CSV path with x1, x2, label,
    or a Dataset), as the loss over its input plane for ``label``."""
    loss = make_model("mlp", data, hidden=hidden, seed=seed)
    if not np.all((loss.y == 0) | (loss.y == 1)):
        raise UsageError("the input plane needs labels 0 and 1")
    domain = _padded_domain(loss.X)
    net = BinaryNet(loss.net)
    recipe = {"data": data, "hidden": hidden, "seed": seed} if isinstance(data, str) else None
    return InputPlane(net, loss.X, loss.y, check_label(label), domain, loss.data.name, recipe)


# --------------------------------------------------------------------------- the attack


@dataclass(frozen=True)
class AttackAtPoint:
    """Everything drawn at the point: numbers in input coordinates."""

    point: np.ndarray  # (2,)
    label: int
    eps: float
    alpha: float
    steps: int
    loss: float
    gradient: np.ndarray  # dL/dx at the point
    fgsm: np.ndarray  # x + eps * sign(g): a corner of the square
    l2: np.ndarray  # x + eps * g / |g|: on the circle
    square: np.ndarray  # (4, 2) the eps-square's corners, counter-clockwise
    pgd: np.ndarray  # (steps + 1, 2) the PGD iterates, pgd[0] the point
    pgd_losses: np.ndarray  # (steps + 1,)
    classes: np.ndarray  # (steps + 1,) the predicted class at each iterate
    fgsm_class: int
    l2_class: int

    @property
    def clean_class(self) -> int:
        return int(self.classes[0])

    @property
    def flip_step(self) -> int | None:
        """The first PGD step after which the predicted class differs from the clean one."""
        flipped = np.flatnonzero(self.classes != self.classes[0])
        return int(flipped[0]) if len(flipped) else None

    def circle(self, segments: int = 64) -> np.ndarray:
        t = np.linspace(0.0, 2.0 * math.pi, segments + 1)
        return self.point + self.eps * np.column_stack([np.cos(t), np.sin(t)])


def attack_at(plane: InputPlane, point, eps: float, alpha: float, steps: int) -> AttackAtPoint:
    """FGSM, the L2 step and PGD at ``point`` for the plane's label (inputs unbounded)."""
    eps = adversarial.check_eps(eps)
    alpha = adversarial.check_alpha(alpha)
    steps = adversarial.check_steps(steps)
    x = np.asarray(point, dtype=np.float64).reshape(1, 2)
    if not np.all(np.isfinite(x)):
        raise UsageError("the point must be two finite numbers")
    model, label = plane.model, plane.label
    loss, g = model.loss_and_input_gradient(x, label)
    fg = adversarial.fgsm(model, x, label, eps, box=None)
    l2 = adversarial.l2_step(model, x, label, eps, box=None)
    run = adversarial.pgd_path(model, x, label, eps, alpha, steps, box=None)
    path = run.path[:, 0, :]
    square = x[0] + eps * np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    return AttackAtPoint(
        point=x[0],
        label=label,
        eps=eps,
        alpha=alpha,
        steps=steps,
        loss=float(loss[0]),
        gradient=g[0],
        fgsm=fg[0],
        l2=l2[0],
        square=square,
        pgd=path,
        pgd_losses=run.losses[:, 0],
        classes=np.asarray(plane.predict(path), dtype=int),
        fgsm_class=int(plane.predict(fg)[0]),
        l2_class=int(plane.predict(l2)[0]),
    )
