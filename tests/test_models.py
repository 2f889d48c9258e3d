"""Model losses as surfaces: torch autograd agreement, filter normalization, data files."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces.datasets import (
    BUNDLED,
    Dataset,
    bundled,
    load_csv,
    load_data,
    make_moons,
)
from gradient_explorer.surfaces.models import (
    MLP,
    LineLoss,
    LogisticLoss,
    MLPLoss,
    filter_normalized,
    make_model,
    weight_index,
)

torch_mark = pytest.mark.torch


def _torch():
    return pytest.importorskip("torch")


def _points(model, k=7, seed=1):
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = model.domain
    return np.column_stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)])


def _torch_line(t, x, y, p):
    w, b = p[0], p[1]
    return t.nn.MSELoss()(w * x + b, y)


def _torch_logistic(t, x, y, p):
    return t.nn.BCEWithLogitsLoss()(p[0] * x + p[1], y)


def _torch_mlp(t, model, p):
    theta0 = t.tensor(model.origin)
    d, e = t.tensor(model.d), t.tensor(model.e)
    th = theta0 + p[0] * d + p[1] * e
    h = model.net.hidden
    W1 = th[: 2 * h].reshape(h, 2)
    b1 = th[2 * h : 3 * h]
    w2 = th[3 * h : 4 * h]
    b2 = th[4 * h]
    X = t.tensor(model.X)
    act = t.tanh if model.net.activation == "tanh" else t.relu
    z = act(X @ W1.T + b1) @ w2 + b2
    return t.nn.BCEWithLogitsLoss()(z, t.tensor(model.y))


def _check_against_torch(model, loss_of, points, rows=None):
    t = _torch()
    fv, g = model.value_and_gradient(points, rows)
    h = model.hessian(points)
    for k, pt in enumerate(points):
        p = t.tensor(pt, dtype=t.float64, requires_grad=True)
        ref = loss_of(p)
        (ref_g,) = t.autograd.grad(ref, p)
        assert fv[k] == pytest.approx(ref.item(), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(g[k], ref_g.numpy(), rtol=1e-10, atol=1e-10 * abs(ref.item()))
        if rows is None:
            ref_h = t.autograd.functional.hessian(loss_of, t.tensor(pt, dtype=t.float64))
            np.testing.assert_allclose(h[k], ref_h.numpy(), rtol=1e-9, atol=1e-10)


@torch_mark
@pytest.mark.parametrize("inputs", ["raw", "standardized"])
def test_line_matches_torch(inputs):
    t = _torch()
    model = make_model("line", "diabetes", inputs=inputs)
    x, y = t.tensor(model.x), t.tensor(model.y)
    _check_against_torch(model, lambda p: _torch_line(t, x, y, p), _points(model))


@torch_mark
def test_logistic_matches_torch():
    t = _torch()
    model = make_model("logistic", "breast_cancer")
    x, y = t.tensor(model.x), t.tensor(model.y)
    pts = np.vstack([_points(model), model.centre, [[40.0, -3.0]]])  # a far, saturated point
    _check_against_torch(model, lambda p: _torch_logistic(t, x, y, p), pts)


@torch_mark
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_matches_torch(activation):
    t = _torch()
    model = make_model("mlp", "moons", activation=activation, train_steps=300)
    _check_against_torch(model, lambda p: _torch_mlp(t, model, p), _points(model, 5))


@torch_mark
def test_mlp_chosen_weights_match_torch():
    t = _torch()
    model = make_model("mlp", "moons", train_steps=200, weights=("w1[3,1]", "b2"))
    assert model.axes == ("w1[3,1]", "b2")
    np.testing.assert_allclose(model.theta(model.centre), model.net.flat())
    _check_against_torch(model, lambda p: _torch_mlp(t, model, p), _points(model, 4))


@torch_mark
def test_mini_batch_gradients_match_torch():
    """A batch's loss and gradient are the mean over exactly those examples."""
    t = _torch()
    model = make_model("logistic", "breast_cancer")
    rows = np.array([3, 50, 7, 400, 441])
    x, y = t.tensor(model.x[rows]), t.tensor(model.y[rows])
    _check_against_torch(model, lambda p: _torch_logistic(t, x, y, p), _points(model), rows)
    line = make_model("line", "diabetes")
    x, y = t.tensor(line.x[rows]), t.tensor(line.y[rows])
    _check_against_torch(line, lambda p: _torch_line(t, x, y, p), _points(line), rows)


@torch_mark
def test_mlp_backprop_and_input_gradient_match_torch():
    t = _torch()
    data = make_moons(40, seed=3)
    net = MLP.initial(8, "tanh", seed=2)
    X = t.tensor(data.X, requires_grad=True)
    params = [t.tensor(a, requires_grad=True) for a in (net.W1, net.b1, net.w2)]
    b2 = t.tensor(net.b2, dtype=t.float64, requires_grad=True)
    z = t.tanh(X @ params[0].T + params[1]) @ params[2] + b2
    per = t.nn.BCEWithLogitsLoss(reduction="none")(z, t.tensor(data.y))
    loss = per.mean()
    grads = t.autograd.grad(loss, [*params, b2], retain_graph=True)
    ours = net.gradients(data.X, data.y)
    for key, ref in zip(("W1", "b1", "w2", "b2"), grads, strict=True):
        np.testing.assert_allclose(ours[key], ref.numpy(), rtol=1e-10, atol=1e-14)
    assert net.loss(data.X, data.y) == pytest.approx(loss.item(), rel=1e-12)
    (gx,) = t.autograd.grad(per.sum(), X)  # each example's own loss by its own input
    np.testing.assert_allclose(net.input_gradient(data.X, data.y), gx.numpy(), rtol=1e-10)


def test_line_minimum_is_least_squares():
    model = make_model("line", "diabetes")
    w, b = np.polyfit(model.x, model.y, 1)
    np.testing.assert_allclose(model.centre, [w, b], rtol=1e-9)
    assert np.abs(model.gradient(model.centre)).max() < 1e-9
    assert model.domain[0][0] < 0 < model.domain[0][1]


def test_standardized_line_bowl_is_round():
    """Centring the input decouples w and b; standardizing makes the Hessian 2·I."""
    raw = make_model("line", "diabetes").hessian([0.0, 0.0])
    centred = make_model("line", "diabetes", inputs="centred").hessian([0.0, 0.0])
    std = make_model("line", "diabetes", inputs="standardized").hessian([0.0, 0.0])
    assert abs(raw[0, 1]) > 10
    assert centred[0, 1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(std, 2 * np.eye(2), atol=1e-12)


def test_logistic_minimum_has_zero_gradient():
    model = make_model("logistic", "breast_cancer")
    assert np.abs(model.gradient(model.centre)).max() < 1e-9
    assert model.centre[0] > 0  # bigger nuclei, more likely malignant


def test_trained_mlp_separates_the_moons():
    model = make_model("mlp", "moons")
    p = model.predict(model.centre, model.X)
    assert np.mean((p > 0.5) == (model.y == 1)) > 0.95
    assert model.f(model.centre) < model.f([0.8, -0.7])


def _relu_net(seed=4):
    return MLP.initial(16, "relu", seed=seed).train(*_moons_xy(), steps=200)


def _moons_xy():
    d = make_moons(60, seed=5)
    return d.X, d.y


def test_filter_normalization_is_scale_invariant():
    """Rescaling the ReLU layer by 10 and the next by 1/10 changes neither the network's
    function nor the filter-normalized landscape; without normalization it changes."""
    data = make_moons(60, seed=5)
    net = _relu_net()
    big = MLP(net.W1 * 10, net.b1 * 10, net.w2 / 10, net.b2, "relu")
    np.testing.assert_allclose(big.logits(data.X), net.logits(data.X), rtol=1e-12, atol=1e-12)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 9)), -1)
    a = MLPLoss(data, net, seed=7).f(grid)
    b = MLPLoss(data, big, seed=7).f(grid)
    np.testing.assert_allclose(a, b, rtol=1e-11)
    c = MLPLoss(data, net, seed=7, directions="random").f(grid)
    d = MLPLoss(data, big, seed=7, directions="random").f(grid)
    assert np.max(np.abs(c - d)) > 1e-2 * np.max(np.abs(c))


def test_filter_normalized_directions():
    net = _relu_net()
    rng = np.random.default_rng(0)
    d = net.with_flat(filter_normalized(rng.normal(size=len(net.flat())), net))
    np.testing.assert_allclose(
        np.linalg.norm(d.W1, axis=1), np.linalg.norm(net.W1, axis=1), rtol=1e-12
    )
    assert np.linalg.norm(d.w2) == pytest.approx(np.linalg.norm(net.w2))
    assert not d.b1.any() and d.b2 == 0.0


def test_weight_names():
    assert weight_index("w1[0,1]", 16) == 1
    assert weight_index(" B1[2] ", 16) == 34
    assert weight_index("w2[15]", 16) == 63
    assert weight_index("b2", 16) == 64
    for bad in ("w3", "w1[0]", "w1[16,0]", "w1[0,2]", "b2[0]", "w2"):
        with pytest.raises(UsageError):
            weight_index(bad, 16)


def test_mlp_is_deterministic():
    a = make_model("mlp", "moons", train_steps=100, seed=3)
    b = make_model("mlp", "moons", train_steps=100, seed=3)
    np.testing.assert_array_equal(a.net.flat(), b.net.flat())
    np.testing.assert_array_equal(a.d, b.d)


def test_saturated_logistic_stays_finite():
    data = Dataset("sep", np.array([[-1.0], [1.0]]), np.array([0.0, 1.0]), ("x", "label"))
    model = LogisticLoss(data)  # separable: no minimum, the fit stops at a finite point
    assert np.isfinite(model.centre).all()
    fv, g = model.value_and_gradient([[1e4, 0.0], [-1e4, 0.0]])
    assert np.isfinite(fv).all() and np.isfinite(g).all()
    assert fv[1] == pytest.approx(1e4)


# -- data --------------------------------------------------------------------------------


def test_bundled_sets():
    d = bundled("diabetes")
    assert d.X.shape == (442, 1) and d.X.min() > 15 and d.y.max() == 346
    c = bundled("breast_cancer")
    assert c.X.shape == (569, 1) and int(c.y.sum()) == 212
    m = bundled("moons")
    assert m.X.shape == (200, 2) and set(np.unique(m.y)) == {0.0, 1.0}
    assert set(BUNDLED) == {"diabetes", "breast_cancer", "moons"}


def test_bundled_sets_equal_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    diabetes = sk.load_diabetes(scaled=False)
    np.testing.assert_allclose(bundled("diabetes").X[:, 0], diabetes.data[:, 2])
    np.testing.assert_allclose(bundled("diabetes").y, diabetes.target)
    cancer = sk.load_breast_cancer()
    np.testing.assert_allclose(bundled("breast_cancer").X[:, 0], cancer.data[:, 0])
    np.testing.assert_array_equal(bundled("breast_cancer").y, 1 - cancer.target)


def test_csv_round_trip(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("label, X ,extra\n1,2.5,a\n0,-1e-3,b\n\n1,3,c\n")
    d = load_csv(f, "logistic")
    np.testing.assert_array_equal(d.X[:, 0], [2.5, -1e-3, 3.0])
    np.testing.assert_array_equal(d.y, [1, 0, 1])
    assert isinstance(make_model("logistic", str(f)), LogisticLoss)


@pytest.mark.parametrize(
    ("model", "text", "needles"),
    [
        ("line", "", ["empty"]),
        ("line", "x,z\n1,2\n3,4\n", ["no column 'y'", "x,y"]),
        ("line", "x,y\n1,2\n", ["1 data row", "at least 2"]),
        ("line", "x,y\n1,2\n3,abc\n", ["row 2", "line 3", "column 'y'", "not a number"]),
        ("line", "x,y\n1,2\nnan,4\n", ["row 2", "column 'x'", "finite"]),
        ("line", "x,y\n1,2\n3,inf\n", ["row 2", "column 'y'", "finite"]),
        ("line", "x,y\n1,2\n3\n", ["row 2", "1 value", "2 columns"]),
        ("logistic", "x,label\n1,0\n2,0.5\n", ["row 2", "column 'label'", "0 or 1"]),
        ("logistic", "x,label\n1,0\n2,2\n", ["row 2", "column 'label'", "0 or 1"]),
        ("mlp", "x1,label\n1,0\n2,1\n", ["no column 'x2'", "x1,x2,label"]),
        ("mlp", "x1,x2,label\n1,2,0\n2,,1\n", ["row 2", "column 'x2'", "not a number"]),
    ],
)
def test_bad_csv_gets_one_line_error(tmp_path, model, text, needles):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(UsageError) as err:
        load_csv(f, model)
    message = str(err.value)
    assert "\n" not in message and "bad.csv" in message
    for needle in needles:
        assert needle in message


def test_data_sources():
    with pytest.raises(UsageError, match="no data file"):
        load_data("nope.csv", "line")
    with pytest.raises(UsageError, match="for the line model"):
        load_data("diabetes", "logistic")
    with pytest.raises(UsageError, match="unknown model"):
        make_model("cnn")
    assert load_data(None, "mlp").name == "moons"
    assert isinstance(make_model("line"), LineLoss)


def test_per_example_gradients_average_to_the_gradient():
    model = make_model("logistic")
    p = np.array([0.3, -2.0])
    np.testing.assert_allclose(
        model.per_example_gradients(p).mean(0), model.gradient(p), rtol=1e-12
    )


def test_api_surface_from_model_and_descend_with_a_schedule():
    import gradient_explorer as ge

    surface = ge.Surface.from_model("line", "diabetes", inputs="standardized", batch_size=32)
    assert surface.sampled and surface.batch_size == 32
    traj = ge.descend(surface, "sgd", (0.0, 0.0), 30, lr=0.1, schedule="cosine:30")
    assert traj.status == "max_steps" and traj.schedule == "cosine:30:0"
    assert traj.lr[0] == 0.1 and traj.lr[-1] < 0.001
    best = float(surface.model.f(surface.model.centre))  # var(y): what no line explains
    assert traj.f[-1] - best < 0.01 * (traj.f[0] - best)


def test_degenerate_data_still_makes_a_surface():
    """Constant inputs (a flat valley), one class only (no minimum): finite, drawn."""
    from gradient_explorer.surfaces.model_surface import from_model

    flat = LineLoss(Dataset("c", np.ones((5, 1)), np.arange(5.0), ("x", "y")))
    assert from_model(flat).classify(flat.centre) == "degenerate critical point"
    one = LogisticLoss(Dataset("z", np.arange(5.0)[:, None], np.zeros(5), ("x", "label")))
    surface = from_model(one)
    assert np.isfinite(one.centre).all() and np.isfinite(surface.samples.heights).all()


def test_too_many_rows_are_refused(tmp_path, monkeypatch):
    from gradient_explorer.surfaces import datasets

    monkeypatch.setattr(datasets, "MAX_ROWS", 3)
    f = tmp_path / "big.csv"
    f.write_text("x,y\n1,1\n2,2\n3,3\n4,4\n")
    with pytest.raises(UsageError, match="at most 3 are read"):
        load_csv(f, "line")


@torch_mark
def test_mlp_training_is_torchs_adam_on_the_flat_weights():
    """MLP.train: full-batch Adam (torch's defaults but lr), the same weights as
    torch.optim.Adam stepping the flat weights with our gradient."""
    torch = _torch()
    xs, y = _moons_xy()
    start = MLP.initial(8, "tanh", seed=2)
    trained = start.train(xs, y, steps=25, lr=0.05)
    theta = torch.tensor(start.flat(), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    net = start
    for _ in range(25):
        opt.zero_grad()
        theta.grad = torch.from_numpy(net.flat_gradient(xs, y))
        opt.step()
        net = start.with_flat(theta.detach().numpy().copy())
    np.testing.assert_allclose(trained.flat(), theta.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert trained.loss(xs, y) < start.loss(xs, y)
