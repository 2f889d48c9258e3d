"""The axes: x and y along the floor's edges, f standing at a corner, with round ticks.

The lines are drawn here; the tick values and axis names are :class:`Label` s at world
points, which the overlay projects and draws (:attr:`AxesVisual.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from gradient_explorer.render.geometry import (
    AXIS_NAME_OUT,
    AXIS_TICK,
    TICK_LABEL_OUT,
    format_tick,
    log_ticks,
    nice_ticks,
)
from gradient_explorer.render.label import Label
from gradient_explorer.render.palette import AXES_COLOR, AXIS_NAME_COLORS
from gradient_explorer.render.visuals.mesh_visual import MeshDrawnVisual, MeshVisual, StaticMesh
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import HeightRange, Surface

__all__ = ["AXES_COLOR", "AxesData", "AxesVisual", "axes_geometry", "height_ticks"]


@dataclass(frozen=True)
class AxesData:
    """The axes' data: the surface, its height range, and the height the x and y axes
    stand on (None: the floor's)."""

    surface: Surface
    heights: HeightRange
    base_z: float | None = None


class AxesVisual(MeshDrawnVisual):
    """The axes' lines; :attr:`labels` holds their labels. ``update(AxesData)``."""

    data: AxesData | None = None

    def __init__(self, ctx: moderngl.Context, mesh: MeshVisual | None = None):
        super().__init__(ctx, mesh)
        self._key = None
        self._lines = np.zeros((0, 3), dtype=np.float32)
        self._static = StaticMesh(self.mesh)  # uploaded when the lines change
        self.labels: list[Label] = []

    def update(self, data: AxesData) -> None:
        """Rebuild the geometry only when what it depends on changed."""
        self.data = data
        surface = data.surface
        key = (surface.draw_key(), getattr(surface, "axis_names", None), data.base_z)
        if key != self._key:
            self._lines, self.labels = axes_geometry(surface, data.heights, data.base_z)
            self._static.set(self._lines, AXES_COLOR)
            self._key = key

    def draw(self, frame: FrameUniforms) -> None:
        self._static.draw(frame.mvp_bytes, moderngl.LINES)

    def release(self) -> None:
        self._static.release()
        self._key = None  # a later update uploads again
        super().release()


def axes_geometry(
    surface: Surface, heights, base_z: float | None = None
) -> tuple[np.ndarray, list[Label]]:
    """Line segments of the axes and their ticks, and the labels (world coordinates).

    The x and y axes stand on ``base_z``: the floor's height (the default) where the floor
    map is drawn, else just under the surface's edges where they run (see
    :meth:`AppState.axes_base`), so no empty band sits under the surface. The f axis
    runs from the lower of that and the bottom of the clip box to its top.
    """
    (x0, x1), (y0, y1) = surface.domain
    z0, z1 = heights.floor_z if base_z is None else base_z, heights.clip_hi
    zf = min(z0, heights.clip_lo)
    extent = max(x1 - x0, y1 - y0)
    tick = AXIS_TICK * extent
    out, name_out = TICK_LABEL_OUT * tick, AXIS_NAME_OUT * tick
    lines, labels = [], []
    # x along the front edge, y along the right one, f standing at the far left corner
    # (and the left edge joining them): as in matplotlib's 3D axes, the y and f labels
    # stand on opposite sides of the surface, so they never stack in one column.
    lines += [(x0, y0, z0), (x1, y0, z0), (x1, y0, z0), (x1, y1, z0)]
    lines += [(x0, y0, z0), (x0, y1, z0)]
    if not heights.empty:  # f undefined everywhere: no f axis, no ticks of nothing
        lines += [(x0, y1, zf), (x0, y1, z1)]
    name, end, inner = 3, 2, 1  # label priorities: axis names, end ticks, the rest
    xs = nice_ticks(x0, x1)
    for k, v in enumerate(xs):
        lines += [(v, y0, z0), (v, y0 - tick, z0)]
        rank = end if k in (0, len(xs) - 1) else inner
        labels.append(Label((v, y0 - out, z0), format_tick(v), priority=rank))
    ys = nice_ticks(y0, y1)
    for k, v in enumerate(ys):
        lines += [(x1, v, z0), (x1 + tick, v, z0)]
        rank = end if k in (0, len(ys) - 1) else inner
        labels.append(Label((x1 + out, v, z0), format_tick(v), priority=rank))
    # The f axis reads in values of f, at round numbers of f (decades on a log1p height).
    fs, hs = height_ticks(
        heights.lo, heights.hi, surface.height_scale, surface.display, limits=(zf, z1)
    )
    if heights.empty:
        fs, hs = fs[:0], hs[:0]
    for k, (f, h) in enumerate(zip(fs, hs, strict=True)):
        lines += [(x0, y1, h), (x0 - tick, y1, h)]
        rank = end if k in (0, len(fs) - 1) else inner
        labels.append(Label((x0 - out, y1, h), format_tick(f), priority=rank))
    # a model's loss names its coordinates (w, b; α, β; two weights) and calls f the loss
    nx, ny, nf = getattr(surface, "axis_names", ("x", "y", "f"))
    labels += [
        Label(((x0 + x1) / 2, y0 - name_out, z0), nx, AXIS_NAME_COLORS["x"], name),
        Label((x1 + name_out, (y0 + y1) / 2, z0), ny, AXIS_NAME_COLORS["y"], name),
    ]
    if not heights.empty:
        labels.append(Label((x0 - out, y1, z1), nf, AXIS_NAME_COLORS["f"], name))
    return np.array(lines, dtype=np.float32), labels


def height_ticks(
    h_lo: float,
    h_hi: float,
    scale: float,
    display: str,
    count: int = 4,
    limits: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Round values of f for the height axis over displayed heights [h_lo, h_hi].

    Returns ``(f values, their displayed heights)``. A linear height gets 1-2-5 steps of
    f; a log1p height gets 0 and decades of f (0, 1, 10, 100, ...) at their log1p
    positions, so the axis never reads 6.39 or 402. Ticks stand within ``limits`` (the
    axis's extent in displayed height; [h_lo, h_hi] if None).
    """
    with np.errstate(all="ignore"):
        f_lo, f_hi = (float(_height_to_f(h, scale, display)) for h in (h_lo, h_hi))
    if display == "log1p":
        fs = log_ticks(f_lo, f_hi, count + 1)
        with np.errstate(all="ignore"):
            hs = scale * np.log1p(fs)
    else:
        fs = nice_ticks(f_lo, f_hi, count)
        hs = scale * fs
    a, b = sorted(limits if limits is not None else (h_lo, h_hi))
    slack = 1e-9 * abs(h_hi - h_lo)
    ok = np.isfinite(hs) & (hs >= a - slack) & (hs <= b + slack)
    return fs[ok], hs[ok]


def _height_to_f(h: float, scale: float, display: str) -> float:
    """Invert the display transform for tick labels: the axis reads in values of f."""
    v = np.float64(h) / scale
    return np.expm1(v) if display == "log1p" else v
