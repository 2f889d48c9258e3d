"""Small classifiers in float64 numpy with the gradient of the loss on the input.

Two models, one contract. ``SoftmaxRegression`` (multinomial logistic regression,
``logits = x W + b``) and ``MLPClassifier`` (one tanh hidden layer, ``logits =
tanh(x W1 + b1) W2 + b2``). For an input row x with true class y the loss is the exact
cross-entropy ``L(x, y) = logsumexp(logits) - logits[y]``; :meth:`input_gradient` gives
``dL/dx`` for each row (the adversary's gradient: the pixels move, the weights do not),
and training uses the gradient on the weights, both written out by hand (tests hold them
to torch autograd).

Training is full batch and deterministic: L-BFGS (scipy) on the mean cross-entropy plus
``lam/2 * |weights|^2`` (biases not penalised), from a seeded start. ``lam = 1/n_train``
for the logistic model is scikit-learn's ``LogisticRegression(C=1)`` objective.

The digits are scikit-learn's bundled 8x8 handwritten digits (1797 images, no
download), pixels scaled from 0..16 to [0, 1], split 70/30 stratified by class with a
seeded permutation (:func:`digits_split`). Trained models are cached per process.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import write_cache

MODELS = ("logistic", "mlp")
DATASETS = ("digits",)
DIGITS_SEED = 0
DIGITS_TEST_FRACTION = 0.3


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Split:
    """A labelled train/test split: rows of features in [0, 1] and integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, ...] | None = None  # (8, 8) for digits


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: each class shuffled with one seeded generator and cut at
    ``round(test_fraction * n_class)``, so every class keeps its share in both halves."""
    if not 0.0 < test_fraction < 1.0:
        raise UsageError(f"test fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(test_fraction * len(idx))
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


#: The 8x8 digits, bundled (scikit-learn's ``digits.csv.gz``: 1797 rows of 64 pixels in
#: 0..16 and the label; UCI's "Optical Recognition of Handwritten Digits", CC BY 4.0; see
#: surfaces/data/README.md), so the attack needs no scikit-learn at run time.
DIGITS_FILE = Path(__file__).resolve().parent / "data" / "digits.csv.gz"


def _load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(DIGITS_FILE, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the bundled digits ({DIGITS_FILE}): {exc}") from None
    if table.shape != (1797, 65):
        raise UsageError(f"the bundled digits file {DIGITS_FILE} is damaged: reinstall")
    return table[:, :64] / 16.0, table[:, 64].astype(int)


@functools.cache
def digits_split(seed: int = DIGITS_SEED, test_fraction: float = DIGITS_TEST_FRACTION) -> Split:
    """scikit-learn's 8x8 digits, pixels in [0, 1], a seeded stratified 70/30 split."""
    x, y = _load_digits_arrays()
    tr, te = stratified_split(y, test_fraction, seed)
    for a in (x, y):
        a.setflags(write=False)
    return Split(x[tr], y[tr], x[te], y[te], n_classes=10, image_shape=(8, 8))


# --------------------------------------------------------------------------- models


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):  # exp of a very negative logit is 0, as it should be
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _as_rows(x: np.ndarray, n_features: int) -> tuple[np.ndarray, bool]:
    x = np.asarray(x, dtype=np.float64)
    single = x.ndim == 1
    x2 = x[None, :] if single else x
    if x2.ndim != 2 or x2.shape[1] != n_features:
        raise UsageError(f"expected inputs with {n_features} features, got shape {x.shape}")
    return x2, single


def _as_labels(y, n: int, n_classes: int) -> np.ndarray:
    y = np.broadcast_to(np.asarray(y, dtype=int), (n,))
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise UsageError(f"labels must be 0..{n_classes - 1}")
    return y


class Classifier:
    """Shared by both models: probabilities, loss, predictions, training.

    A subclass defines ``_forward(x) -> (logits, cache)``, ``_backward(cache, dlogits)
    -> (dx, dparams)`` and holds its weights in ``self.params`` (a list of arrays, the
    penalised ones named by ``self.penalised``)."""

    n_features: int
    n_classes: int
    params: list[np.ndarray]
    penalised: tuple[int, ...]

    # The subclasses' two passes.
    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        raise NotImplementedError

    def _backward(self, cache: tuple, dlogits: np.ndarray) -> tuple[np.ndarray, list]:
        raise NotImplementedError

    # Public, row-wise.
    def logits(self, x: np.ndarray) -> np.ndarray:
        x2, single = _as_rows(x, self.n_features)
        z = self._forward(x2)[0]
        return z[0] if single else z

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x2, single = _as_rows(x, self.n_features)
        with np.errstate(under="ignore"):
            p = np.exp(_log_softmax(self._forward(x2)[0]))
        return p[0] if single else p

    def predict(self, x: np.ndarray) -> np.ndarray:
        x2, single = _as_rows(x, self.n_features)
        c = self._forward(x2)[0].argmax(axis=1)
        return c[0] if single else c

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def loss(self, x: np.ndarray, y) -> np.ndarray | float:
        """Cross-entropy of each row against its label (a float for one row)."""
        return self.loss_and_input_gradient(x, y)[0]

    def input_gradient(self, x: np.ndarray, y) -> np.ndarray:
        """dL(x_i, y_i)/dx_i for each row: the direction that raises that row's loss."""
        return self.loss_and_input_gradient(x, y)[1]

    def loss_and_input_gradient(self, x: np.ndarray, y) -> tuple:
        x2, single = _as_rows(x, self.n_features)
        y2 = _as_labels(y, len(x2), self.n_classes)
        z, cache = self._forward(x2)
        logp = _log_softmax(z)
        rows = np.arange(len(x2))
        loss = -logp[rows, y2]
        with np.errstate(under="ignore"):
            dz = np.exp(logp)
        dz[rows, y2] -= 1.0
        dx = self._backward(cache, dz)[0]
        return (float(loss[0]), dx[0]) if single else (loss, dx)

    # Training.
    def objective(self, x: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, list]:
        """Mean cross-entropy + lam/2 * |penalised weights|^2, and its weight gradient."""
        z, cache = self._forward(x)
        logp = _log_softmax(z)
        rows = np.arange(len(x))
        value = -float(logp[rows, y].mean())
        with np.errstate(under="ignore"):
            dz = np.exp(logp)
        dz[rows, y] -= 1.0
        dz /= len(x)
        grads = self._backward(cache, dz)[1]
        for i in self.penalised:
            value += 0.5 * lam * float(np.sum(self.params[i] ** 2))
            grads[i] = grads[i] + lam * self.params[i]
        return value, grads

    def fit(self, x: np.ndarray, y: np.ndarray, lam: float, max_iter: int = 500) -> Classifier:
        """Full-batch L-BFGS from the current weights (deterministic)."""
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=int)
        shapes = [p.shape for p in self.params]
        sizes = [p.size for p in self.params]

        def unpack(theta: np.ndarray) -> list[np.ndarray]:
            out, at = [], 0
            for shape, size in zip(shapes, sizes, strict=True):
                out.append(theta[at : at + size].reshape(shape))
                at += size
            return out

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            self.params = unpack(theta)
            value, grads = self.objective(x, y, lam)
            return value, np.concatenate([g.ravel() for g in grads])

        theta0 = np.concatenate([p.ravel() for p in self.params])
        with np.errstate(under="ignore"):
            result = minimize(
                fun,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-9},
            )
        self.params = unpack(np.array(result.x, dtype=np.float64))
        return self


class SoftmaxRegression(Classifier):
    """Multinomial logistic regression: ``logits = x W + b``, W of shape (features, classes)."""

    name = "logistic"
    penalised = (0,)

    def __init__(self, n_features: int, n_classes: int):
        self.n_features, self.n_classes = n_features, n_classes
        self.params = [np.zeros((n_features, n_classes)), np.zeros(n_classes)]

    def _forward(self, x):
        w, b = self.params
        return x @ w + b, (x,)

    def _backward(self, cache, dz):
        (x,) = cache
        w, _ = self.params
        return dz @ w.T, [x.T @ dz, dz.sum(axis=0)]


class MLPClassifier(Classifier):
    """One hidden tanh layer: ``logits = tanh(x W1 + b1) W2 + b2``.

    tanh rather than ReLU keeps the loss smooth in x, so the input gradient exists
    everywhere (and the surface over the input plane has no creases)."""

    name = "mlp"
    penalised = (0, 2)

    def __init__(self, n_features: int, n_classes: int, n_hidden: int = 48, seed: int = 0):
        self.n_features, self.n_classes, self.n_hidden = n_features, n_classes, n_hidden
        rng = np.random.default_rng(seed)
        self.params = [
            rng.normal(0.0, 1.0 / np.sqrt(n_features), (n_features, n_hidden)),
            np.zeros(n_hidden),
            rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_classes)),
            np.zeros(n_classes),
        ]

    def _forward(self, x):
        w1, b1, w2, b2 = self.params
        h = np.tanh(x @ w1 + b1)
        return h @ w2 + b2, (x, h)

    def _backward(self, cache, dz):
        x, h = cache
        w1, _, w2, _ = self.params
        dh = dz @ w2.T
        da = dh * (1.0 - h * h)
        return da @ w1.T, [x.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0)]


# --------------------------------------------------------------------------- trained


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"unknown {kind} {value!r}; choose one of {', '.join(choices)}")
    return value


# How each model is trained: its constructor, its L2 weight (lam) given n_train, and the
# L-BFGS iterations (the logistic loss is convex and stops on its own well before 500;
# the MLP's test accuracy no longer moves after ~200).
_RECIPES: dict[str, tuple[Callable[[int, int], Classifier], Callable[[int], float], int]] = {
    "logistic": (lambda nf, nc: SoftmaxRegression(nf, nc), lambda n: 1.0 / n, 500),  # C = 1
    "mlp": (lambda nf, nc: MLPClassifier(nf, nc, n_hidden=48, seed=0), lambda n: 1e-3, 200),
}


# What the disk cache's key says about each recipe (the lambdas themselves have no text).
_RECIPES_SPEC = {
    "logistic": "softmax regression, lam=1/n, L-BFGS 500, ftol 1e-13, gtol 1e-9",
    "mlp": "tanh mlp 48 hidden seed 0, lam=1e-3, L-BFGS 200, ftol 1e-13, gtol 1e-9",
}


def train(model: str, split: Split) -> Classifier:
    """A freshly trained model on ``split``'s training half."""
    make, lam, iters = _RECIPES[check_choice("model", model, MODELS)]
    clf = make(split.x_train.shape[1], split.n_classes)
    return clf.fit(split.x_train, split.y_train, lam(len(split.x_train)), max_iter=iters)


#: Bump when training changes, so weights cached on disk by an older version are not used.
RECIPE_VERSION = 1


def cache_dir() -> Path | None:
    """Where trained weights are kept between runs: $GRADIENT_EXPLORER_CACHE, else
    $XDG_CACHE_HOME/gradient-explorer, else ~/.cache/gradient-explorer; None when
    $GRADIENT_EXPLORER_CACHE is "off"."""
    chosen = os.environ.get("GRADIENT_EXPLORER_CACHE")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gradient-explorer"


def _cache_path(model: str, split: Split, folder: Path) -> Path:
    h = hashlib.sha256()
    for part in (model, repr(_RECIPES_SPEC[model]), str(RECIPE_VERSION)):
        h.update(part.encode())
    for a in (split.x_train, split.y_train):
        h.update(np.ascontiguousarray(a).tobytes())
    return folder / f"classifier-{model}-{h.hexdigest()[:20]}.npz"


def load_or_train(model: str, split: Split, folder: Path | None) -> Classifier:
    """Weights from ``folder`` when a file there matches this model, data and recipe and
    holds finite arrays of the right shapes; else trained, and saved there (atomically;
    a folder that cannot be written only costs the saving)."""
    make, _, _ = _RECIPES[check_choice("model", model, MODELS)]
    if folder is None:
        return train(model, split)
    path = _cache_path(model, split, folder)
    clf = make(split.x_train.shape[1], split.n_classes)
    try:
        with np.load(path, allow_pickle=False) as saved:
            params = [np.asarray(saved[f"p{i}"], dtype=np.float64) for i in range(len(clf.params))]
        if all(
            p.shape == q.shape and np.all(np.isfinite(p))
            for p, q in zip(params, clf.params, strict=True)
        ):
            clf.params = params
            return clf
    except (OSError, KeyError, ValueError):
        pass  # missing, unreadable or not ours: train
    clf = train(model, split)
    buffer = io.BytesIO()
    np.savez(buffer, **{f"p{i}": p for i, p in enumerate(clf.params)})
    write_cache(path, buffer.getvalue())  # not written: trained again next time
    return clf


@functools.cache
def trained_classifier(model: str, dataset: str = "digits") -> Classifier:
    """The model trained on the dataset's training half: once per process, and kept on
    disk in :func:`cache_dir` between runs."""
    check_choice("dataset", dataset, DATASETS)
    check_choice("model", model, MODELS)
    return load_or_train(model, digits_split(), cache_dir())
