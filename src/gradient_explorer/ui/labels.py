"""Axis labels: world positions projected to the screen and drawn by imgui."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.camera import OrbitCamera
from gradient_explorer.picking import world_to_screen


def draw_labels(labels, camera: OrbitCamera, size: tuple[float, float]) -> None:
    """Draw ``labels`` (scene Labels) into imgui's background draw list.

    ``size`` is the display size in window units (imgui's coordinates).
    """
    if not labels:
        return
    width, height = size
    if width <= 0 or height <= 0:
        return
    points = np.array([label.position for label in labels], dtype=np.float64)
    screen = world_to_screen(camera, points, (0, 0, width, height), (width, height))
    draw_list = imgui.get_background_draw_list()
    for label, (sx, sy) in zip(labels, screen, strict=True):
        if not (np.isfinite(sx) and np.isfinite(sy)):
            continue
        text_size = imgui.calc_text_size(label.text)
        x, y = sx - text_size.x / 2, sy - text_size.y / 2
        shadow = imgui.get_color_u32((0.0, 0.0, 0.0, 0.7))
        draw_list.add_text((x + 1, y + 1), shadow, label.text)
        draw_list.add_text((x, y), imgui.get_color_u32(label.color), label.text)
