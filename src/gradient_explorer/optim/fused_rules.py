"""The optimizer rules of the compiled engine (:mod:`gradient_explorer.optim.fused`).

Each rule is an optimizer's numpy ``_update`` on one coordinate, printed as a numba
function ``_rule(x, g, a, b, c, k0, k1, k2, k3, hp) -> (x, a, b, c)`` that does the same
operations in the same order (no FMA, no reassociation: the same bits): ``x`` the
position, ``g`` the gradient, ``a``/``b``/``c`` the values of up to three state buffers
(:attr:`Rule.slots` names the optimizer's state array behind each; an unused one is
neither read nor written), ``k0``-``k3`` the constants of this step (computed in
Python from the learning rate and the step count ``t``, as the numpy rule computes them;
NAdam's also from its float32 ``mu_product``, which Python updates, as numpy does)
and ``hp`` the hyperparameters (a float64 vector of :data:`HP_LEN`). Which branches the
setting takes (maximize, weight decay, momentum, ...) is fixed when the rule is printed:
one kernel module per setting.

The kernels know nothing of the optimizer: a rule is its state, its vectors and its text.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Length of the hyperparameter vector every kernel reads (a rule's own, zero-padded).
HP_LEN = 8


class Rule(NamedTuple):
    """One optimizer setting as the kernels see it."""

    family: str  # the optimizer's rule: "adam", "gd", "sgd", "adagrad", "rmsprop"
    variant: tuple  # the compile-time switches of the setting
    slots: tuple  # the state keys of the three buffers a, b, c (None: unused)
    source: str  # the numba function ``_rule`` and the flags S0-S2 the kernels read
    negates: bool  # it negates g (maximize): see fused.optimizer_step


def _signed(maximize: bool, coupled_wd: bool) -> list[str]:
    """Optimizer._signed_grad: ``-g`` when maximizing, then ``g + wd * x`` (hp[0])."""
    lines = []
    if maximize:
        lines.append("g = -g")
    if coupled_wd:
        lines.append("g = g + hp[0] * x")
    return lines


def _lerp(out: str, start: str, end: str, lo: bool, w: str, one_minus_w: str) -> str:
    """optimizers._lerp (torch.lerp) with a scalar weight: its branch by ``|w| < 0.5``."""
    if lo:
        return f"{out} = {start} + ({end} - {start}) * {w}"
    return f"{out} = {end} - ({end} - {start}) * {one_minus_w}"


# ------------------------------------------------------------------------- the rules
# For each: variant(opt), slots(variant), body(variant) (lines of _rule before its
# return), hyper(opt) (hp), constants(opt, lr, t) (k0-k3), init(opt) (the state a fresh
# optimizer's buffers hold, a, b, c); step_constants and table where a rule keeps state
# outside the kernels' buffers.


class _Base:
    @staticmethod
    def init(opt) -> tuple[float, float, float]:
        return 0.0, 0.0, 0.0

    @classmethod
    def step_constants(cls, opt, lr: float, t: float, rows) -> tuple:
        """The constants of a step that the balls ``rows`` (None: all) take now."""
        return cls.constants(opt, lr, t)

    @classmethod
    def table(cls, opt, rates: np.ndarray) -> np.ndarray:
        """The constants of each step of a fresh optimizer's run at these rates."""
        out = np.empty((len(rates), 4))
        for k, lr in enumerate(rates.tolist()):
            out[k] = cls.constants(opt, lr, float(k + 1))
        return out


class _Adam(_Base):
    """Adam._rule (Adam and AdamW, every setting)."""

    @staticmethod
    def variant(opt) -> tuple:
        hp = opt.hyper
        wd = "none" if hp["weight_decay"] == 0 else ("decoupled" if opt._dec else "coupled")
        return (bool(hp["maximize"]), wd, bool(hp["amsgrad"]), abs(opt._w1) < 0.5)

    @staticmethod
    def slots(variant) -> tuple:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq" if variant[2] else None)

    @staticmethod
    def body(variant) -> list[str]:
        # a: exp_avg, b: exp_avg_sq, c: max_exp_avg_sq; k0: -step_size, k1: bc2_sqrt,
        # k2: 1 - lr * weight_decay; hp: [wd, eps, beta2, w1, 1 - w1, w2]
        maximize, wd, amsgrad, lerp_lo = variant
        lines = ["g = -g"] if maximize else []
        if wd == "decoupled":
            lines.append("x = x * k2")
        elif wd == "coupled":
            lines.append("g = g + hp[0] * x")
        lines.append(_lerp("a", "a", "g", lerp_lo, "hp[3]", "hp[4]"))
        lines.append("b = b * hp[2] + (hp[5] * g) * g")
        if amsgrad:
            lines += ["c = _maximum(c, b)", "denom = math.sqrt(c)"]
        else:
            lines.append("denom = math.sqrt(b)")
        lines += ["denom = denom / k1", "denom = denom + hp[1]"]
        lines += ["upd = a * k0", "upd = upd / denom", "x = x + upd"]
        return lines

    @staticmethod
    def hyper(opt) -> list[float]:
        hp, w1 = opt.hyper, opt._w1
        return [hp["weight_decay"], hp["eps"], opt._b2, w1, 1.0 - w1, opt._w2]

    @staticmethod
    def constants(opt, lr: float, t: float) -> tuple:
        # Adam._rule's, in its order (Python floats)
        b1, b2 = opt._b1, opt._b2
        step_size = lr / (1 - b1**t)
        bc2_sqrt = (1 - b2**t) ** 0.5
        return -step_size, bc2_sqrt, 1 - lr * opt.hyper["weight_decay"], 0.0


class _GradientDescent(_Base):
    """GradientDescent._update: ``p -= lr * g``."""

    @staticmethod
    def variant(opt) -> tuple:
        return ()

    @staticmethod
    def slots(variant) -> tuple:
        return (None, None, None)

    @staticmethod
    def body(variant) -> list[str]:
        return ["x = x - k0 * g"]  # k0: lr

    @staticmethod
    def hyper(opt) -> list[float]:
        return []

    @staticmethod
    def constants(opt, lr: float, t: float) -> tuple:
        return lr, 0.0, 0.0, 0.0


class _SGD(_Base):
    """SGD._update: momentum (torch's buffer: the gradient itself on the first step),
    dampening, Nesterov, coupled weight decay, maximize."""

    @staticmethod
    def variant(opt) -> tuple:
        hp = opt.hyper
        momentum = hp["momentum"] != 0
        return (bool(hp["maximize"]), hp["weight_decay"] != 0, momentum, bool(hp["nesterov"]))

    @staticmethod
    def slots(variant) -> tuple:
        return ("momentum_buffer" if variant[2] else None, None, None)

    @staticmethod
    def body(variant) -> list[str]:
        # a: momentum_buffer; k0: -lr, k1: 1.0 on the first step (t == 1) else 0.0;
        # hp: [wd, momentum, 1 - dampening]
        maximize, wd, momentum, nesterov = variant
        lines = _signed(maximize, wd)
        if momentum:
            # buf *= momentum; buf += (1 - dampening) * g, or a copy of g on step 1
            lines.append("a = g if k1 != 0.0 else a * hp[1] + hp[2] * g")
            lines.append("g = g + hp[1] * a" if nesterov else "g = a")
        lines.append("x = x + k0 * g")
        return lines

    @staticmethod
    def hyper(opt) -> list[float]:
        hp = opt.hyper
        return [hp["weight_decay"], hp["momentum"], 1 - hp["dampening"]]

    @staticmethod
    def constants(opt, lr: float, t: float) -> tuple:
        return -lr, 1.0 if t == 1.0 else 0.0, 0.0, 0.0


class _Adagrad(_Base):
    """Adagrad._update: the sum of squares, lr decayed by the step count."""

    @staticmethod
    def variant(opt) -> tuple:
        hp = opt.hyper
        return (bool(hp["maximize"]), hp["weight_decay"] != 0)

    @staticmethod
    def slots(variant) -> tuple:
        return ("sum", None, None)

    @staticmethod
    def body(variant) -> list[str]:
        # a: sum; k0: -clr; hp: [wd, eps]
        lines = _signed(*variant)
        lines += [
            "a = a + g * g",
            "std = math.sqrt(a)",
            "std = std + hp[1]",
            "x = x + (k0 * g) / std",  # addcdiv's order: (value * t1) / t2
        ]
        return lines

    @staticmethod
    def hyper(opt) -> list[float]:
        hp = opt.hyper
        return [hp["weight_decay"], hp["eps"]]

    @staticmethod
    def constants(opt, lr: float, t: float) -> tuple:
        clr = lr / (1 + (t - 1) * opt.hyper["lr_decay"])
        return -clr, 0.0, 0.0, 0.0

    @staticmethod
    def init(opt) -> tuple[float, float, float]:
        return opt.hyper["initial_accumulator_value"], 0.0, 0.0


class _RMSprop(_Base):
    """RMSprop._update: centered or not, with momentum or not."""

    @staticmethod
    def variant(opt) -> tuple:
        hp = opt.hyper
        lerp_lo = abs(1 - hp["alpha"]) < 0.5
        return (
            bool(hp["maximize"]),
            hp["weight_decay"] != 0,
            bool(hp["centered"]),
            hp["momentum"] > 0,
            lerp_lo,
        )

    @staticmethod
    def slots(variant) -> tuple:
        _, _, centered, momentum, _ = variant
        return (
            "square_avg",
            "grad_avg" if centered else None,
            "momentum_buffer" if momentum else None,
        )

    @staticmethod
    def body(variant) -> list[str]:
        # a: square_avg, b: grad_avg, c: momentum_buffer; k0: -lr;
        # hp: [wd, alpha, 1 - alpha, eps, momentum, 1 - (1 - alpha), -1.0]
        maximize, wd, centered, momentum, lerp_lo = variant
        lines = _signed(maximize, wd)
        lines.append("a = a * hp[1] + (hp[2] * g) * g")  # sq *= alpha; sq += (1-alpha)*g*g
        if centered:
            lines.append(_lerp("b", "b", "g", lerp_lo, "hp[2]", "hp[5]"))
            # sqrt(sq + (-1) * ga * ga): -1.0 from hp, a multiplication as numpy's (a
            # constant -1.0 would become a negation, which flips a NaN's sign)
            lines.append("avg = math.sqrt(a + (hp[6] * b) * b)")
        else:
            lines.append("avg = math.sqrt(a)")
        lines.append("avg = avg + hp[3]")
        if momentum:
            lines += ["c = c * hp[4] + g / avg", "x = x + k0 * c"]
        else:
            lines.append("x = x + (k0 * g) / avg")  # addcdiv's order
        return lines

    @staticmethod
    def hyper(opt) -> list[float]:
        hp = opt.hyper
        alpha = hp["alpha"]
        w = 1 - alpha
        return [hp["weight_decay"], alpha, w, hp["eps"], hp["momentum"], 1.0 - w, -1.0]

    @staticmethod
    def constants(opt, lr: float, t: float) -> tuple:
        return -lr, 0.0, 0.0, 0.0


class _NAdam(_Base):
    """NAdam._update for balls at one step count: its c1 and c2 come from the float32
    ``mu_product`` of the first ball that steps (numpy's rule with a uniform ``t``)."""

    @staticmethod
    def variant(opt) -> tuple:
        hp = opt.hyper
        wd = "none"
        if hp["weight_decay"] != 0:
            wd = "decoupled" if hp["decoupled_weight_decay"] else "coupled"
        return (bool(hp["maximize"]), wd, abs(1 - hp["betas"][0]) < 0.5)

    @staticmethod
    def slots(variant) -> tuple:
        return ("exp_avg", "exp_avg_sq", None)

    @staticmethod
    def body(variant) -> list[str]:
        # a: exp_avg, b: exp_avg_sq; k0: 1 - lr * wd, k1: c1, k2: c2, k3: 1 - beta2**t;
        # hp: [wd, eps, beta2, 1 - beta1, 1 - (1 - beta1), 1 - beta2]
        maximize, wd, lerp_lo = variant
        lines = ["g = -g"] if maximize else []
        if wd == "decoupled":
            lines.append("x = x * k0")
        elif wd == "coupled":
            lines.append("g = g + hp[0] * x")
        lines.append(_lerp("a", "a", "g", lerp_lo, "hp[3]", "hp[4]"))
        lines.append("b = b * hp[2] + (hp[5] * g) * g")
        lines += ["denom = math.sqrt(b / k3)", "denom = denom + hp[1]"]
        lines += ["x = x + (k1 * g) / denom", "x = x + (k2 * a) / denom"]  # s1, then s2
        return lines

    @staticmethod
    def hyper(opt) -> list[float]:
        hp = opt.hyper
        b1, b2 = hp["betas"]
        w1 = 1 - b1
        return [hp["weight_decay"], hp["eps"], b2, w1, 1.0 - w1, 1 - b2]

    @staticmethod
    def _mus(opt, t: float) -> tuple[float, float]:
        b1, md = opt.hyper["betas"][0], opt.hyper["momentum_decay"]
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * md)))
        return mu, mu_next

    @classmethod
    def _constants(cls, opt, lr: float, t: float, mp64: float) -> tuple:
        # NAdam._update's, in its order (Python floats)
        hp = opt.hyper
        bc2 = 1 - hp["betas"][1] ** t
        mu, mu_next = cls._mus(opt, t)
        mu_product_next = mp64 * mu_next
        c1 = -lr * (1.0 - mu) / (1.0 - mp64)
        c2 = (-lr * mu_next) / (1.0 - mu_product_next)
        return 1 - lr * hp["weight_decay"], c1, c2, bc2

    @classmethod
    def step_constants(cls, opt, lr: float, t: float, rows) -> tuple:
        # mu_product *= float32(mu) for the balls that step (float32, as numpy), then the
        # first one's value as a Python float
        mp = opt.state["mu_product"]
        mu32 = np.float32(cls._mus(opt, t)[0])
        with np.errstate(all="ignore"):  # (as numpy's step: it underflows to 0 in time)
            if rows is None:
                mp *= mu32
                first = mp[0, 0]
            else:
                mp[rows] *= mu32
                first = mp[rows[0], 0]
        return cls._constants(opt, lr, t, float(np.float64(first)))

    @classmethod
    def table(cls, opt, rates: np.ndarray) -> np.ndarray:
        out = np.empty((len(rates), 4))
        mp = np.ones(1, dtype=np.float32)  # a fresh ball's
        for k, lr in enumerate(rates.tolist()):
            t = float(k + 1)
            with np.errstate(all="ignore"):
                mp *= np.float32(cls._mus(opt, t)[0])
            out[k] = cls._constants(opt, lr, t, float(np.float64(mp[0])))
        return out


#: The rules by the name an optimizer class declares in ``_engine_rule``.
FAMILIES = {
    "adam": _Adam,
    "gd": _GradientDescent,
    "sgd": _SGD,
    "adagrad": _Adagrad,
    "rmsprop": _RMSprop,
    "nadam": _NAdam,
}


def source(family: str, variant: tuple) -> str:
    """``_rule`` of this setting and the flags S0-S2 (which buffers it uses): compile-time
    constants of the kernels, so that an unused buffer is neither read nor written."""
    rule = FAMILIES[family]
    used = [key is not None for key in rule.slots(variant)]
    lines = [
        f"S0, S1, S2 = {used[0]}, {used[1]}, {used[2]}",
        "",
        "",
        "@njit(cache=True, error_model='numpy')",
        "def _rule(x, g, a, b, c, k0, k1, k2, k3, hp):",
    ]
    lines += [f"    {line}" for line in rule.body(variant)]
    lines.append("    return x, a, b, c")
    return "\n".join(lines)


def rule_of(opt) -> Rule | None:
    """The engine's rule of ``opt``'s current setting, or None (the numpy path)."""
    family = getattr(opt, "_engine_rule", None)
    if family is None or opt.needs_hessian:
        return None
    rule = FAMILIES[family]
    variant = rule.variant(opt)
    body = rule.body(variant)
    return Rule(family, variant, rule.slots(variant), source(family, variant), "g = -g" in body)


def hyper(rule: Rule, opt) -> np.ndarray:
    """The ``hp`` vector of ``opt``'s setting (:data:`HP_LEN` floats)."""
    values = FAMILIES[rule.family].hyper(opt)
    out = np.zeros(HP_LEN)
    out[: len(values)] = values
    return out


def step_constants(rule: Rule, opt, lr: float, t: float, rows) -> tuple:
    """``(k0, k1, k2, k3)`` of step ``t`` at rate ``lr`` that the balls ``rows`` (an index
    array, or None: every ball) take now, as the numpy rule computes them. A rule's state
    outside the kernels' buffers (NAdam's mu_product) moves: call it once per step."""
    return FAMILIES[rule.family].step_constants(opt, lr, t, rows)


def table(rule: Rule, opt, rates: np.ndarray) -> np.ndarray:
    """``(steps, 4)``: the constants of each step of a fresh optimizer at these rates."""
    return FAMILIES[rule.family].table(opt, rates)


def init(rule: Rule, opt) -> np.ndarray:
    """The values a fresh optimizer's buffers a, b, c start from."""
    return np.array(FAMILIES[rule.family].init(opt), dtype=np.float64)
