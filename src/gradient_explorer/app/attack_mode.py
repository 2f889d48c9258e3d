"""The input-plane attack: what the window and the pictures need besides the surface.

The surface is the classifier's loss over its input plane for one label
(:class:`~gradient_explorer.surfaces.input_plane.InputPlane`); this state holds that plane
and the attack's sliders (eps, alpha, k) and works out, for the current point, the attack
drawn around it (:func:`~gradient_explorer.surfaces.input_plane.attack_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    _cache: tuple = field(default=(None, None), repr=False)

    def set(self, eps=None, alpha=None, steps=None) -> None:
        """New slider values, checked (a refused value raises UsageError, nothing changes)."""
        eps = self.eps if eps is None else adversarial.check_eps(eps)
        alpha = self.alpha if alpha is None else adversarial.check_alpha(alpha)
        steps = self.steps if steps is None else adversarial.check_steps(steps)
        self.eps, self.alpha, self.steps = eps, alpha, steps

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
