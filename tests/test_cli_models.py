"""The CLI's model surfaces: --model, --data, --batch-size, --seed on probe/descend/render."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradient_explorer.cli import main
from gradient_explorer.surfaces.models import make_model


def _run(capsys, line: str):
    code = main(line.split())
    out, err = capsys.readouterr()
    return code, out, err


def test_probe_line_json(capsys, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("x,y\n0,1\n1,3\n2,5.5\n3,7\n")
    code, out, _ = _run(capsys, f"probe --model line --data {f} --at 2,1 --json")
    assert code == 0
    doc = json.loads(out)
    x, y = np.array([0, 1, 2, 3.0]), np.array([1, 3, 5.5, 7])
    e = 2 * x + 1 - y
    assert doc["f"] == pytest.approx(np.mean(e**2), rel=1e-14)
    assert doc["gradient"] == pytest.approx([2 * np.mean(e * x), 2 * np.mean(e)], rel=1e-13)
    h = [[2 * np.mean(x * x), 2 * np.mean(x)], [2 * np.mean(x), 2.0]]
    np.testing.assert_allclose(doc["hessian"], h, rtol=1e-13)
    assert doc["eigenvalues"] == pytest.approx(sorted(np.linalg.eigvalsh(h)))
    assert doc["classification"] == "not a critical point"
    assert doc["axes"] == ["w", "b"] and doc["data"]["examples"] == 4


def test_probe_at_the_fitted_logistic_is_a_minimum(capsys):
    model = make_model("logistic", "breast_cancer")
    w, b = (float(v) for v in model.centre)
    code, out, _ = _run(capsys, f"probe --model logistic --at={w!r},{b!r} --json")
    assert code == 0 and json.loads(out)["classification"] == "minimum"


def test_descend_with_batches_is_seeded(capsys):
    line = "descend --model logistic --optimizer sgd --lr 0.01 --start 0,0 --steps 15"
    _, a, _ = _run(capsys, line + " --batch-size 8 --seed 3")
    _, b, _ = _run(capsys, line + " --batch-size 8 --seed 3")
    _, c, _ = _run(capsys, line + " --batch-size 8 --seed 4")
    _, full, _ = _run(capsys, line)
    assert a == b and a != c and a != full


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("probe --expr x^2 --data diabetes --at 1", "--data applies to --model"),
        ("probe --expr x^2 --batch-size 8 --at 1", "--batch-size applies to --model"),
        ("probe --model line --hidden 8 --at 1,1", "--hidden applies to --model mlp"),
        ("probe --model line --param a=1 --at 1,1", "--param applies to formulas"),
        ("probe --model line --data moons --at 1,1", "for the mlp model"),
        ("probe --model line --data missing.csv --at 1,1", "no data file"),
        ("probe --model line --at 1", "needs 2 numbers"),
        ("probe --model mlp --weights w1[0,0] w1[0,0] --at 0,0", "must differ"),
        ("probe --model mlp --weights w9 b2 --at 0,0", "a weight is"),
    ],
)
def test_model_errors_are_one_line(capsys, line, needle):
    code, _, err = _run(capsys, line)
    assert code == 2
    assert needle in err and err.count("\n") == 1


DESCEND_LINE = "descend --model line --optimizer sgd --start 0,0 --steps 3"


BATCH = "batch size must be a whole number >= 1, got"
SEED = "seed must be a whole number from 0 to 2**63 - 1, got"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--batch-size 0", f"argument --batch-size: {BATCH} 0"),
        ("--batch-size -3", f"argument --batch-size: {BATCH} -3"),
        ("--batch-size 2.5", f"argument --batch-size: {BATCH} '2.5'"),
        ("--batch-size true", f"argument --batch-size: {BATCH} 'true'"),
        ("--batch-size 4 --seed -1", f"argument --seed: {SEED} -1"),
        ("--batch-size 4 --seed 1.5", f"argument --seed: {SEED} '1.5'"),
        (f"--batch-size 4 --seed {2**63}", f"argument --seed: {SEED} {2**63}"),
    ],
)
def test_bad_batch_size_and_seed_through_the_cli(capsys, flags, message):
    # the API's check and message (tests/test_minibatch.py), with the flag named
    with pytest.raises(SystemExit) as info:
        main(f"{DESCEND_LINE} {flags}".split())
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.rstrip().endswith(message)


def test_a_batch_larger_than_the_data_is_the_whole_set_through_the_cli(capsys):
    n = make_model("line").n
    _, full, _ = _run(capsys, DESCEND_LINE)
    for size in (n, n + 1, 10**30):
        code, out, _ = _run(capsys, f"{DESCEND_LINE} --batch-size {size}")
        assert code == 0 and out == full
    _, batched, _ = _run(capsys, f"{DESCEND_LINE} --batch-size {n - 1}")
    assert batched != full


def test_record_swarm_refuses_a_bad_seed_in_one_line(capsys, tmp_path):
    # --seed also spreads a swarm: the same check (before, -1 reached numpy's generator)
    out = tmp_path / "x.mp4"
    with pytest.raises(SystemExit) as info:
        main(f"record --surface bowl --swarm 5 --seed -1 --frames 2 --out {out}".split())
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.rstrip().endswith(f"argument --seed: {SEED} -1")
    assert not out.exists()


def test_bad_csv_through_the_cli(capsys, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("x,label\n1,0\n2,yes\n")
    code, _, err = _run(capsys, f"probe --model logistic --data {f} --at 0,0")
    assert code == 2
    assert "row 2 (line 3), column 'label'" in err and err.count("\n") == 1


@pytest.mark.gl
def test_render_a_model_surface(capsys, tmp_path):
    out = tmp_path / "line.png"
    code, _, _ = _run(capsys, f"render --model line --inputs standardized --size 64x48 --out {out}")
    assert code == 0
    from PIL import Image

    pixels = np.asarray(Image.open(out))
    assert pixels.shape[:2] == (48, 64) and pixels.std() > 5  # not one flat colour
