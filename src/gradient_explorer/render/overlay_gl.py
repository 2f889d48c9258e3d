"""What every overlay draw shares: the projection of the display rectangle and the blend.

Used by the imgui renderer and by labels drawn from the cached glyph atlas, which must
give the same pixels (:mod:`gradient_explorer.render.label_atlas`).
"""

from __future__ import annotations

import moderngl
import numpy as np

__all__ = ["OVERLAY_BLEND_FUNC", "ortho"]

#: Straight alpha for colour; alpha accumulates coverage so that a later composite of
#: the framebuffer stays sensible.
OVERLAY_BLEND_FUNC = (
    moderngl.SRC_ALPHA,
    moderngl.ONE_MINUS_SRC_ALPHA,
    moderngl.ONE,
    moderngl.ONE_MINUS_SRC_ALPHA,
)


def ortho(left: float, right: float, top: float, bottom: float) -> np.ndarray:
    """Column-major orthographic matrix mapping the display rectangle to clip space."""
    return np.array(
        [
            [2.0 / (right - left), 0.0, 0.0, 0.0],
            [0.0, 2.0 / (top - bottom), 0.0, 0.0],
            [0.0, 0.0, -1.0, 0.0],
            [(right + left) / (left - right), (top + bottom) / (bottom - top), 0.0, 1.0],
        ],
        dtype="f4",
    )
