"""A model's loss on its data as a function of two coordinates, with exact derivatives.

Three models, each a :class:`ModelLoss` over two surface coordinates ``(x, y)``:

``line`` (:class:`LineLoss`)
    Prediction ``w·x + b``; loss the mean squared error ``mean((w·x + b - y)²)`` (torch's
    ``MSELoss``, reduction mean). Coordinates ``(w, b)``. The full-data loss is computed
    from centred moments of the data, ``w² var(x) - 2w cov(x, y) + var(y) + (w·mean(x) + b
    - mean(y))²``, which is exact algebra and free of the cancellation of raw moments;
    mini-batches are computed example by example.
``logistic`` (:class:`LogisticLoss`)
    Probability ``σ(w·x + b)``; loss the mean binary cross-entropy on 0/1 labels (torch's
    ``BCEWithLogitsLoss``, mean), computed stably as ``softplus(z) - label·z`` with
    ``softplus(z) = log(1 + e^z)`` by ``logaddexp``. Coordinates ``(w, b)``.
``mlp`` (:class:`MLPLoss` over an :class:`MLP`)
    Two inputs, one hidden layer of ``H`` tanh or ReLU units, one logistic output, the
    same cross-entropy. The network is trained (deterministically: seeded init, full-batch
    Adam) and the surface is the loss on the plane ``θ* + α·d + β·e`` through the trained
    weights ``θ*``. With ``directions="filter"`` (the default) ``d`` and ``e`` are random
    Gaussian directions with *filter normalization* (Li, Xu, Taylor, Studer and Goldstein
    2018, "Visualizing the Loss Landscape of Neural Nets"): each filter of a direction
    (one row of a weight matrix: the incoming weights of one unit) is scaled to the norm
    of the same filter of ``θ*``, and the bias entries are zero. Coordinates ``(α, β)``.
    With ``weights=("w1[3,0]", "b2")`` the coordinates are instead two weights themselves,
    the others held at their trained values.

Everything is float64 backpropagation written out by hand: ``f``, ``gradient`` (by the
chain rule through the network) and the 2x2 ``hessian`` over the two coordinates, all
exact (the MLP's Hessian uses the activation's second derivative; ReLU's is 0 away from
its kink, where the loss is not twice differentiable). ``tests/test_models.py`` checks
them against torch autograd.

Mini-batches: ``f``, ``gradient`` take ``rows``, the example indices to average over:
None for all, ``(B,)`` for one batch shared by every point, or ``(M, B)`` for a batch per
point (each ball its own). :class:`gradient_explorer.optim.minibatch.MiniBatches` makes
them epoch by epoch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.optim.optimizers import make_optimizer
from gradient_explorer.surfaces.datasets import Dataset, load_data

__all__ = [
    "MLP",
    "MODELS",
    "LineLoss",
    "LogisticLoss",
    "MLPLoss",
    "ModelLoss",
    "make_model",
    "sigmoid",
    "softplus",
]

MODELS = ("line", "logistic", "mlp")
#: Points per chunk times examples: keeps the (points, examples) work arrays small.
_CHUNK = 1 << 17


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)`` without overflow."""
    return np.logaddexp(0.0, z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-z)`` without overflow, accurate in both tails."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_slope(z: np.ndarray) -> np.ndarray:
    """``σ(z)(1 - σ(z))``, accurate in both tails."""
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _points(points) -> tuple[np.ndarray, tuple[int, ...]]:
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[-1:] != (2,):
        raise UsageError(f"points must have shape (..., 2), got {pts.shape}")
    return pts.reshape(-1, 2), pts.shape[:-1]


def _rows(rows, m: int, n: int) -> np.ndarray | None:
    """None, or an (m, B) int array of example indices."""
    if rows is None:
        return None
    r = np.asarray(rows)
    if r.ndim == 1:
        r = np.broadcast_to(r, (m, len(r)))
    if r.ndim != 2 or r.shape[0] != m or r.shape[1] == 0:
        raise UsageError(f"rows must be (B,) or ({m}, B) example indices, got {np.shape(rows)}")
    if r.min() < 0 or r.max() >= n:
        raise UsageError(f"rows must index the {n} examples")
    return r


class ModelLoss:
    """A model's mean loss over its data, as a function of two coordinates.

    Attributes
    ----------
    kind : str
        ``line``, ``logistic`` or ``mlp``.
    data : Dataset
    axes : tuple of str
        The two coordinates' names (``("w", "b")``, ``("α", "β")``, two weight names).
    domain : ((x0, x1), (y0, y1))
        A box that holds the interesting part: the minimum (or the trained weights), and
        for line and logistic the origin; square in coordinate units, so a bowl's
        elongation on screen is its conditioning.
    centre : ndarray
        The loss's minimum (line, logistic) or the trained weights (mlp): ``(2,)``.
    """

    kind = ""
    axes: tuple[str, str] = ("w", "b")

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.n = data.n

    # -- numerics (subclasses) ------------------------------------------------------------

    #: work per point and example (the MLP's hidden units): sets the chunk size
    _width = 1

    def _step(self, rows: np.ndarray | None) -> int:
        """Points per chunk: work arrays of about _CHUNK numbers stay in cache."""
        per_point = (self.n if rows is None else rows.shape[1]) * self._width
        return max(1, _CHUNK // per_point)

    def f(self, points, rows=None) -> np.ndarray:
        """The mean loss at ``points`` (..., 2) over ``rows`` (None: all examples)."""
        pts, shape = _points(points)
        r = _rows(rows, len(pts), self.n)
        fv = np.empty(len(pts))
        step = self._step(r)
        with np.errstate(all="ignore"):
            for s in range(0, len(pts), step):
                sub = None if r is None else r[s : s + step]
                fv[s : s + step] = self._value(pts[s : s + step], sub)
        return fv.reshape(shape)

    def gradient(self, points, rows=None) -> np.ndarray:
        """The gradient of the mean loss: (..., 2)."""
        return self.value_and_gradient(points, rows)[1]

    def value_and_gradient(self, points, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Loss (...) and gradient (..., 2) in one pass."""
        pts, shape = _points(points)
        r = _rows(rows, len(pts), self.n)
        fv = np.empty(len(pts))
        g = np.empty((len(pts), 2))
        step = self._step(r)
        with np.errstate(all="ignore"):
            for s in range(0, len(pts), step):
                sub = None if r is None else r[s : s + step]
                fv[s : s + step], g[s : s + step] = self._value_grad(pts[s : s + step], sub)
        return fv.reshape(shape), g.reshape((*shape, 2))

    def hessian(self, points) -> np.ndarray:
        """The 2x2 Hessian of the full-data loss: (..., 2, 2)."""
        pts, shape = _points(points)
        out = np.empty((len(pts), 2, 2))
        step = self._step(None)
        with np.errstate(all="ignore"):
            for s in range(0, len(pts), step):
                out[s : s + step] = self._hessian(pts[s : s + step])
        return out.reshape((*shape, 2, 2))

    def per_example_gradients(self, point) -> np.ndarray:
        """The gradient of each example's own loss at one point: (N, 2)."""
        p = np.asarray(point, dtype=np.float64).reshape(1, 2)
        rows = np.arange(self.n)[:, None]  # one "batch" of one example per row
        return self.gradient(np.repeat(p, self.n, 0), rows)

    def _value(self, pts, rows):
        return self._value_grad(pts, rows)[0]

    def _value_grad(self, pts, rows):
        raise NotImplementedError

    def _hessian(self, pts):
        raise NotImplementedError

    # -- for the data panel ---------------------------------------------------------------

    def predict(self, point, inputs) -> np.ndarray:
        """The model at coordinates ``point`` applied to ``inputs`` (K, d): the line's
        value, or the probability of label 1."""
        raise NotImplementedError

    def describe(self, point) -> str:
        """The fitted model at ``point`` as a short formula."""
        raise NotImplementedError

    # -- domain ---------------------------------------------------------------------------

    def _square_domain(self, centre: np.ndarray, also=(0.0, 0.0)) -> tuple:
        """A square box around ``centre`` that also holds ``also``, with a margin."""
        reach = np.abs(np.asarray(also) - centre).max()
        half = max(1.25 * reach, 0.5 * np.abs(centre).max(), 1.0)
        return tuple((float(c - half), float(c + half)) for c in centre)


class _OneInput(ModelLoss):
    """Shared by line and logistic: one input column ``x``, coordinates ``(w, b)``."""

    def __init__(self, data: Dataset) -> None:
        super().__init__(data)
        if data.X.shape[1] != 1:
            raise UsageError(f"the {self.kind} model needs one input column")
        self.x = data.X[:, 0].copy()
        self.y = data.y.copy()
        self.centre = self._fit()
        self.domain = self._square_domain(self.centre)

    def _batch(self, rows):
        return self.x[rows], self.y[rows]

    def _fit(self) -> np.ndarray:
        raise NotImplementedError


class LineLoss(_OneInput):
    """Mean squared error of the line ``w·x + b`` (torch ``MSELoss``, mean)."""

    kind = "line"

    def __init__(self, data: Dataset) -> None:
        x, y = data.X[:, 0], data.y
        self.mx, self.my = float(x.mean()), float(y.mean())
        dx, dy = x - self.mx, y - self.my
        self.vxx = float(np.mean(dx * dx))
        self.cxy = float(np.mean(dx * dy))
        self.vyy = float(np.mean(dy * dy))
        super().__init__(data)

    def _fit(self):
        w = self.cxy / self.vxx if self.vxx > 0 else 0.0
        return np.array([w, self.my - w * self.mx])

    def _value_grad(self, pts, rows):
        w, b = pts[:, 0], pts[:, 1]
        if rows is None:
            # centred moments: exact, no cancellation between large raw moments
            offset = w * self.mx + b - self.my
            fv = w * w * self.vxx - 2 * w * self.cxy + self.vyy + offset * offset
            gw = 2 * (w * self.vxx - self.cxy) + 2 * offset * self.mx
            return fv, np.column_stack([gw, 2 * offset])
        xb, yb = self._batch(rows)
        e = w[:, None] * xb + b[:, None] - yb
        fv = np.mean(e * e, axis=1)
        return fv, np.column_stack([2 * np.mean(e * xb, axis=1), 2 * np.mean(e, axis=1)])

    def _hessian(self, pts):
        sxx = self.vxx + self.mx * self.mx
        h = np.array([[2 * sxx, 2 * self.mx], [2 * self.mx, 2.0]])
        return np.broadcast_to(h, (len(pts), 2, 2)).copy()

    def predict(self, point, inputs):
        w, b = np.asarray(point, dtype=np.float64)
        return w * np.asarray(inputs, dtype=np.float64).reshape(-1) + b

    def describe(self, point):
        w, b = (float(v) for v in point)
        return f"y = {w:.4g}·x {'+' if b >= 0 else '-'} {abs(b):.4g}"


class LogisticLoss(_OneInput):
    """Mean binary cross-entropy of ``σ(w·x + b)`` (torch ``BCEWithLogitsLoss``, mean)."""

    kind = "logistic"

    def __init__(self, data: Dataset) -> None:
        bad = np.flatnonzero((data.y != 0) & (data.y != 1))
        if bad.size:
            raise UsageError(f"labels must be 0 or 1; example {bad[0] + 1} has {data.y[bad[0]]:g}")
        self._sign = 1.0 - 2.0 * data.y
        super().__init__(data)

    def _fit(self):
        # Newton's method from 0 on the convex loss; separable data has no minimum, so
        # stop where the loss stops improving and keep the last finite point.
        p = np.zeros(2)
        for _ in range(100):
            fv, g = self.value_and_gradient(p)
            h = self.hessian(p) + 1e-12 * np.eye(2)
            try:
                step = np.linalg.solve(h, g)
            except np.linalg.LinAlgError:
                break
            t = 1.0
            while t > 1e-8 and not self.f(p - t * step) <= fv:
                t *= 0.5
            new = p - t * step
            if not np.isfinite(new).all() or np.abs(new).max() > 1e6:
                break
            p = new
            if np.abs(t * step).max() <= 1e-13 * max(1.0, np.abs(p).max()):
                break
        return p

    def _value(self, pts, rows):
        return self._forward(pts, rows)[0]  # the loss alone: no gradient to throw away

    def _forward(self, pts, rows):
        # The hot path of training: one exp and one log1p per example, no masks, in place.
        # softplus(z) - label·z = relu((1 - 2·label)·z) + log1p(e) with e = exp(-|z|)
        # (exact for 0/1 labels); σ(z) = max(e, [z >= 0]) / (1 + e).
        if rows is None:
            xb, yb, sgn = self.x, self.y, self._sign
        else:
            xb, yb = self._batch(rows)
            sgn = self._sign[rows]
        n = xb.shape[-1]
        z = np.multiply(pts[:, 0:1], xb)
        z += pts[:, 1:2]
        e = np.abs(z)
        np.negative(e, out=e)
        np.exp(e, out=e)
        t = np.log1p(e)
        fv = t.sum(1)
        np.multiply(z, sgn, out=t)
        np.maximum(t, 0.0, out=t)
        fv += t.sum(1)
        fv /= n
        return fv, z, e, t, xb, yb, n

    def _value_grad(self, pts, rows):
        fv, z, e, t, xb, yb, n = self._forward(pts, rows)
        np.add(e, 1.0, out=t)
        np.reciprocal(t, out=t)
        np.maximum(e, z >= 0, out=e)
        t *= e  # σ(z)
        t -= yb  # dℓ/dz per example
        gw = t @ xb if rows is None else np.einsum("mn,mn->m", t, xb)
        return fv, np.column_stack([gw / n, t.sum(1) / n])

    def _hessian(self, pts):
        z = pts[:, 0:1] * self.x[None, :] + pts[:, 1:2]
        s = _sigmoid_slope(z)
        hxx = np.mean(s * self.x * self.x, axis=1)
        hxb = np.mean(s * self.x, axis=1)
        hbb = np.mean(s, axis=1)
        return np.stack([np.stack([hxx, hxb], -1), np.stack([hxb, hbb], -1)], -2)

    def predict(self, point, inputs):
        w, b = np.asarray(point, dtype=np.float64)
        with np.errstate(all="ignore"):
            return sigmoid(w * np.asarray(inputs, dtype=np.float64).reshape(-1) + b)

    def describe(self, point):
        w, b = (float(v) for v in point)
        return f"p = σ({w:.4g}·x {'+' if b >= 0 else '-'} {abs(b):.4g})"


# -- the MLP ------------------------------------------------------------------------------

ACTIVATIONS = ("tanh", "relu")


def _act(name: str, z: np.ndarray, order: int = 2):
    """Activation and, up to ``order``, its first and second derivatives (else None).

    Overwrites ``z`` (the pre-activations are not needed after)."""
    if name == "tanh":
        a = np.tanh(z, out=z)
        if order == 0:
            return a, None, None
        d1 = a * a
        np.subtract(1.0, d1, out=d1)
        return a, d1, (-2.0 * a * d1 if order > 1 else None)
    d1 = (z > 0).astype(np.float64) if order else None
    a = np.maximum(z, 0.0, out=z)
    return a, d1, (np.zeros_like(z) if order > 1 else None)


@dataclass(eq=False)
class MLP:
    """Two inputs, ``H`` hidden units, one logit: ``z = w2 · act(W1 x + b1) + b2``.

    Parameters ``W1`` (H, 2), ``b1`` (H,), ``w2`` (H,), ``b2`` (a float); the probability
    of label 1 is ``σ(z)`` and the loss the mean binary cross-entropy with logits. The
    flat parameter vector (:meth:`flat`) is ``W1`` row by row, then ``b1``, ``w2``, ``b2``.
    """

    W1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    activation: str = "tanh"

    @classmethod
    def initial(cls, hidden: int = 16, activation: str = "tanh", seed: int = 0) -> MLP:
        """torch ``nn.Linear``'s default init, seeded: U(-1/√fan_in, 1/√fan_in)."""
        if activation not in ACTIVATIONS:
            raise UsageError(f"activation must be tanh or relu, got {activation!r}")
        if not (isinstance(hidden, int) and 1 <= hidden <= 256):
            raise UsageError(f"hidden units must be 1..256, got {hidden!r}")
        rng = np.random.default_rng(seed)
        k1, k2 = 1 / math.sqrt(2), 1 / math.sqrt(hidden)
        return cls(
            rng.uniform(-k1, k1, (hidden, 2)),
            rng.uniform(-k1, k1, hidden),
            rng.uniform(-k2, k2, hidden),
            float(rng.uniform(-k2, k2)),
            activation,
        )

    @property
    def hidden(self) -> int:
        return len(self.b1)

    def flat(self) -> np.ndarray:
        """All parameters as one vector (W1 rows, b1, w2, b2)."""
        return np.concatenate([self.W1.ravel(), self.b1, self.w2, [self.b2]])

    def with_flat(self, theta) -> MLP:
        """The same architecture with parameters from a flat vector."""
        h = self.hidden
        t = np.asarray(theta, dtype=np.float64)
        return MLP(
            t[: 2 * h].reshape(h, 2).copy(),
            t[2 * h : 3 * h].copy(),
            t[3 * h : 4 * h].copy(),
            float(t[4 * h]),
            self.activation,
        )

    def logits(self, xs) -> np.ndarray:
        """The output before the sigmoid for inputs ``xs`` (K, 2): (K,)."""
        a, _, _ = _act(self.activation, np.asarray(xs, dtype=np.float64) @ self.W1.T + self.b1)
        return a @ self.w2 + self.b2

    def predict_proba(self, xs) -> np.ndarray:
        """The probability of label 1: (K,)."""
        with np.errstate(all="ignore"):
            return sigmoid(self.logits(xs))

    def loss(self, xs, y) -> float:
        """Mean binary cross-entropy with logits."""
        z = self.logits(xs)
        return float(np.mean(softplus(z) - np.asarray(y) * z))

    def _backward(self, xs, y):
        xs = np.asarray(xs, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        z1 = xs @ self.W1.T + self.b1
        a, d1, _ = _act(self.activation, z1)
        z = a @ self.w2 + self.b2
        r = sigmoid(z) - y  # dℓ_i/dz_i for each example's own loss
        dz1 = (r[:, None] * self.w2[None, :]) * d1  # dℓ_i/dz1_i
        return xs, z, r, a, dz1

    def gradients(self, xs, y) -> dict[str, np.ndarray | float]:
        """Backpropagation: the gradient of the mean loss for each parameter (by name)."""
        xs, _, r, a, dz1 = self._backward(xs, y)
        n = len(r)
        return {
            "W1": dz1.T @ xs / n,
            "b1": dz1.sum(0) / n,
            "w2": a.T @ r / n,
            "b2": float(r.sum() / n),
        }

    def flat_gradient(self, xs, y) -> np.ndarray:
        """The gradient of the mean loss as one vector in :meth:`flat`'s order."""
        g = self.gradients(xs, y)
        return np.concatenate([g["W1"].ravel(), g["b1"], g["w2"], [g["b2"]]])

    def input_gradient(self, xs, y) -> np.ndarray:
        """The gradient of each example's *own* loss with respect to its inputs: (K, 2).

        ``∂ℓ_i/∂x_i = (σ(z_i) - y_i) · ((w2 ∘ act'(W1 x_i + b1)) @ W1)``, not divided by
        the number of examples (the gradient of the mean loss with respect to ``x_i`` is
        this over K). An adversarial step (FGSM) moves ``x_i`` by ``ε·sign`` of it.
        """
        _, _, _, _, dz1 = self._backward(xs, y)
        return dz1 @ self.W1

    def train(self, xs, y, steps: int = 2000, lr: float = 0.02) -> MLP:
        """A copy trained by full-batch Adam (torch's defaults but ``lr``): deterministic."""
        # the weights as one ball of len(theta) coordinates, stepped by the explorer's Adam
        theta = self.flat()[None, :].copy()
        adam = make_optimizer("adam", lr=lr)
        net = self
        for _ in range(int(steps)):
            adam.step_(theta, net.flat_gradient(xs, y)[None, :])
            net = self.with_flat(theta[0].copy())
        return net


_WEIGHT = re.compile(r"^\s*(w1|b1|w2|b2)\s*(?:\[\s*(\d+)\s*(?:,\s*(\d+)\s*)?\])?\s*$", re.I)


def weight_index(name: str, hidden: int) -> int:
    """The flat index of a weight named ``w1[h,j]``, ``b1[h]``, ``w2[h]`` or ``b2``."""
    m = _WEIGHT.match(name)
    if not m:
        raise UsageError(f"a weight is w1[UNIT,INPUT], b1[UNIT], w2[UNIT] or b2, got {name!r}")
    kind, i, j = m.group(1).lower(), m.group(2), m.group(3)
    need = {"w1": 2, "b1": 1, "w2": 1, "b2": 0}[kind]
    got = (i is not None) + (j is not None)
    if got != need:
        raise UsageError(f"weight {name!r}: {kind} takes {need} index(es)")
    if i is not None and not int(i) < hidden:
        raise UsageError(f"weight {name!r}: units are 0..{hidden - 1}")
    if j is not None and not int(j) < 2:
        raise UsageError(f"weight {name!r}: inputs are 0 and 1")
    if kind == "w1":
        return 2 * int(i) + int(j)
    if kind == "b1":
        return 2 * hidden + int(i)
    if kind == "w2":
        return 3 * hidden + int(i)
    return 4 * hidden


def filter_normalized(direction: np.ndarray, net: MLP) -> np.ndarray:
    """``direction`` (flat) with each filter scaled to the norm of ``net``'s same filter
    and the biases zeroed (Li et al. 2018). Filters: the rows of W1 (one per hidden
    unit) and w2 (the output unit's single row)."""
    d = net.with_flat(direction)
    row = np.linalg.norm(d.W1, axis=1, keepdims=True)
    w1 = d.W1 / np.where(row > 0, row, 1.0) * np.linalg.norm(net.W1, axis=1, keepdims=True)
    n2 = np.linalg.norm(d.w2)
    w2 = d.w2 / (n2 if n2 > 0 else 1.0) * np.linalg.norm(net.w2)
    return MLP(w1, np.zeros_like(d.b1), w2, 0.0, net.activation).flat()


class MLPLoss(ModelLoss):
    """The MLP's loss on the plane ``θ0 + α·d + β·e`` (see the module docstring).

    Parameters
    ----------
    data : Dataset
        Columns ``x1, x2, label``.
    net : MLP, optional
        The network whose weights the plane goes through (default: one trained here).
    hidden, activation, seed, train_steps
        The network to train when ``net`` is None (seed: init and directions).
    directions : ``"filter"`` or ``"random"``
        Filter-normalized random directions (Li et al.), or the raw Gaussian ones.
    weights : (str, str), optional
        Two weights by name (``w1[3,0]``, ``b1[2]``, ``w2[5]``, ``b2``) as the
        coordinates instead of a plane.
    """

    kind = "mlp"

    @property
    def _width(self) -> int:
        return self.net.hidden

    def __init__(
        self,
        data: Dataset,
        net: MLP | None = None,
        *,
        hidden: int = 16,
        activation: str = "tanh",
        seed: int = 0,
        train_steps: int = 2000,
        directions: str = "filter",
        weights: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(data)
        if data.X.shape[1] != 2:
            raise UsageError("the mlp model needs two input columns, x1 and x2")
        self.X, self.y = data.X, data.y
        if net is None:
            net = _trained(data, hidden, activation, seed, train_steps)
        self.net = net
        theta = net.flat()
        if weights is not None:
            if len(weights) != 2:
                raise UsageError("give two weights, e.g. w1[0,0] and w2[0]")
            i, j = (weight_index(w, net.hidden) for w in weights)
            if i == j:
                raise UsageError(f"the two weights must differ, got {weights[0]!r} twice")
            self.d = np.zeros_like(theta)
            self.e = np.zeros_like(theta)
            self.d[i] = self.e[j] = 1.0
            self.origin = theta.copy()
            self.origin[[i, j]] = 0.0
            self.centre = theta[[i, j]].copy()
            self.axes = tuple(str(w).strip() for w in weights)  # type: ignore[assignment]
            self.domain = tuple(
                (float(c - h), float(c + h))
                for c, h in zip(self.centre, np.maximum(2.0, 2 * np.abs(self.centre)), strict=True)
            )
        else:
            if directions not in ("filter", "random"):
                raise UsageError(f"directions must be filter or random, got {directions!r}")
            rng = np.random.default_rng([seed, 1])
            d, e = rng.normal(size=(2, len(theta)))
            if directions == "filter":
                d, e = filter_normalized(d, net), filter_normalized(e, net)
            self.d, self.e, self.origin = d, e, theta
            self.centre = np.zeros(2)
            self.axes = ("α", "β")
            self.domain = ((-1.0, 1.0), (-1.0, 1.0))
        self._prepare()

    def _prepare(self) -> None:
        # The hidden pre-activations are affine in (α, β): p0 + α p1 + β p2 for each example
        o, d, e = (self.net.with_flat(v) for v in (self.origin, self.d, self.e))
        self._P = [self.X @ m.W1.T + m.b1 for m in (o, d, e)]  # each (N, H)
        self._w2 = [o.w2, d.w2, e.w2]
        self._b2 = [o.b2, d.b2, e.b2]

    def theta(self, point) -> np.ndarray:
        """The flat parameters at coordinates ``point``."""
        a, b = np.asarray(point, dtype=np.float64)
        return self.origin + a * self.d + b * self.e

    def net_at(self, point) -> MLP:
        """The network at coordinates ``point``."""
        return self.net.with_flat(self.theta(point))

    def _forward(self, pts, rows, order: int):
        a = pts[:, 0][:, None, None]
        b = pts[:, 1][:, None, None]
        p0, p1, p2 = self._P
        if rows is None:
            y = self.y[None, :]
        else:
            p0, p1, p2 = p0[rows], p1[rows], p2[rows]
            y = self.y[rows]
        z1 = a * p1  # (M, n, H), then the activations in place
        z1 += p0
        z1 += b * p2
        act, d1, d2 = _act(self.net.activation, z1, order)
        w2 = self._w2[0] + a * self._w2[1] + b * self._w2[2]  # (M, 1, H)
        b2 = self._b2[0] + pts[:, 0:1] * self._b2[1] + pts[:, 1:2] * self._b2[2]  # (M, 1)
        z = (act @ np.swapaxes(w2, 1, 2))[..., 0] + b2
        return z, y, act, d1, d2, w2, p1, p2

    def _value(self, pts, rows):
        z, y = self._forward(pts, rows, 0)[:2]
        return np.mean(softplus(z) - y * z, axis=1)

    def _along(self, gw, p):
        """Σ_h gw[m, n, h] p[n, h] (or p[m, n, h] for per-point batches)."""
        if p.ndim == 2:
            return np.einsum("mnh,nh->mn", gw, p)
        return np.einsum("mnh,mnh->mn", gw, p)

    def _value_grad(self, pts, rows):
        z, y, act, d1, _, w2, p1, p2 = self._forward(pts, rows, 1)
        fv = np.mean(softplus(z) - y * z, axis=1)
        r = sigmoid(z) - y  # (M, n)
        gw = d1
        gw *= w2  # dz/dz1 per unit: (M, n, H)
        za = act @ self._w2[1] + self._along(gw, p1) + self._b2[1]
        zb = act @ self._w2[2] + self._along(gw, p2) + self._b2[2]
        return fv, np.column_stack([np.mean(r * za, 1), np.mean(r * zb, 1)])

    def _hessian(self, pts):
        z, y, act, d1, d2, w2, p1, p2 = self._forward(pts, None, 2)
        r = sigmoid(z) - y
        s = _sigmoid_slope(z)
        gw = w2 * d1
        u, v = self._w2[1], self._w2[2]
        za = act @ u + np.sum(gw * p1, -1) + self._b2[1]
        zb = act @ v + np.sum(gw * p2, -1) + self._b2[2]
        zaa = 2 * np.sum(d1 * p1 * u, -1) + np.sum(w2 * d2 * p1 * p1, -1)
        zbb = 2 * np.sum(d1 * p2 * v, -1) + np.sum(w2 * d2 * p2 * p2, -1)
        zab = np.sum(d1 * (p2 * u + p1 * v), -1) + np.sum(w2 * d2 * p1 * p2, -1)
        haa = np.mean(s * za * za + r * zaa, 1)
        hbb = np.mean(s * zb * zb + r * zbb, 1)
        hab = np.mean(s * za * zb + r * zab, 1)
        return np.stack([np.stack([haa, hab], -1), np.stack([hab, hbb], -1)], -2)

    def predict(self, point, inputs):
        return self.net_at(point).predict_proba(inputs)

    def describe(self, point):
        a, b = (float(v) for v in point)
        return f"{self.axes[0]} = {a:.4g}, {self.axes[1]} = {b:.4g}"


_TRAINED: dict[tuple, MLP] = {}


def _trained(data: Dataset, hidden: int, activation: str, seed: int, steps: int) -> MLP:
    key = (data.X.tobytes(), data.y.tobytes(), hidden, activation, seed, steps)
    if key not in _TRAINED:
        if len(_TRAINED) > 8:
            _TRAINED.clear()
        _TRAINED[key] = MLP.initial(hidden, activation, seed).train(data.X, data.y, steps)
    return _TRAINED[key]


def make_model(kind: str, data=None, *, inputs: str = "raw", **options) -> ModelLoss:
    """A :class:`ModelLoss` by name on ``data`` (a Dataset, a bundled name, a CSV path or
    None for the model's default set). ``inputs`` centres or standardizes the inputs
    first (see :meth:`Dataset.transformed`); ``options`` go to :class:`MLPLoss`."""
    if kind not in MODELS:
        raise UsageError(f"unknown model {kind!r}; models: {', '.join(MODELS)}")
    dataset = load_data(data, kind).transformed(inputs)
    if kind != "mlp" and options:
        raise UsageError(f"the {kind} model takes no {', '.join(sorted(options))}")
    if kind == "line":
        return LineLoss(dataset)
    if kind == "logistic":
        return LogisticLoss(dataset)
    return MLPLoss(dataset, **options)
