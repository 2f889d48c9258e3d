"""The 0.1 import path of :func:`record`, kept so that notebooks written against it run.

The module itself lives in :mod:`gradient_explorer.render.recording`.
"""

from gradient_explorer.render.recording import record

__all__ = ["record"]
