"""The built wheel works on its own: shaders inside, console script, python -m."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install`` of the wheel (not editable) into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("gradient_explorer-*.whl")
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), wheel],
        check=True,
        capture_output=True,
    )
    return wheel, target


def _run(target: Path, *args: str) -> subprocess.CompletedProcess:
    # The source tree must not be importable: run from elsewhere with only the install.
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(
        [sys.executable, "-m", "gradient_explorer", *args],
        cwd=target.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_wheel_ships_the_shaders(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    shaders = sorted((ROOT / "shaders").glob("*.glsl"))
    assert shaders  # else the loop below checks nothing
    for shader in shaders:
        assert f"gradient_explorer/shaders/{shader.name}" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_probe_seed_examples(installed):
    _, target = installed
    out = _run(target, "probe", "--surface", "banana", "--at", "1,1", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["classification"] == "minimum" and report["gradient"] == [0.0, 0.0]
    out = _run(target, "probe", "--surface", "saddle", "--at", "0,0")
    assert "saddle" in out.stdout
    out = _run(target, "probe", "--expr", "x^3 - 3*x", "--at", "1", "--json")
    report = json.loads(out.stdout)
    assert report["classification"] == "minimum" and report["gradient"] == 0.0


@pytest.mark.gl
def test_installed_package_finds_its_shaders(installed):
    _, target = installed
    out = _run(target, "probe", "--surface", "bowl", "--at", "0.5,0.25", "--gpu", "--json")
    assert out.returncode == 0, out.stderr
    gpu = json.loads(out.stdout)["gpu"]
    assert gpu["f"] == pytest.approx(0.3125, rel=1e-6)
