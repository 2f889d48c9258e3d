"""A bounded run of the session fuzzer (the long run is reliability/fuzz_sessions.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_session_fuzzer_short_run_has_no_failures(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "reliability/fuzz_sessions.py"), "--examples", "300"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "failures          0" in out.stdout
    assert "interrupted save  old file kept" in out.stdout
    assert list(tmp_path.iterdir()) == []
