"""Axis labels: world positions projected to the screen and drawn by imgui."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.camera import OrbitCamera
from gradient_explorer.geometry import declutter
from gradient_explorer.picking import world_to_screen


def layout_labels(
    labels, camera: OrbitCamera, size: tuple[float, float], measure
) -> list[tuple[object, np.ndarray]]:
    """The labels to draw and their boxes (left, top, right, bottom), none overlapping.

    ``measure(text)`` gives a text's (width, height) in the units of ``size``. Labels are
    projected, centred on their point, and thinned by :func:`declutter`: axis names and
    the ends of each axis first, so a small window keeps few labels and none collide.
    """
    width, height = size
    if not labels or width <= 0 or height <= 0:
        return []
    points = np.array([label.position for label in labels], dtype=np.float64)
    screen = world_to_screen(camera, points, (0, 0, width, height), (width, height))
    sizes = np.array([measure(label.text) for label in labels], dtype=np.float64)
    boxes = np.column_stack([screen - sizes / 2, screen + sizes / 2])
    priorities = [getattr(label, "priority", 0) for label in labels]
    em = float(np.median(sizes[:, 1])) if len(sizes) else 13.0
    keep = declutter(boxes, priorities, (width, height), pad=0.35 * em)
    return [(label, boxes[i]) for i, label in enumerate(labels) if keep[i]]


def draw_labels(labels, camera: OrbitCamera, size: tuple[float, float]) -> list:
    """Draw ``labels`` (scene Labels) into imgui's background draw list, none overlapping.

    ``size`` is the display size in window units (imgui's coordinates). Returns what was
    drawn: (label, box) pairs, as :func:`layout_labels` gives them.
    """
    placed = layout_labels(labels, camera, size, _text_size)
    if not placed:
        return []
    draw_list = imgui.get_background_draw_list()
    shadow = imgui.get_color_u32((0.0, 0.0, 0.0, 0.7))
    for label, (x, y, _, _) in placed:
        draw_list.add_text((x + 1, y + 1), shadow, label.text)
        draw_list.add_text((x, y), imgui.get_color_u32(label.color), label.text)
    return placed


def _text_size(text: str) -> tuple[float, float]:
    size = imgui.calc_text_size(text)
    return (size.x, size.y)


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
