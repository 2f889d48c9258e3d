"""Data for the model surfaces: CSV files with a header, and a few bundled sets.

Each model reads its own columns, by name, from the header (case and surrounding spaces
ignored, other columns ignored):

========  ===============  ============================================
model     columns          meaning
========  ===============  ============================================
line      ``x,y``          one input, one real target
logistic  ``x,label``      one input, a 0/1 label
mlp       ``x1,x2,label``  two inputs, a 0/1 label
========  ===============  ============================================

Bundled sets (by name instead of a file):

``diabetes`` (line)
    442 patients: body-mass index (kg/m²) against a measure of disease progression one
    year later. Efron, Hastie, Johnstone and Tibshirani (2004), "Least Angle Regression";
    the raw values scikit-learn ships as ``load_diabetes(scaled=False)``.
``breast_cancer`` (logistic)
    569 tumours of the Wisconsin Diagnostic Breast Cancer set (Wolberg, Street and
    Mangasarian): the mean radius of the cell nuclei against the diagnosis, ``label`` 1
    for malignant (212) and 0 for benign (357); scikit-learn's ``load_breast_cancer``
    column ``mean radius`` with its target flipped (there 0 is malignant).
``moons`` (mlp)
    Two interleaving half circles, 200 points with Gaussian noise 0.2, seeded: the same
    construction as scikit-learn's ``make_moons``.

Bad data never gets past :func:`load_csv`: every problem is a one-line
:class:`~gradient_explorer.errors.UsageError` naming the row (the data row, counted from
1, and the line of the file) and the column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from gradient_explorer.errors import UsageError

__all__ = [
    "BUNDLED",
    "COLUMNS",
    "DEFAULT_DATA",
    "Dataset",
    "bundled",
    "load_csv",
    "load_data",
    "make_moons",
]

#: The header columns each model reads: inputs first, the target last.
COLUMNS = {"line": ("x", "y"), "logistic": ("x", "label"), "mlp": ("x1", "x2", "label")}
#: The most data rows a file may have (each step of each ball reads them all).
MAX_ROWS = 1_000_000
#: The bundled set each model uses when no data is given.
DEFAULT_DATA = {"line": "diabetes", "logistic": "breast_cancer", "mlp": "moons"}
#: Bundled names and the model each is for.
BUNDLED = {"diabetes": "line", "breast_cancer": "logistic", "moons": "mlp"}
_TITLES = {
    "diabetes": "diabetes: body-mass index (x) against disease progression (y)",
    "breast_cancer": "breast cancer: mean nucleus radius (x) against malignant (label 1)",
    "moons": "two moons (200 points, noise 0.2)",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``X`` ``(N, d)`` and targets ``y`` ``(N,)``, float64, all finite.

    ``columns`` are the header names (inputs then target); ``name`` the bundled name or
    the file's name; ``title`` a sentence for the window.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    title: str = ""

    @property
    def n(self) -> int:
        """Number of examples."""
        return len(self.y)

    def transformed(self, inputs: str) -> Dataset:
        """The inputs ``raw``, ``centred`` (mean 0) or ``standardized`` (mean 0, std 1).

        Centring the inputs makes the line model's bowl axis-aligned; standardizing makes
        it round (its Hessian becomes 2·I): the learner can see conditioning come from
        the data.
        """
        if inputs == "raw":
            return self
        if inputs not in ("centred", "standardized"):
            raise UsageError(f"inputs must be raw, centred or standardized, got {inputs!r}")
        xs = self.X - self.X.mean(axis=0)
        if inputs == "standardized":
            std = xs.std(axis=0)
            xs = xs / np.where(std > 0, std, 1.0)
        return Dataset(self.name, xs, self.y, self.columns, f"{self.title} ({inputs} inputs)")


def make_moons(n: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two interleaving half circles, labels 0 (upper) and 1 (lower), shuffled, seeded."""
    if not (isinstance(n, int) and n >= 2):
        raise UsageError(f"moons needs at least 2 points, got {n!r}")
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, math.pi, n_out)
    t_in = np.linspace(0, math.pi, n_in)
    xs = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
        ]
    )
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    xs = xs + rng.normal(scale=noise, size=xs.shape)
    order = rng.permutation(n)
    return Dataset("moons", xs[order], y[order], COLUMNS["mlp"], _TITLES["moons"])


def bundled(name: str) -> Dataset:
    """A bundled set by name (see the module docstring)."""
    if name not in BUNDLED:
        raise UsageError(f"no bundled data {name!r}; bundled: {', '.join(BUNDLED)}")
    if name == "moons":
        return make_moons()
    model = BUNDLED[name]
    text = resources.files("gradient_explorer.surfaces").joinpath(f"data/{name}.csv").read_text()
    data = _parse(text.splitlines(), model, f"{name}.csv")
    return Dataset(name, data.X, data.y, data.columns, _TITLES[name])


def load_data(source: str | Dataset | None, model: str) -> Dataset:
    """A dataset for ``model``: a :class:`Dataset`, a bundled name, a CSV path, or None
    (the model's default set). A bundled set made for another model is refused."""
    if model not in COLUMNS:
        raise UsageError(f"unknown model {model!r}; models: {', '.join(COLUMNS)}")
    if isinstance(source, Dataset):
        _check_shape(source, model)
        return source
    if source is None:
        source = DEFAULT_DATA[model]
    if not isinstance(source, str | Path):
        raise UsageError(f"data must be a file name or a bundled name, got {source!r}")
    text = str(source)
    if text in BUNDLED:
        if BUNDLED[text] != model:
            wanted = ", ".join(k for k, v in BUNDLED.items() if v == model)
            raise UsageError(
                f"bundled data {text!r} is for the {BUNDLED[text]} model; for {model}: {wanted}"
            )
        return bundled(text)
    return load_csv(text, model)


def _check_shape(data: Dataset, model: str) -> None:
    d = len(COLUMNS[model]) - 1
    if data.X.ndim != 2 or data.X.shape[1] != d or data.y.shape != (data.X.shape[0],):
        raise UsageError(f"the {model} model needs {d} input column(s) and one target")


def load_csv(path: str | Path, model: str) -> Dataset:
    """Read a CSV file with a header for ``model`` (columns: :data:`COLUMNS`)."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise UsageError(
            f"no data file {str(path)!r} (bundled sets: {', '.join(BUNDLED)})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read data file {str(path)!r}: {exc}") from None
    data = _parse(lines, model, p.name)
    return Dataset(p.name, data.X, data.y, data.columns, f"{p.name} ({data.n} rows)")


def _parse(lines: list[str], model: str, label: str) -> Dataset:
    wanted = COLUMNS[model]
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise UsageError(f"{label} is empty; the {model} model needs a header {','.join(wanted)}")
    header_line, header_text = numbered[0]
    try:
        header = [h.strip().lower() for h in next(csv.reader([header_text]))]
    except csv.Error as exc:
        raise UsageError(f"{label}: line {header_line}: {exc}") from None
    missing = [c for c in wanted if c not in header]
    if missing:
        raise UsageError(
            f"{label}: no column {missing[0]!r} in the header ({','.join(header)}); "
            f"the {model} model needs {','.join(wanted)}"
        )
    where = [header.index(c) for c in wanted]
    rows = numbered[1:]
    if len(rows) > MAX_ROWS:
        raise UsageError(f"{label} has {len(rows)} data rows; at most {MAX_ROWS:,} are read")
    if len(rows) < 2:
        raise UsageError(
            f"{label} has {len(rows)} data row{'s' if len(rows) != 1 else ''}; "
            f"the {model} model needs at least 2"
        )
    values = np.empty((len(rows), len(wanted)))
    for k, (line_no, text) in enumerate(rows):
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            raise UsageError(f"{label}: row {k + 1} (line {line_no}): {exc}") from None
        if len(cells) != len(header):
            raise UsageError(
                f"{label}: row {k + 1} (line {line_no}) has {len(cells)} value"
                f"{'s' if len(cells) != 1 else ''} but the header has {len(header)} columns"
            )
        for j, col in enumerate(where):
            cell = cells[col].strip()
            name = wanted[j]
            try:
                v = float(cell)
            except ValueError:
                raise UsageError(
                    f"{label}: row {k + 1} (line {line_no}), column {name!r}: "
                    f"{cell!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise UsageError(
                    f"{label}: row {k + 1} (line {line_no}), column {name!r}: "
                    f"{cell!r} is not a finite number"
                )
            if name == "label" and v not in (0.0, 1.0):
                raise UsageError(
                    f"{label}: row {k + 1} (line {line_no}), column 'label': "
                    f"labels must be 0 or 1, got {cell!r}"
                )
            values[k, j] = v
    return Dataset(label, values[:, :-1].copy(), values[:, -1].copy(), wanted, label)
