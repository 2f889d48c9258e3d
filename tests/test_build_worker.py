"""The app's build worker and the time limit of builds: results, errors, runaways."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from gradient_explorer.errors import ExpressionError, UsageError
from gradient_explorer.surfaces.surface import Surface
from gradient_explorer.surfaces.symbolic import run_with_timeout
from gradient_explorer.workers.build_worker import BuildWorker


@pytest.fixture(scope="module")
def worker():
    w = BuildWorker()
    assert w.start(), w.unavailable
    yield w
    w.close()


def test_a_surface_built_in_the_worker_matches_one_built_here(worker):
    built = worker.call(30, Surface.from_expr, "a*x^2 - sin(y)", params={"a": 1.5})
    here = Surface.from_expr("a*x^2 - sin(y)", params={"a": 1.5}, timeout=None)
    points = np.array([[0.2, -1.0], [1.5, 2.0], [-2.0, 0.5]])
    np.testing.assert_array_equal(built.f(points), here.f(points))
    np.testing.assert_array_equal(built.gradient(points), here.gradient(points))
    assert built.glsl == here.glsl and built.height_range() == here.height_range()
    assert worker.call(30, Surface.named, "banana").name == "banana"


def test_errors_come_back_as_the_projects_own(worker):
    with pytest.raises(ExpressionError, match="column"):
        worker.call(30, Surface.from_expr, "x +* y")
    with pytest.raises(UsageError, match="display transform"):
        worker.call(30, Surface.from_expr, "x*y", display="cube")
    with pytest.raises(ExpressionError, match="could not derive"):
        worker.call(30, int, "not a number")  # a surprise, as one line
    assert worker.call(30, Surface.from_expr, "x - y").formula() == "x - y"  # still serving


def test_a_worker_that_hangs_or_dies_is_replaced(worker):
    hung = worker._helper.process
    with pytest.raises(ExpressionError, match="longer than 1 s"):
        worker.call(1.0, time.sleep, 60)  # the timer kills the worker, it does not wait
    assert hung.poll() is not None
    with pytest.raises(ExpressionError, match="failed"):
        worker.call(30, os._exit, 3)
    assert worker.call(30, Surface.from_expr, "x*y").formula() == "x*y"


def test_without_a_worker_process_builds_run_here(tmp_path):
    w = BuildWorker(command=[str(tmp_path / "no-such-python")])
    assert w.call(30, Surface.from_expr, "x + 2*y").formula() == "x + 2*y"
    assert w.unavailable.startswith("cannot start the build worker")


def test_a_worker_that_never_says_hello(monkeypatch):
    monkeypatch.setattr("gradient_explorer.workers.build_worker.START_TIMEOUT", 1.0)
    w = BuildWorker(command=[sys.executable, "-c", "import time; time.sleep(60)"])
    assert w.call(30, Surface.from_expr, "y^2").formula() == "y^2"  # built here instead
    assert "did not start" in w.unavailable and "1 s" in w.unavailable


def test_a_newer_build_ends_a_runaway_one():
    from gradient_explorer.workers.pipeline import CANCEL_AFTER, SurfaceCompiler

    compiler = SurfaceCompiler()
    compiler.set_worker(BuildWorker())
    try:
        compiler.submit("slow", "expression", time.sleep, 300)
        while compiler.worker._helper.process is None:
            time.sleep(0.05)
        first = compiler.worker._helper.process.pid
        time.sleep(CANCEL_AFTER + 1.0)
        compiler.submit("x*y", "expression", Surface.from_expr, "x*y")
        assert compiler.wait(60), "the newer build waited for the runaway one"
        _, surface, error = compiler.poll()
        assert error is None and surface.formula() == "x*y"
        assert compiler.worker._helper.process.pid != first  # a new worker built it
    finally:
        compiler.shutdown()


def test_requests_that_queued_behind_a_newer_one_are_skipped():
    from gradient_explorer.app.ui import panels

    built = []

    def record(text):
        built.append(text)
        return Surface.from_expr(text, timeout=None)

    compiler = panels.SurfaceCompiler()
    try:
        compiler.submit("slow", "expression", time.sleep, 1.0)
        for text in ("x + y", "x - y", "x * y"):  # typed while the first still runs
            compiler.submit(text, "expression", record, text)
        assert compiler.wait(30)
        _, surface, error = compiler.poll()
        assert error is None and surface.formula() == "x * y"
        assert built == ["x * y"]
    finally:
        compiler.shutdown()


# ---------------------------------------------------------------------- the time limit


def _spin() -> int:
    n = 0
    while True:  # pure CPU, no allocation
        n += 1


def _nap() -> str:
    time.sleep(1.5)
    return "rested"


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_the_limit_counts_cpu_time_not_waiting():
    with pytest.raises(ExpressionError, match="longer than 1 s"):
        run_with_timeout(_spin, 1.0)
    # Sleeping past the limit costs no CPU: a build on a busy machine is not refused.
    assert run_with_timeout(_nap, 1.0) == "rested"
