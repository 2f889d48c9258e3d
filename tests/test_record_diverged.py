"""``record`` with a run that diverges says so on stderr in one line (the video shows it
on the ball's label; a script reading the output would otherwise never know)."""

from __future__ import annotations

import json

import pytest

from gradient_explorer.cli import main


@pytest.mark.gl
def test_record_names_the_run_that_diverged(tmp_path, capsys):
    out = tmp_path / "race.gif"
    base = ["--surface", "banana", "--lr", "1"]
    argv = ["record", *base, "--descent", "sgd", "adam", "--frames", "3", "--size", "64x48"]
    assert main([*argv, "--steps-per-frame", "2", "--out", str(out)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    # the step descend reports for the same run
    assert main(["descend", *base, "--optimizer", "sgd", "--teaching", "--steps", "6",
                 "--format", "json"]) == 0  # fmt: skip
    k = json.loads(capsys.readouterr().out)["end_step"]
    assert notes == [f"gradient-explorer: note: sgd diverged at step {k}"]
    calm = ["record", *base, "--descent", "adam", "--frames", "2", "--size", "64x48"]
    assert main([*calm, "--out", str(out)]) == 0
    assert "diverged" not in capsys.readouterr().err
