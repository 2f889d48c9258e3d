"""The input-plane attack: what the window and the pictures need besides the surface.

The surface is the classifier's loss over its input plane for one label
(:class:`~gradient_explorer.surfaces.input_plane.InputPlane`); this state holds that plane
and the attack's sliders (eps, alpha, k) and works out, for the current point, the attack
drawn around it (:func:`~gradient_explorer.surfaces.input_plane.attack_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import adversarial
from gradient_explorer.surfaces.input_plane import AttackAtPoint, InputPlane, attack_at

EPS_RANGE = (0.01, 1.0)
ALPHA_RANGE = (0.005, 0.5)
STEPS_RANGE = (1, 40)


@dataclass
class InputAttack:
    """The plane, the sliders and the last attack (recomputed when any of them changes)."""

    plane: InputPlane
    eps: float = 0.3
    alpha: float = 0.05
    steps: int = 10
    surface: Any = None  # the loss surface this attack is drawn on (None: any)
    step: int | None = None  # the PGD step the ball shows; None: the last
    _cache: tuple = field(default=(None, None), repr=False)

    def set(self, eps=None, alpha=None, steps=None) -> None:
        """New slider values, checked (a refused value raises UsageError, nothing changes)."""
        eps = self.eps if eps is None else adversarial.check_eps(eps)
        alpha = self.alpha if alpha is None else adversarial.check_alpha(alpha)
        steps = self.steps if steps is None else adversarial.check_steps(steps)
        self.eps, self.alpha, self.steps = eps, alpha, steps

    def shown(self, a: AttackAtPoint) -> int:
        """The PGD step the ball stands at: the slider's, at most k."""
        return a.steps if self.step is None else max(0, min(int(self.step), a.steps))

    def at(self, point) -> AttackAtPoint | None:
        if point is None:
            return None
        key = (tuple(point), self.plane.label, id(self.plane), self.eps, self.alpha, self.steps)
        if self._cache[0] != key:
            self._cache = (key, attack_at(self.plane, point, self.eps, self.alpha, self.steps))
        return self._cache[1]

    def summary(self, point) -> str:
        """One line for the panel: what the attack did and after which step it flipped."""
        a = self.at(point)
        if a is None:
            return "click a point on the plane"
        start = f"predicted {a.clean_class}, loss {a.loss:.3g} for label {a.label}"
        flip = a.flip_step
        pgd = (
            f"PGD flips it to {int(a.classes[flip])} after step {flip}"
            if flip is not None
            else f"PGD keeps class {a.clean_class} for all {a.steps} steps"
        )
        fgsm = "FGSM flips it" if a.fgsm_class != a.clean_class else "FGSM does not flip it"
        return f"{start}; {fgsm}; {pgd} (loss {a.pgd_losses[-1]:.3g})"

    def step_line(self, point) -> str:
        """Where the PGD ball stands: its step, class and loss."""
        a = self.at(point)
        if a is None:
            return ""
        t = self.shown(a)
        cls = int(a.classes[t])
        flipped = " (flipped)" if cls != a.clean_class else ""
        return f"after step {t} of {a.steps}: class {cls}{flipped}, loss {a.pgd_losses[t]:.3g}"


# --------------------------------------------------------------------------- one digit


@dataclass(frozen=True)
class DigitAttack:
    """One test digit before and after an attack, and the same-size random control."""

    index: int
    label: int
    image: np.ndarray  # (8, 8) in [0, 1], row 0 at the top
    gradient: np.ndarray  # (8, 8) dL/dx
    adversarial: np.ndarray  # (8, 8) the attacked image, clipped to [0, 1]
    random: np.ndarray  # (8, 8) random signs of the same eps, clipped
    p_clean: np.ndarray  # (10,) class probabilities
    p_attacked: np.ndarray
    loss_clean: float
    loss_attacked: float
    loss_random: float

    @property
    def sign(self) -> np.ndarray:
        return np.sign(self.gradient)

    @property
    def perturbation(self) -> np.ndarray:
        """What the attack added, after the clip (at most eps per pixel)."""
        return self.adversarial - self.image

    @property
    def predicted_clean(self) -> int:
        return int(np.argmax(self.p_clean))

    @property
    def predicted_attacked(self) -> int:
        return int(np.argmax(self.p_attacked))


def digit_attack(
    model, split, index: int, method: str, eps: float, steps: int, alpha, seed: int = 0
) -> DigitAttack:
    """Attack test digit ``index`` of ``split`` (shape (8, 8) images) with ``method``."""
    if not 0 <= index < len(split.y_test):
        raise UsageError(f"test digit must be 0..{len(split.y_test) - 1}, got {index}")
    x = split.x_test[index : index + 1]
    y = split.y_test[index : index + 1]
    adv = adversarial.attack(model, x, y, method, eps, steps=steps, alpha=alpha, seed=seed)
    rnd = adversarial.random_signs(x, eps, seed)
    shape = split.image_shape
    loss, grad = model.loss_and_input_gradient(x, y)
    return DigitAttack(
        index=index,
        label=int(y[0]),
        image=x[0].reshape(shape),
        gradient=grad[0].reshape(shape),
        adversarial=adv[0].reshape(shape),
        random=rnd[0].reshape(shape),
        p_clean=model.probabilities(x)[0],
        p_attacked=model.probabilities(adv)[0],
        loss_clean=float(loss[0]),
        loss_attacked=float(model.loss(adv, y)[0]),
        loss_random=float(model.loss(rnd, y)[0]),
    )


def perturbation_surface(attack: DigitAttack):
    """The perturbation as a height surface over the 8x8 pixel grid (a picture: row 0 on
    top), drawn by the sampled-surface path."""
    from gradient_explorer.surfaces.sampled import SampledSurface

    delta = attack.perturbation
    ny, nx = delta.shape
    return SampledSurface.from_samples(
        delta,
        ((0.0, float(nx - 1)), (0.0, float(ny - 1))),
        origin="upper",
        name=f"perturbation of test digit {attack.index}",
        source="the attack's change to each pixel (x_adv - x)",
    )
