"""``gradient-explorer descend``: output shape, files, and one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gradient_explorer.cli import main


def test_csv(capsys):
    rc = main(
        [
            "descend",
            "--surface",
            "banana",
            "--optimizer",
            "adam",
            "--start=-1.5,2",
            "--steps",
            "20",
            "--lr",
            "0.05",
            "--betas",
            "0.8,0.99",
            "--amsgrad",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["step", "x", "y", "f", "grad_x", "grad_y"]
    assert len(rows) == 21 and rows[0]["x"] == "-1.5" and rows[-1]["step"] == "20"


def test_json_and_curve(capsys):
    rc = main(
        [
            "descend",
            "--surface",
            "double_well",
            "--optimizer",
            "sgd",
            "--start",
            "0.3",
            "--steps",
            "500",
            "--lr",
            "0.01",
            "--momentum",
            "0.9",
            "--nesterov",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert set(doc) >= {"rows", "status", "end_step", "optimizer", "hyperparameters"}
    assert doc["optimizer"] == "sgd" and doc["hyperparameters"]["nesterov"] is True
    assert list(doc["rows"][0]) == ["step", "x", "f", "grad"]
    assert doc["status"] in {"converged", "max_steps"}


def test_expr_param_and_out_file(tmp_path, capsys):
    out = tmp_path / "path.json"
    rc = main(
        [
            "descend",
            "--expr",
            "a*x^2 + y^2",
            "--param",
            "a=3",
            "--optimizer",
            "newton",
            "--start",
            "1,1",
            "--steps",
            "10",
            "--format",
            "json",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["status"] == "converged" and doc["end_step"] == 1
    assert list(tmp_path.iterdir()) == [out]  # no temporary left behind
    assert "converged" in capsys.readouterr().err


def test_divergence_is_reported_not_raised(capsys):
    rc = main(
        [
            "descend",
            "--surface",
            "banana",
            "--optimizer",
            "sgd",
            "--start=-1.5,2",
            "--steps",
            "100",
            "--lr",
            "0.05",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["status"] == "diverged"


DIVERGING = ["descend", "--surface", "banana", "--optimizer", "sgd", "--lr", "1", "--teaching"]


@pytest.mark.parametrize("steps", ["50", "3"])
def test_a_diverged_csv_run_says_so_on_stderr(capsys, steps):
    """CSV has no status column: the rows just stop. One line on stderr says the run
    diverged at step k and why the rows stop; stdout stays plain CSV, exit 0."""
    rc = main([*DIVERGING, "--steps", steps, "--format", "csv"])
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert main([*DIVERGING, "--steps", steps, "--format", "json"]) == rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "diverged" and len(rows) == len(doc["rows"])
    k = doc["end_step"]
    assert int(rows[-1]["step"]) == k - 1
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and f"diverged at step {k}:" in err[0]
    assert f"rows stop at step {k - 1}" in err[0]


def test_a_finished_csv_run_prints_nothing_on_stderr(capsys):
    rc = main([*DIVERGING[:5], "--lr", "0.001", "--teaching", "--steps", "5"])
    assert rc == 0 and capsys.readouterr().err == ""


def test_adafactor_eps(capsys):
    rc = main(
        [
            "descend",
            "--surface",
            "bowl",
            "--optimizer",
            "adafactor",
            "--start",
            "1,1",
            "--steps",
            "3",
            "--eps",
            "none,0.01",
            "--format",
            "json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["hyperparameters"]["eps"] == [None, 0.01]


@pytest.mark.parametrize(
    "extra",
    [
        ["--optimizer", "adam", "--lr=-0.1"],
        ["--optimizer", "adam", "--betas", "1.0,0.9"],
        ["--optimizer", "adam", "--betas", "0.9"],
        ["--optimizer", "adam", "--eps=-1"],
        ["--optimizer", "sgd", "--nesterov"],
        ["--optimizer", "adam", "--momentum", "0.9"],
        ["--optimizer", "adam", "--start", "1"],
        ["--optimizer", "adam", "--start", "1,2,3"],
        ["--optimizer", "adam", "--start", "a,b"],
        ["--optimizer", "adam", "--steps", "-3"],
        ["--optimizer", "adam", "--lr", "fast"],
        ["--optimizer", "lbfgs"],
    ],
)
def test_bad_input_exits_2_with_one_line(extra, capsys):
    argv = ["descend", "--surface", "banana", "--start", "1,1", "--steps", "5", *extra]
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err
