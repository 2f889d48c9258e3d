"""Smoke test of ``benchmarks/run_all.py --quick`` at tiny sizes: it runs and reports.

Timings are never asserted (benchmarks are scripts); this only checks that every tool's
code path still works and the markdown report has its sections. Skipped when a peer from
the ``bench`` extra (vispy, pyvista, matplotlib) is not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gl, pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run_all.py"
BARE = [ROOT.parent / "shared/bench/bare_surface.py"]


def test_run_all_quick_tiny(tmp_path):
    for peer in ("vispy", "pyvista", "matplotlib"):
        pytest.importorskip(peer)
    if not any(p.exists() for p in BARE):
        pytest.skip("../shared/bench/bare_surface.py is not here")
    out = tmp_path / "results.md"
    args = [sys.executable, str(SCRIPT), "--quick", "--grids", "16", "--change-grids", "16"]
    args += ["--first-grid", "16", "--size", "96x64", "--seconds", "0.1"]
    args += ["--sections", "fps", "change", "first", "--out", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    for heading in ("## Orbit frame rate", "## Change of surface", "## First frame"):
        assert heading in text
    for label in ("full scene", "bare surface", "vispy", "pyvista", "matplotlib"):
        assert label in text
    assert "failed" not in text, text
