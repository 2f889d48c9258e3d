"""Classifiers on the digits and adversarial steps on their inputs, held to torch autograd,
to a direct torch implementation of each attack, and to scikit-learn's own logistic
regression."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradient_explorer.cli import attack as attack_cli
from gradient_explorer.cli import main
from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import adversarial, classifiers
from gradient_explorer.surfaces.classifiers import MLPClassifier, SoftmaxRegression


def _random_model(kind: str, n_features: int, n_classes: int, rng) -> classifiers.Classifier:
    if kind == "logistic":
        model = SoftmaxRegression(n_features, n_classes)
    else:
        model = MLPClassifier(n_features, n_classes, n_hidden=7, seed=3)
    model.params = [rng.normal(0, 1.5, p.shape) for p in model.params]
    return model


# ------------------------------------------------------------------ torch references


def _torch_logits(torch, model, x):
    p = [torch.tensor(a, dtype=torch.float64) for a in model.params]
    if isinstance(model, SoftmaxRegression):
        return x @ p[0] + p[1]
    return torch.tanh(x @ p[0] + p[1]) @ p[2] + p[3]


def _torch_loss_grad(torch, model, x, y):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    losses = torch.nn.functional.cross_entropy(
        _torch_logits(torch, model, xt), torch.tensor(y), reduction="none"
    )
    losses.sum().backward()  # row i's loss depends on row i only: the sum's gradient is each
    return losses.detach().numpy(), xt.grad.numpy()


def _torch_fgsm(torch, model, x, y, eps):
    _, g = _torch_loss_grad(torch, model, x, y)
    return torch.clamp(torch.tensor(x) + eps * torch.sign(torch.tensor(g)), 0, 1).numpy()


def _torch_pgd(torch, model, x, y, eps, alpha, steps):
    x0 = torch.tensor(x, dtype=torch.float64)
    xt = x0.clone()
    for _ in range(steps):
        _, g = _torch_loss_grad(torch, model, xt.numpy(), y)
        xt = xt + alpha * torch.sign(torch.tensor(g))
        xt = torch.min(torch.max(xt, x0 - eps), x0 + eps).clamp(0, 1)
    return xt.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("kind", classifiers.MODELS)
@pytest.mark.parametrize("n_features", [2, 64])
def test_loss_and_input_gradient_match_torch_autograd(kind, n_features, rng):
    torch = pytest.importorskip("torch")
    model = _random_model(kind, n_features, 3, rng)
    x = rng.uniform(0, 1, (25, n_features))
    y = rng.integers(0, 3, 25)
    loss, grad = model.loss_and_input_gradient(x, y)
    ref_loss, ref_grad = _torch_loss_grad(torch, model, x, y)
    np.testing.assert_allclose(loss, ref_loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-10)
    # one row: a float and a vector
    one_loss, one_grad = model.loss_and_input_gradient(x[4], y[4])
    assert isinstance(one_loss, float)
    np.testing.assert_allclose(one_grad, ref_grad[4], rtol=0, atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("kind", classifiers.MODELS)
def test_training_objective_gradient_matches_torch_autograd(kind, rng):
    torch = pytest.importorskip("torch")
    model = _random_model(kind, 5, 4, rng)
    x = rng.uniform(0, 1, (30, 5))
    y = rng.integers(0, 4, 30)
    lam = 0.07
    value, grads = model.objective(x, y, lam)
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in model.params]
    xt = torch.tensor(x)
    if kind == "logistic":
        logits = xt @ params[0] + params[1]
    else:
        logits = torch.tanh(xt @ params[0] + params[1]) @ params[2] + params[3]
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    ref = ref + 0.5 * lam * sum((params[i] ** 2).sum() for i in model.penalised)
    ref.backward()
    assert value == pytest.approx(ref.item(), abs=1e-12)
    for g, p in zip(grads, params, strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def digits():
    return classifiers.digits_split()


@pytest.mark.torch
@pytest.mark.parametrize("kind", classifiers.MODELS)
def test_fgsm_and_pgd_match_torch_on_the_trained_weights(kind, digits):
    torch = pytest.importorskip("torch")
    model = classifiers.trained_classifier(kind)
    x, y = digits.x_test[:60], digits.y_test[:60]
    for eps in (0.05, 0.2):
        np.testing.assert_allclose(
            adversarial.fgsm(model, x, y, eps), _torch_fgsm(torch, model, x, y, eps), atol=1e-12
        )
        ours = adversarial.pgd(model, x, y, eps, alpha=eps / 3, steps=6)
        ref = _torch_pgd(torch, model, x, y, eps, eps / 3, 6)
        np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize(
    ("eps", "alpha", "steps"), [(0.1, 0.03, 8), (0.05, 0.2, 3), (0.3, 0.01, 40)]
)
def test_every_pgd_iterate_stays_in_the_eps_box_and_the_unit_box(eps, alpha, steps, digits):
    model = classifiers.trained_classifier("mlp")
    x, y = digits.x_test[:80], digits.y_test[:80]
    run = adversarial.pgd_path(model, x, y, eps, alpha, steps)
    assert run.path.shape == (steps + 1, *x.shape)
    np.testing.assert_array_equal(run.path[0], x)
    for xt in run.path:
        assert np.all(np.abs(xt - x) <= eps + 1e-15)
        assert np.all((xt >= 0) & (xt <= 1))
    # it moved: the projection is not simply sending every iterate back to x
    assert np.max(np.abs(run.result - x)) == pytest.approx(eps)
    # the loss it climbs is the model's loss at each iterate
    np.testing.assert_allclose(run.losses[-1], model.loss(run.result, y), atol=1e-12)


def test_single_step_attacks_have_the_promised_size(digits, rng):
    model = classifiers.trained_classifier("logistic")
    x, y, eps = digits.x_test[:50], digits.y_test[:50], 0.15
    g = model.input_gradient(x, y)
    for x_adv in (adversarial.fgsm(model, x, y, eps), adversarial.random_signs(x, eps, seed=4)):
        free = (x_adv > 0) & (x_adv < 1)  # where the [0, 1] clip did not cut the step
        assert np.all(np.abs(x_adv - x) <= eps + 1e-15)
        np.testing.assert_allclose(np.abs(x_adv - x)[free], eps, atol=1e-15)
    fg = adversarial.fgsm(model, x, y, eps)
    moved = (fg != x) & (fg > 0) & (fg < 1)
    assert np.all(np.sign(fg - x)[moved] == np.sign(g)[moved])
    # L2: along the gradient, length eps (on a point well inside the box)
    xm = np.full((1, 64), 0.5)
    step = adversarial.l2_step(model, xm, y[:1], eps) - xm
    assert np.linalg.norm(step) == pytest.approx(eps, abs=1e-14)
    gm = model.input_gradient(xm, y[:1])
    np.testing.assert_allclose(step, eps * gm / np.linalg.norm(gm), atol=1e-15)
    # random signs are seeded: the same seed is the same change, another is not
    np.testing.assert_array_equal(
        adversarial.random_signs(x, eps, seed=4), adversarial.random_signs(x, eps, seed=4)
    )
    assert np.any(adversarial.random_signs(x, eps, 4) != adversarial.random_signs(x, eps, 5))


def test_the_lesson_sign_of_gradient_beats_random_signs_of_the_same_size(digits):
    # the panel's sentence: a small change along the gradient's sign raises the loss
    # more than random signs of the same size (here on every one of the first 100 digits)
    model = classifiers.trained_classifier("logistic")
    x, y, eps = digits.x_test[:100], digits.y_test[:100], 0.1
    base = model.loss(x, y)
    up_fgsm = model.loss(adversarial.fgsm(model, x, y, eps), y) - base
    up_rand = model.loss(adversarial.random_signs(x, eps, seed=0), y) - base
    assert np.all(up_fgsm > up_rand)


def test_digits_split_is_stratified_seeded_and_disjoint(digits):
    load_digits = pytest.importorskip("sklearn.datasets").load_digits

    bunch = load_digits()
    # the bundled file holds the same numbers as scikit-learn's loader
    x, y = classifiers._load_digits_arrays()
    np.testing.assert_array_equal(x, bunch.data / 16.0)
    np.testing.assert_array_equal(y, bunch.target)
    assert len(digits.y_train) + len(digits.y_test) == len(bunch.target)
    assert digits.x_train.min() == 0.0 and digits.x_test.max() == 1.0
    for c in range(10):
        n_c = np.sum(bunch.target == c)
        assert np.sum(digits.y_test == c) == round(0.3 * n_c)
    train_rows = {r.tobytes() for r in digits.x_train}
    # the test half is not the training half (a few digits are exact duplicates in the data)
    assert sum(r.tobytes() in train_rows for r in digits.x_test) < 5
    tr, te = classifiers.stratified_split(bunch.target, 0.3, seed=0)
    assert set(tr).isdisjoint(te) and len(tr) + len(te) == len(bunch.target)
    tr2, _ = classifiers.stratified_split(bunch.target, 0.3, seed=1)
    assert not np.array_equal(tr, tr2)


def test_logistic_model_reaches_sklearns_optimum(digits):
    LogisticRegression = pytest.importorskip("sklearn.linear_model").LogisticRegression

    ours = classifiers.trained_classifier("logistic")
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(digits.x_train, digits.y_train)
    probe = SoftmaxRegression(64, 10)
    probe.params = [ref.coef_.T.copy(), ref.intercept_.copy()]
    lam = 1.0 / len(digits.y_train)  # C = 1 written per sample
    ours_value = ours.objective(digits.x_train, digits.y_train, lam)[0]
    ref_value = probe.objective(digits.x_train, digits.y_train, lam)[0]
    # the same convex objective, minimised by both: ours no higher than scikit-learn's
    assert ours_value <= ref_value * (1 + 1e-9)
    assert ours_value == pytest.approx(ref_value, rel=1e-6)
    agree = np.mean(ours.predict(digits.x_test) == ref.predict(digits.x_test))
    assert agree > 0.99


def test_attack_strength_the_readme_reports(digits):
    x, y = digits.x_test, digits.y_test
    for kind in classifiers.MODELS:
        model = classifiers.trained_classifier(kind)
        assert model.accuracy(x, y) > 0.94
        fgsm = adversarial.attacked_accuracy(model, x, y, "fgsm", 0.25)
        rand = adversarial.attacked_accuracy(model, x, y, "random", 0.25)
        assert fgsm < 0.05 < 0.8 < rand
        for eps in (0.05, 0.15):
            pgd = adversarial.attacked_accuracy(model, x, y, "pgd", eps)
            assert pgd <= adversarial.attacked_accuracy(model, x, y, "fgsm", eps)


def test_bad_arguments_are_refused(digits):
    model = classifiers.trained_classifier("logistic")
    x, y = digits.x_test[:2], digits.y_test[:2]
    with pytest.raises(UsageError, match="eps"):
        adversarial.fgsm(model, x, y, -0.1)
    with pytest.raises(UsageError, match="alpha"):
        adversarial.pgd(model, x, y, 0.1, 0.0, 3)
    with pytest.raises(UsageError, match="steps"):
        adversarial.pgd(model, x, y, 0.1, 0.01, 0)
    with pytest.raises(UsageError, match="method"):
        adversarial.attack(model, x, y, "deepfool", 0.1)
    with pytest.raises(UsageError, match="features"):
        model.loss(np.zeros((2, 3)), y)
    with pytest.raises(UsageError, match="labels"):
        model.loss(x, [0, 10])
    with pytest.raises(UsageError, match="model"):
        classifiers.trained_classifier("svm")
    for seed in (-1, 2**63, 1.5, True):  # numpy's ValueError traceback for -1 before
        with pytest.raises(UsageError, match="seed must be a whole number from 0 to 2"):
            adversarial.random_signs(x, 0.1, seed)


# ------------------------------------------------------------------ the CLI


def test_cli_lists_match_the_library():
    assert attack_cli.MODELS == classifiers.MODELS
    assert attack_cli.METHODS == adversarial.METHODS
    assert attack_cli.DATASETS == classifiers.DATASETS


def test_attack_json_keys_and_values(capsys, digits):
    argv = ["attack", "--dataset", "digits", "--model", "logistic", "--method", "pgd"]
    assert main([*argv, "--eps", "0.1", "--steps", "5", "--alpha", "0.03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("clean_accuracy", "attacked_accuracy", "eps", "method", "model", "n_test"):
        assert key in out
    model = classifiers.trained_classifier("logistic")
    x, y = digits.x_test, digits.y_test
    assert out["n_test"] == len(y)
    assert out["clean_accuracy"] == model.accuracy(x, y)
    expected = np.mean(model.predict(adversarial.pgd(model, x, y, 0.1, 0.03, 5)) == y)
    assert out["attacked_accuracy"] == expected
    assert (out["method"], out["model"], out["eps"], out["steps"]) == ("pgd", "logistic", 0.1, 5)


def test_attack_text_output(capsys):
    assert main(["attack", "--model", "logistic", "--method", "random", "--eps", "0"]) == 0
    line = capsys.readouterr().out.strip()
    assert "clean accuracy" in line and "random" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "logistic", "--method", "fgsm", "--eps", "-0.1"], "eps"),
        (["--model", "logistic", "--method", "fgsm", "--eps", "nan"], "eps"),
        (["--model", "logistic", "--method", "deepfool", "--eps", "0.1"], "--method"),
        (["--model", "svm", "--method", "fgsm", "--eps", "0.1"], "--model"),
        (["--dataset", "cifar", "--model", "mlp", "--method", "fgsm", "--eps", "0.1"], "dataset"),
        (["--model", "mlp", "--method", "pgd", "--eps", "0.1", "--steps", "0"], "steps"),
        (["--model", "mlp", "--method", "pgd", "--eps", "0.1", "--alpha", "0"], "alpha"),
        (["--model", "mlp", "--method", "pgd", "--eps", "0.1", "--alpha", "-1"], "alpha"),
        (["--model", "mlp", "--method", "fgsm"], "--eps"),
        (
            ["--model", "logistic", "--method", "random", "--eps", "0.1", "--seed", "-1"],
            "argument --seed: seed must be a whole number from 0 to 2**63 - 1, got -1",
        ),
    ],
)
def test_attack_bad_arguments_exit_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        code = main(["attack", *args])
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_trained_weights_are_cached_on_disk_and_checked(tmp_path, monkeypatch, digits):
    first = classifiers.load_or_train("logistic", digits, tmp_path)
    files = list(tmp_path.glob("classifier-logistic-*.npz"))
    assert len(files) == 1

    def no_training(*args):
        raise AssertionError("trained again")

    monkeypatch.setattr(classifiers, "train", no_training)
    again = classifiers.load_or_train("logistic", digits, tmp_path)
    for a, b in zip(first.params, again.params, strict=True):
        np.testing.assert_array_equal(a, b)
    # a damaged file is not trusted: the model is trained again and the file rewritten
    files[0].write_bytes(b"not an npz")
    monkeypatch.undo()
    fresh = classifiers.load_or_train("logistic", digits, tmp_path)
    np.testing.assert_array_equal(fresh.params[0], first.params[0])
    with np.load(files[0]) as saved:
        np.testing.assert_array_equal(saved["p0"], first.params[0])
    # weights of the wrong shape (another model's file under this name) are refused too
    np.savez(files[0], p0=np.zeros((3, 3)), p1=np.zeros(3))
    monkeypatch.setattr(classifiers, "train", no_training)
    with pytest.raises(AssertionError, match="trained again"):
        classifiers.load_or_train("logistic", digits, tmp_path)
