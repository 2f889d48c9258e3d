"""Adversarial steps: gradient ascent on the input, not the weights.

Each attack moves a batch of inputs x (rows, features in [0, 1]) to raise the model's
loss on the true labels y, within a budget eps, and clips the result to [0, 1]:

- ``fgsm``: one step to the corner of the L-inf ball, ``x + eps * sign(dL/dx)``.
- ``l2_step``: one step of length eps along the gradient, ``x + eps * g / |g|`` (on the
  eps-sphere; a row whose gradient is 0 stays).
- ``pgd``: k steps ``x_t + alpha * sign(dL/dx_t)``, each projected back into the
  eps-box around x and into [0, 1]; starts at x.
- ``random_signs``: the control, ``x + eps * s`` with seeded random signs s: a change of
  exactly the same size as FGSM's, in a direction that ignores the gradient.

The model is anything with ``loss_and_input_gradient(x, y) -> (loss, dL/dx)`` and
``predict(x)`` (``surfaces.classifiers``). ``box`` is the valid input range, (0, 1) for
pixels; None where inputs are unbounded (points of a 2D data set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.minibatch import check_seed

METHODS = ("fgsm", "pgd", "random")
DEFAULT_STEPS = 10
UNIT_BOX = (0.0, 1.0)


def check_eps(eps: float) -> float:
    eps = float(eps)
    if not math.isfinite(eps) or eps < 0:
        raise UsageError(f"eps must be a number >= 0, got {eps:g}")
    return eps


def check_steps(steps: int) -> int:
    if int(steps) != steps or steps < 1:
        raise UsageError(f"steps must be a whole number >= 1, got {steps}")
    return int(steps)


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not math.isfinite(alpha) or alpha <= 0:
        raise UsageError(f"alpha must be a number > 0, got {alpha:g}")
    return alpha


def default_alpha(eps: float, steps: int) -> float:
    """2.5 * eps / steps (Madry et al.): enough to reach the box's faces and move along them."""
    return 2.5 * eps / steps


def _clip(x: np.ndarray, box) -> np.ndarray:
    return x if box is None else np.clip(x, box[0], box[1])


def project(x_adv: np.ndarray, x: np.ndarray, eps: float, box=UNIT_BOX) -> np.ndarray:
    """The nearest point to x_adv inside the eps-box around x and inside ``box``."""
    return _clip(np.clip(x_adv, x - eps, x + eps), box)


def fgsm(model, x: np.ndarray, y, eps: float, box=UNIT_BOX) -> np.ndarray:
    eps = check_eps(eps)
    g = model.loss_and_input_gradient(x, y)[1]
    return _clip(x + eps * np.sign(g), box)


def l2_step(model, x: np.ndarray, y, eps: float, box=UNIT_BOX) -> np.ndarray:
    eps = check_eps(eps)
    g = np.asarray(model.loss_and_input_gradient(x, y)[1])
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    unit = np.divide(g, norm, out=np.zeros_like(g), where=norm > 0)
    return _clip(x + eps * unit, box)


def random_signs(x: np.ndarray, eps: float, seed: int = 0, box=UNIT_BOX) -> np.ndarray:
    eps = check_eps(eps)
    s = np.random.default_rng(check_seed(seed)).choice(np.array([-1.0, 1.0]), size=np.shape(x))
    return _clip(x + eps * s, box)


@dataclass(frozen=True)
class PGDRun:
    """Every iterate of a PGD run: ``path[0]`` is x, ``path[k]`` the result."""

    path: np.ndarray  # (steps + 1, *x.shape)
    losses: np.ndarray  # (steps + 1, rows) or (steps + 1,) for one row

    @property
    def result(self) -> np.ndarray:
        return self.path[-1]


def pgd_path(model, x: np.ndarray, y, eps: float, alpha: float, steps: int, box=UNIT_BOX) -> PGDRun:
    eps, alpha, steps = check_eps(eps), check_alpha(alpha), check_steps(steps)
    x = np.asarray(x, dtype=np.float64)
    xt = x.copy()
    path, losses = [xt], []
    for _ in range(steps):
        loss, g = model.loss_and_input_gradient(xt, y)
        losses.append(loss)
        xt = project(xt + alpha * np.sign(g), x, eps, box)
        path.append(xt)
    losses.append(model.loss_and_input_gradient(xt, y)[0])
    return PGDRun(np.stack(path), np.asarray(losses, dtype=np.float64))


def pgd(model, x: np.ndarray, y, eps: float, alpha: float, steps: int, box=UNIT_BOX) -> np.ndarray:
    return pgd_path(model, x, y, eps, alpha, steps, box).result


def attack(
    model,
    x: np.ndarray,
    y,
    method: str,
    eps: float,
    steps: int = DEFAULT_STEPS,
    alpha: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The inputs after one of METHODS (alpha defaults to :func:`default_alpha`)."""
    eps = check_eps(eps)
    if method == "fgsm":
        return fgsm(model, x, y, eps)
    if method == "random":
        return random_signs(x, eps, seed)
    if method == "pgd":
        steps = check_steps(steps)
        if alpha is None:
            if eps == 0:
                return np.array(x, dtype=np.float64)
            alpha = default_alpha(eps, steps)
        return pgd(model, x, y, eps, alpha, steps)
    raise UsageError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def attacked_accuracy(model, x, y, method: str, eps: float, **kw) -> float:
    return float(np.mean(model.predict(attack(model, x, y, method, eps, **kw)) == y))
