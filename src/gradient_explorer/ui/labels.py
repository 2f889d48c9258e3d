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


def draw_race_legend(descent_state, size: tuple[float, float]) -> None:
    """Each racer's colour and name, top right, with its status: pictures explain themselves.

    Drawn in the window and in headless renders and recordings alike.
    """
    if descent_state.kind != "race" or not descent_state.active:
        return
    width, _ = size
    draw_list = imgui.get_foreground_draw_list()
    line = imgui.get_text_line_height_with_spacing()
    rows = []
    for name, color, d in zip(
        descent_state.names, descent_state.colors, descent_state.descents, strict=False
    ):
        status = d.status[0] if d.n else ""
        rows.append((f"{name}  {status}  step {int(d.steps[0])}" if d.n else name, color))
    widest = max((imgui.calc_text_size(text).x for text, _ in rows), default=0.0)
    x = width - widest - 3.0 * line
    y = 0.6 * line
    background = imgui.get_color_u32((0.05, 0.05, 0.07, 0.75))
    draw_list.add_rect_filled(
        (x - 0.5 * line, y - 0.3 * line),
        (width - 0.5 * line, y + line * len(rows) + 0.1 * line),
        background,
        4.0,
    )
    for text, color in rows:
        swatch = imgui.get_color_u32((*color[:3], 1.0))
        draw_list.add_rect_filled((x, y + 0.2 * line), (x + 0.6 * line, y + 0.8 * line), swatch)
        draw_list.add_text((x + line, y), imgui.get_color_u32((0.9, 0.92, 0.95, 1.0)), text)
        y += line
