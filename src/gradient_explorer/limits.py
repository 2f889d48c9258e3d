"""Limits on a process the project starts: a lower priority, a CPU-time cap (stdlib only).

Below every layer, like errors.py: the code generator (surfaces/symbolic.py) limits the
child it derives in, the helper processes (workers/) lower their own priority. In the
app, the window's frames come first.
"""

from __future__ import annotations

import math
import os

try:
    import resource
except ImportError:  # not Unix: no CPU limit; the wall-clock limits alone apply
    resource = None

__all__ = ["limit_cpu", "lower_priority"]


def lower_priority() -> None:
    """Run at niceness 10 (not 10 more than the parent's: a helper's child stays at 10):
    on a busy machine the window's frames come first."""
    try:
        os.nice(max(0, 10 - os.nice(0)))
    except (AttributeError, OSError):  # no nice() here, or not allowed: run as it is
        pass


def limit_cpu(seconds: float) -> None:
    """The kernel stops this process (SIGXCPU) after ``seconds`` of CPU time."""
    if resource is None:
        return
    soft = max(1, math.ceil(seconds))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY and hard < soft + 1:
        return
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
