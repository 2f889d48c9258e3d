"""Where labels go: projected or scaled to the display, centred, none overlapping.

Apart from :mod:`gradient_explorer.render.labels` (which draws them with imgui) so that a
headless picture drawn from the cached glyph atlas (:mod:`gradient_explorer.render.label_atlas`)
lays them out without importing imgui.
"""

from __future__ import annotations

import numpy as np

from gradient_explorer.render.geometry import declutter
from gradient_explorer.surfaces.percentiles import finite_median
from gradient_explorer.view.camera import OrbitCamera
from gradient_explorer.view.picking import world_to_screen

__all__ = ["SHADOW_COLOR", "SHADOW_OFFSET", "layout_labels"]

#: Each label is drawn twice: a shadow this colour, this many pixels right and down, then
#: the text.
SHADOW_COLOR = (0.0, 0.0, 0.0, 0.7)
SHADOW_OFFSET = 1.0


def layout_labels(
    labels, camera: OrbitCamera, size: tuple[float, float], measure
) -> list[tuple[object, np.ndarray]]:
    """The labels to draw and their boxes (left, top, right, bottom), none overlapping.

    ``measure(text)`` gives a text's (width, height) in the units of ``size``. Labels are
    projected (or, placed in a picture's pixels, scaled to ``size``), centred on their
    point, and thinned by :func:`declutter`: axis names and
    the ends of each axis first, so a small window keeps few labels and none collide.
    """
    width, height = size
    if not labels or width <= 0 or height <= 0:
        return []
    screen = np.zeros((len(labels), 2))
    world = [i for i, label in enumerate(labels) if label.screen_size is None]
    if world:  # world points: projected with the camera
        points = np.array([labels[i].position for i in world], dtype=np.float64)
        screen[world] = world_to_screen(camera, points, (0, 0, width, height), (width, height))
    for i, label in enumerate(labels):
        if label.screen_size is not None:  # pixels of a picture: scaled to the display
            sw, sh = label.screen_size
            screen[i] = (label.position[0] * width / sw, label.position[1] * height / sh)
    sizes = np.array([measure(label.text) for label in labels], dtype=np.float64)
    boxes = np.column_stack([screen - sizes / 2, screen + sizes / 2])
    priorities = [getattr(label, "priority", 0) for label in labels]
    em = finite_median(sizes[:, 1]) if len(sizes) else 13.0
    keep = declutter(boxes, priorities, (width, height), pad=0.35 * em)
    return [(label, boxes[i]) for i, label in enumerate(labels) if keep[i]]
