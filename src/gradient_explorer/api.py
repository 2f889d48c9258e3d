"""The Python API for notebooks and scripts; the CLI calls the same functions.

>>> import gradient_explorer as ge
>>> s = ge.Surface.from_expr("x^2 - y^2")
>>> s.classify([0.0, 0.0])
'saddle'
>>> path = ge.descend(ge.Surface.named("bowl"), "adam", start=(1.5, -1.0), steps=2000, lr=0.05)
>>> path.status
'converged'
"""

from __future__ import annotations

import io

import numpy as np

from gradient_explorer.descent import Trajectory
from gradient_explorer.descent import descend as _descend
from gradient_explorer.errors import UsageError
from gradient_explorer.state import LIGHTING_MODES, AppState, ViewOptions
from gradient_explorer.surface import Surface


def descend(
    surface: Surface | str,
    optimizer,
    start=None,
    steps: int = 300,
    tol: float | None = None,
    *,
    teaching: bool = False,
    **hyper,
) -> Trajectory:
    """Roll one ball downhill; see :func:`gradient_explorer.descent.descend`.

    Without ``lr`` the optimizer keeps torch.optim's defaults (the path matches torch's).
    ``teaching=True`` takes the surface's teaching start (when ``start`` is None) and the
    optimizer's teaching lr and momentum (explicit ``hyper`` still win): the defaults
    under which the window's balls visibly move.
    """
    if isinstance(surface, str):
        surface = Surface.named(surface)
    if teaching:
        if start is None:
            start = surface.teaching.start
        if isinstance(optimizer, str):
            hyper = {**surface.teaching.hyper(optimizer.lower()), **hyper}
    if start is None:
        raise UsageError("descend needs a start (or teaching=True for the teaching start)")
    kwargs = {} if tol is None else {"tol": tol}
    return _descend(surface, optimizer, start, steps, **kwargs, **hyper)


class Image(np.ndarray):
    """An (H, W, 3) uint8 RGB array that shows itself inline in Jupyter."""

    def __new__(cls, pixels: np.ndarray) -> Image:
        return np.asarray(pixels, dtype=np.uint8).view(cls)

    def png(self) -> bytes:
        from PIL import Image as PILImage

        buffer = io.BytesIO()
        PILImage.fromarray(np.asarray(self)).save(buffer, format="PNG")
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def save(self, path) -> None:
        """Write a PNG, atomically."""
        from gradient_explorer.cli.common import write_atomic

        write_atomic(path, self.png())


def render(
    surface: Surface | str,
    size: tuple[int, int] = (800, 600),
    point: tuple[float, float] | None = None,
    lighting: str = "lit",
    contours: int = 12,
    floor: bool = True,
    field: bool = False,
    normals: bool = False,
    axes: bool = True,
    view: str | None = None,
    camera: tuple[float, float, float] | None = None,
    grid: int = 256,
) -> Image:
    """Render a surface headless and return the picture as an RGB array.

    Parameters
    ----------
    surface
        A :class:`Surface` or a catalogue name.
    size
        (width, height) in pixels.
    point
        Place the point: gradient arrows, tangent plane, level curve through it.
    lighting
        ``"lit"``, ``"unlit"`` or ``"normals"``.
    view, camera
        A preset (``"top"``, ``"side"``, ``"three_quarter"``) and/or (azimuth, elevation,
        distance).
    """
    if isinstance(surface, str):
        surface = Surface.named(surface)
    if surface.dim != 2:
        raise UsageError("render draws height surfaces f(x, y); this is a curve in x")
    if lighting not in LIGHTING_MODES:
        raise UsageError(f"lighting must be one of {', '.join(LIGHTING_MODES)}, got {lighting!r}")
    width, height = (int(v) for v in size)
    options = ViewOptions(
        lighting=lighting,
        contours=int(contours),
        floor=bool(floor or field),
        field=bool(field),
        normal_arrows=bool(normals),
        axes=bool(axes),
        grid=int(grid),
    ).validate()
    state = AppState.for_surface(surface, aspect=width / max(height, 1), view=options)
    if view is not None:
        state.camera.preset(view, width / height, snap=True)
    if camera is not None:
        az, el, dist = (float(v) for v in camera)
        state.camera.set_state({"azimuth": az, "elevation": el, "distance": dist})
    if point is not None:
        state.point = (float(point[0]), float(point[1]))
    from gradient_explorer.headless import render_image

    return Image(render_image(state, (width, height)))


__all__ = ["Image", "Surface", "Trajectory", "descend", "render"]
