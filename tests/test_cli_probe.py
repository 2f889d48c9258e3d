"""`gradient-explorer surfaces` and `probe`: output, JSON keys, bad input."""

from __future__ import annotations

import json

import pytest

from gradient_explorer.cli import main
from gradient_explorer.surfaces.catalogue import CATALOGUE


def _json(capsys, *args):
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_surfaces_table_lists_every_entry(capsys):
    assert main(["surfaces"]) == 0
    out = capsys.readouterr().out
    for name, d in CATALOGUE.items():
        assert name in out and d.lesson in out
    rows = _json(capsys, "surfaces", "--json")
    assert {r["name"] for r in rows} == set(CATALOGUE)


def test_probe_json_keys_and_values(capsys):
    report = _json(capsys, "probe", "--surface", "banana", "--at", "1,1", "--json")
    for key in ("f", "gradient", "hessian", "eigenvalues", "classification"):
        assert key in report
    assert report["gradient"] == [0.0, 0.0]
    assert report["hessian"] == [[802.0, -400.0], [-400.0, 200.0]]
    assert report["classification"] == "minimum"
    saddle = _json(capsys, "probe", "--surface", "saddle", "--at", "0,0", "--json")
    assert saddle["classification"] == "saddle" and sorted(saddle["eigenvalues"]) == [-2.0, 2.0]


def test_probe_point_off_critical_reports_direction(capsys):
    report = _json(capsys, "probe", "--expr", "x + y", "--at", "-1,-2", "--json")
    assert report["classification"] == "not a critical point"
    assert report["gradient_angle_deg"] == pytest.approx(45.0)
    assert report["gradient_length"] == pytest.approx(2**0.5)


def test_probe_curve(capsys):
    report = _json(capsys, "probe", "--expr", "x^3 - 3*x", "--at", "1", "--json")
    assert report["gradient"] == 0.0 and report["hessian"] == 6.0
    assert report["classification"] == "minimum"
    assert main(["probe", "--surface", "cubic", "--at", "-1"]) == 0
    out = capsys.readouterr().out
    assert "f'" in out and "maximum" in out


def test_probe_parameters_and_tolerance(capsys):
    report = _json(
        capsys, "probe", "--surface", "banana", "--param", "a=2", "--at", "2,4", "--json"
    )
    assert report["classification"] == "minimum" and report["parameters"]["a"] == 2.0
    args = ["probe", "--expr", "x^2 + y^2", "--at", "0.001,0", "--tol", "0.01", "--json"]
    report = _json(capsys, *args)
    assert report["classification"] == "minimum"


def test_probe_corner_and_hole_are_reported_not_numbers(capsys):
    report = _json(capsys, "probe", "--surface", "abs", "--at", "0", "--json")
    assert report["gradient"] is None and report["classification"] == "not differentiable"
    report = _json(capsys, "probe", "--expr", "log(x) + y", "--at", "-1,0", "--json")
    assert report["f"] is None and report["classification"] == "undefined"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "--surface", "nope", "--at", "1,1"], "unknown surface 'nope'"),
        (["probe", "--expr", "x + z", "--at", "1,1"], "unknown name 'z' at column 5"),
        (["probe", "--surface", "bowl", "--at", "1"], "--at needs 2 numbers"),
        (["probe", "--surface", "bowl", "--at", "a,b"], "--at must be numbers"),
        (["probe", "--surface", "bowl", "--at", "nan,1"], "finite"),
        (["probe", "--surface", "bowl", "--at", "1,1", "--param", "q=1"], "unknown parameter"),
        (["probe", "--expr", "a*x", "--at", "1", "--param", "a"], "NAME=VALUE"),
        (["probe", "--expr", "9^9^9", "--at", "1"], "exponent too large"),
        (["probe", "--surface", "bowl", "--at", "1,1", "--tol", "-1"], "--tol"),
        (["probe", "--at", "1,1"], "one of the arguments --surface --expr --image --heights"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        code = main(args)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_help_lists_the_typed_syntax(capsys):
    with pytest.raises(SystemExit):
        main(["probe", "--help"])
    out = capsys.readouterr().out
    for piece in ("|x| + |y|", "x²", "x·y", "π", "e^{-x}", "sin^2(x)", "sin x"):
        assert piece in out
    for name in ("max", "min", "sign", "log10", "log(x, b)", "relu", "sigmoid", "softplus"):
        assert name in out


def test_probe_pasted_text_and_its_kink(capsys):
    report = _json(capsys, "probe", "--expr", "relu(x) + y²", "--at", "0,0", "--json")
    assert report["classification"] == "not differentiable"
    report = _json(capsys, "probe", "--expr", "|x| − sin² y", "--at", "2,0", "--json")
    assert report["f"] == 2.0 and report["gradient"] == [1.0, 0.0]


def test_probe_error_points_at_the_column_as_typed(capsys):
    assert main(["probe", "--expr", "x²·y + z", "--at", "1,1"]) == 2
    err = capsys.readouterr().err
    assert "unknown name 'z' at column 8" in err and err.count("\n") == 1
