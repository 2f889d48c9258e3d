"""The 0.1 import path of the session functions, kept so that notebooks written against it run.

The module itself lives in :mod:`gradient_explorer.app.session`.
"""

from gradient_explorer.app.session import *  # noqa: F403
from gradient_explorer.app.session import load_session, save_session

__all__ = ["load_session", "save_session"]
