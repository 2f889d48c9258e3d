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

from gradient_explorer.app.curve_mode import follow_surface
from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.errors import UsageError
from gradient_explorer.fileio import write_atomic
from gradient_explorer.optim.descent import Trajectories, Trajectory
from gradient_explorer.optim.descent import descend as _descend
from gradient_explorer.surfaces.surface import Surface, check_point


def descend(
    surface: Surface | str,
    optimizer,
    start=None,
    steps: int = 300,
    tol: float | None = None,
    *,
    teaching: bool = False,
    schedule=None,
    **hyper,
) -> Trajectory | Trajectories:
    """Roll one ball downhill, or N at once from an ``(N, 2)`` start; see
    :func:`gradient_explorer.optim.descent.descend`.

    ``schedule`` is a learning-rate schedule spec (``"step:100:0.5"``, ``"exponential:0.99"``,
    ``"cosine:300"``, ``"warmup_cosine:30:300"``) or a
    :class:`~gradient_explorer.optim.schedules.Schedule`, stepped after each step as torch's.

    Without ``lr`` the optimizer keeps torch.optim's defaults (the path matches torch's).
    ``teaching=True`` takes the surface's teaching start (when ``start`` is None) and the
    optimizer's teaching lr and momentum (explicit ``hyper`` still win): the defaults
    under which the window's balls visibly move.
    """
    if isinstance(surface, str):
        surface = Surface.named(surface)
    kwargs = {} if tol is None else {"tol": tol}
    return _descend(
        surface, optimizer, start, steps, **kwargs, teaching=teaching, schedule=schedule, **hyper
    )


class Image(np.ndarray):
    """An (H, W, 3) uint8 RGB array that shows itself inline in Jupyter."""

    def __new__(cls, pixels: np.ndarray) -> Image:
        return np.asarray(pixels, dtype=np.uint8).view(cls)

    def png(self) -> bytes:
        from PIL import Image as PILImage

        buffer = io.BytesIO()
        # zlib level 1: half the encoding time of the default for a file ~20% larger
        PILImage.fromarray(np.asarray(self)).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def save(self, path) -> None:
        """Write a PNG, atomically."""
        write_atomic(path, self.png())


def render(
    surface: Surface | str,
    size: tuple[int, int] = (800, 600),
    point: tuple[float, float] | float | None = None,
    lighting: str | None = None,
    contours: int | None = None,
    floor: bool | None = None,
    field: bool = False,
    normals: bool = False,
    axes: bool = True,
    view: str | None = None,
    camera: tuple[float, float, float] | None = None,
    grid: int | None = None,
) -> Image:
    """Render a surface or a curve headless and return the picture as an RGB array.

    A height surface f(x, y) gets the 3D view; a curve f(x) the 1D mode's picture: the
    curve, f' beneath it, the tangent at ``point`` and the points where f' = 0 with their
    verdicts (values too large to draw are clipped at the plot's edge).

    Parameters
    ----------
    surface
        A :class:`Surface` or a catalogue name.
    size
        (width, height) in pixels.
    point
        Place the point: (x, y) on a surface (gradient arrows, tangent plane, level curve
        through it); x (or (x,)) on a curve (the tangent line). Inside the domain: else
        :class:`~gradient_explorer.errors.UsageError`, the line ``render --point`` prints.
    lighting
        ``"lit"`` (default), ``"unlit"`` or ``"normals"``.
    contours, floor, field, normals, grid
        Level curves, the floor map, gradient arrows on the floor, normal arrows, vertices
        per side; None (or False) keeps :class:`~gradient_explorer.app.state.ViewOptions`'
        default (12 levels, the floor on, 256 vertices).
    view, camera
        A preset (``"top"``, ``"side"``, ``"three_quarter"``) and/or (azimuth, elevation,
        distance).

    The options of the 3D view (lighting, contours, floor, field, normals, grid, view,
    camera) raise :class:`~gradient_explorer.errors.UsageError` for a curve.
    """
    if isinstance(surface, str):
        surface = Surface.named(surface)
    width, height = (int(v) for v in size)
    if surface.dim == 1:
        given = {"lighting": lighting, "contours": contours, "floor": floor, "grid": grid,
                 "view": view, "camera": camera, "field": field or None,
                 "normals": normals or None}  # fmt: skip
        for name, value in given.items():
            if value is not None:
                raise UsageError(f"{name} is for the 3D view of a surface f(x, y), not a curve")
        state = _curve_state(surface, point, axes)
    else:
        state = _surface_state(surface, (width, height), point, lighting, contours, floor,
                               field, normals, axes, view, camera, grid)  # fmt: skip
    # GL loads on the first picture: descend() and the numerics stay free of moderngl.
    from gradient_explorer.render.headless import render_image

    return Image(render_image(state, (width, height)))


def _curve_state(surface: Surface, point, axes: bool) -> AppState:
    state = AppState(surface=surface, view=ViewOptions().override(axes=axes))
    follow_surface(state)
    if point is not None:
        (state.curve.x,) = check_point(point, surface.domain)
    return state


def _surface_state(surface, size, point, lighting, contours, floor, field, normals, axes,
                   view, camera, grid) -> AppState:  # fmt: skip
    # None and False (the flags' defaults) leave ViewOptions' own defaults in place
    options = ViewOptions().override(
        lighting=lighting,
        contours=contours,
        floor=floor,
        field=field or None,
        normal_arrows=normals or None,
        axes=axes,
        grid=grid,
    )
    width, height = size
    state = AppState.for_surface(surface, aspect=width / max(height, 1), view=options)
    if point is not None:
        state.point = check_point(point, surface.domain)
        state.frame_camera(width / max(height, 1))  # the home view fits its arrow and plane
    if view is not None:
        state.camera.preset(view, width / height, snap=True)
    if camera is not None:
        az, el, dist = (float(v) for v in camera)
        state.camera.set_state({"azimuth": az, "elevation": el, "distance": dist})
    return state


__all__ = ["Image", "Surface", "Trajectories", "Trajectory", "descend", "render"]
