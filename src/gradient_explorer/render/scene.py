"""The 3D scene: the thin wiring from the app's state to the visuals.

:class:`SceneRenderer` owns every visual (and so every GL object) and draws an
:class:`~gradient_explorer.app.state.AppState` into the bound framebuffer: for each visual
shown, ``update`` it with its own data taken from the state, then ``draw`` it with the
frame's :class:`~gradient_explorer.render.visuals.visual.FrameUniforms` (the contract is
in :mod:`gradient_explorer.render.visuals.visual`). The window and the headless
``render`` command both call it: one code path for both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradient_explorer.app.curve_mode import active_curve
from gradient_explorer.app.state import AppState
from gradient_explorer.render.gl_direct import DirectDraw
from gradient_explorer.render.label import Label
from gradient_explorer.render.visuals._gl import reset_gl_state
from gradient_explorer.render.visuals.attack_visual import AttackData, AttackVisual
from gradient_explorer.render.visuals.axes_visual import (
    AxesData,
    AxesVisual,
    axes_geometry,
    height_ticks,
)
from gradient_explorer.render.visuals.balls_visual import BallsData, BallsVisual
from gradient_explorer.render.visuals.curve_visual import CurveData, CurveVisual
from gradient_explorer.render.visuals.field_visual import (
    FieldData,
    FieldVisual,
    NormalsData,
    NormalsVisual,
)
from gradient_explorer.render.visuals.mesh_visual import MeshVisual
from gradient_explorer.render.visuals.point_visual import (
    PointData,
    PointGeometry,
    PointVisual,
    point_geometry,
    point_mesh,
)
from gradient_explorer.render.visuals.sampled_textures import (
    bind_surface_textures,
    release_surface_textures,
)
from gradient_explorer.render.visuals.slice_visual import SliceData, SliceVisual
from gradient_explorer.render.visuals.surface_visual import (
    FloorVisual,
    SurfaceLook,
    SurfaceVisual,
)
from gradient_explorer.render.visuals.visual import FrameUniforms
from gradient_explorer.surfaces.surface import FLOAT32_MAX, Surface
from gradient_explorer.view.formatting import format_number

__all__ = [
    "Label",
    "PointGeometry",
    "SceneRenderer",
    "axes_geometry",
    "drawing_note",
    "height_ticks",
    "point_geometry",
    "point_mesh",
]

#: float32's smallest normal number: a GPU value under it is 0 or loses its digits.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


class SceneRenderer:
    """Owns and draws the scene's visuals; ``release()`` frees every GL object."""

    def __init__(self, ctx, grid: int = 256):
        self.ctx = ctx
        # software GL: the surface's draw call lets a helper thread do the balls' numpy
        # work meanwhile (gl_direct); None on a GPU
        self.direct = DirectDraw.for_context(ctx)
        self._helper = None  # that thread, made when first needed
        self.surface_visual = SurfaceVisual(ctx, grid, self.direct)
        self.floor_visual = FloorVisual(ctx)
        self.field_visual = FieldVisual(ctx)
        self.normals_visual = NormalsVisual(ctx)
        self.mesh = MeshVisual(ctx)  # one vertex buffer for the axes, the point, the slice
        self.axes_visual = AxesVisual(ctx, self.mesh)
        self.point_visual = PointVisual(ctx, self.mesh)
        self.slice_visual = SliceVisual(ctx, self.mesh)
        self.labels: list[Label] = []
        self.curve_visual = None  # the 1D mode, the balls, the attack: made on first use
        self.balls_visual = None
        self.attack_visual = None

    @property
    def grid(self) -> int:
        return self.surface_visual.grid

    def set_grid(self, grid: int) -> None:
        if grid != self.surface_visual.grid:
            self.surface_visual.release()
            self.surface_visual = SurfaceVisual(self.ctx, grid, self.direct)

    def render(
        self,
        state: AppState,
        size: tuple[int, int],
        clear: bool = True,
        with_labels: Callable[[list[Label]], None] | None = None,
    ) -> list[Label]:
        """Draw the scene into the bound framebuffer of ``size`` (pixels); return labels.

        ``with_labels(labels)``, numpy work on the frame's labels that makes no GL call
        (a headless picture's label layout), runs on the helper thread with the balls'
        where the surface's draw call lets it (software GL), else here, before the draws.
        """
        ctx = self.ctx
        width, height = size
        if width <= 0 or height <= 0:  # minimised: nothing to draw, nothing to break
            return []
        view = state.view
        surface = state.surface
        reset_gl_state(ctx)  # what each visual may assume (imgui changed it since)
        if clear:
            ctx.clear(*view.background, 1.0, depth=1.0)
        frame = FrameUniforms.from_camera(state.camera, size, view.light_direction)
        if getattr(state, "mode", "surface") == "curve" or surface.dim == 1:
            self.curve_visual = self.curve_visual or CurveVisual(ctx)
            insets = getattr(view, "insets", (0.0, 0.0))
            axes = bool(getattr(view, "axes", True))
            self.curve_visual.update(CurveData(active_curve(state), state.curve, insets, axes))
            self.curve_visual.draw(frame)
            self.labels = self.curve_visual.labels
            return self.labels
        self.set_grid(view.grid)
        heights = surface.height_range()
        point = state.point
        geometry = None
        if point:
            self.point_visual.update(
                PointData(surface, tuple(point), heights.floor_z, view.tangent_plane)
            )
            geometry = self.point_visual.geometry
        look = SurfaceLook(
            surface,
            heights,
            view.lighting,
            view.contours,
            view.line_width,
            geometry.level if geometry is not None else None,
        )
        drawn = [(self.surface_visual, look)]
        if view.floor:
            drawn.append((self.floor_visual, look))
            if view.field:
                drawn.append((self.field_visual, FieldData(look, view.field_grid)))
        if view.normal_arrows:
            length = 0.06 * surface.extent
            drawn.append((self.normals_visual, NormalsData(look, 16, length)))
        if view.axes:
            drawn.append((self.axes_visual, AxesData(surface, heights, state.axes_base())))
        if geometry is not None:
            if getattr(view, "slice", False):  # the point panel's direction dial
                direction = getattr(state, "direction", 0.0)
                drawn.append((self.slice_visual, SliceData(surface, tuple(point), direction)))
            drawn.append((self.point_visual, None))  # updated above: the look needs it
        descent = getattr(state, "descent", None)
        balls = None
        if descent is not None and descent.active:
            self.balls_visual = self.balls_visual or BallsVisual(ctx)
            balls = BallsData(descent, surface, heights, view.floor)
            drawn.append((self.balls_visual, balls))
        attack = getattr(state, "input_attack", None)
        # the input plane's attack, on the loss surface it belongs to
        if attack is not None and (attack.surface is None or attack.surface is surface):
            self.attack_visual = self.attack_visual or AttackVisual(ctx)
            at = tuple(point) if point else None
            drawn.append((self.attack_visual, AttackData(surface, heights, attack, at)))
        # a sampled surface's data, read by every visual's f(); formulas: nothing to bind
        bind_surface_textures(ctx, surface)
        for visual, data in drawn:  # every visual's data first: the labels are known
            if data is not None:
                visual.update(data)
        self.labels = labels = self.axes_visual.labels if view.axes else []

        def numpy_work() -> None:
            if balls is not None:
                self.balls_visual.prepare(frame)
            if with_labels is not None:
                with_labels(labels)

        job = None
        work = balls is not None or with_labels is not None
        if work and self.direct is not None and self.direct.ok:
            # on the helper thread while the surface's draw call (drawn first) holds this
            # one; the balls' GL calls stay here, in the same order
            job = self._helper_thread().submit(numpy_work)
        elif with_labels is not None:
            with_labels(labels)
        try:
            for visual, _data in drawn:
                visual.draw(frame)
                if job is not None and visual is self.surface_visual:
                    done, job = job, None
                    done.result()  # its error, if any, is raised here
        finally:
            if job is not None:  # the surface's draw failed: let the job end first
                job.exception()
        return labels

    def _helper_thread(self):
        if self._helper is None:
            from concurrent.futures import ThreadPoolExecutor  # only where there is such work

            self._helper = ThreadPoolExecutor(1, thread_name_prefix="gradient-explorer-prepare")
        return self._helper

    def release(self) -> None:
        if self._helper is not None:  # idle between frames: ends at once
            self._helper.shutdown()
            self._helper = None
        for visual in (
            self.surface_visual,
            self.floor_visual,
            self.field_visual,
            self.normals_visual,
            self.axes_visual,
            self.point_visual,
            self.slice_visual,
            self.mesh,
        ):
            visual.release()
        for visual in (self.curve_visual, self.balls_visual, self.attack_visual):
            if visual is not None:
                visual.release()
        self.curve_visual = self.balls_visual = self.attack_visual = None
        release_surface_textures(self.ctx)


def drawing_note(surface: Surface) -> str | None:
    """One line when f over the domain is past what float32 (the GPU's numbers) can draw.

    Heights beyond float32's largest number are left out of the picture (the shader gets
    inf there) and an f that stays under its smallest normal number draws flat at 0;
    the note says which, with the value. None when everything can be drawn.
    """
    if surface.dim != 2:
        return None
    return surface.memo(("drawing_note",), lambda: _drawing_note(surface))


def _drawing_note(surface: Surface) -> str | None:
    fv = surface.sampled_f(129)  # the samples of the height range
    fv = fv[np.isfinite(fv)]
    if fv.size == 0:  # log(-1 - x^2 - y^2): an empty picture must say why
        box = " x ".join(
            f"[{format_number(a, 'g')}, {format_number(b, 'g')}]" for a, b in surface.domain
        )
        return (
            f"note: f is undefined everywhere on the domain {box} (not a finite number at "
            "any point sampled): nothing to draw"
        )
    peak = float(fv[np.argmax(np.abs(fv))])
    if abs(peak) > FLOAT32_MAX:
        return (
            f"note: f reaches {format_number(peak, '.3g')} here, past the "
            f"{FLOAT32_MAX:.3g} the GPU's float32 holds: those heights are left out"
        )
    if 0.0 < abs(peak) < FLOAT32_TINY:
        return (
            f"note: |f| stays under {format_number(abs(peak), '.3g')}, below the "
            f"{FLOAT32_TINY:.3g} float32 can tell from 0: the surface is drawn flat"
        )
    return None
