"""The contract every visual keeps, in the manner of vispy's visuals.

A visual owns its programs, buffers and vertex arrays and has three methods:

- ``update(data)``: its own data (a surface and how to draw it, a descent run, a curve),
  never the app's whole state; geometry that depends only on the data is rebuilt here
  (or cached on it);
- ``draw(frame)``: draw into the bound framebuffer with the frame's
  :class:`FrameUniforms` (matrices, eye, light, viewport size). The visual sets the GL
  state it needs around its draw calls (:func:`~gradient_explorer.render.visuals._gl.gl_state`)
  and restores it, so each draw starts from :data:`~gradient_explorer.render.visuals._gl.BASELINE`;
- ``release()``: free its GL objects; safe to call twice.

A visual whose draw does much numpy work may also have ``prepare(frame)``: that work for
the next ``draw(frame)``, with no GL call, on any thread (the balls: the scene runs it on
a helper thread while a software rasterizer's draw call of the surface holds the GL one).

:class:`~gradient_explorer.render.scene.SceneRenderer` is the wiring: for each visual
shown, update it with its data from the app state, then draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from gradient_explorer.view.camera import OrbitCamera, gl_bytes

__all__ = ["FrameUniforms", "Visual"]


@dataclass(frozen=True, eq=False)
class FrameUniforms:
    """What every visual of one frame shares.

    Attributes
    ----------
    size : (int, int)
        The viewport in pixels.
    mvp : ndarray (4, 4)
        World to clip, ``clip = mvp @ [p, 1]`` (camera.py's conventions).
    view, projection : ndarray (4, 4)
        World to eye, eye to clip; ``mvp = projection @ view``.
    eye : ndarray (3,)
        The camera's position in world coordinates.
    light_dir : ndarray (3,)
        Direction toward the light, world coordinates.
    """

    size: tuple[int, int]
    mvp: np.ndarray
    view: np.ndarray
    projection: np.ndarray
    eye: np.ndarray
    light_dir: np.ndarray

    @classmethod
    def from_camera(cls, camera: OrbitCamera, size: tuple[int, int], light_dir) -> FrameUniforms:
        width, height = (max(int(v), 1) for v in size)
        aspect = width / height
        return cls(
            (width, height),
            np.asarray(camera.view_projection(aspect), dtype=np.float64),
            np.asarray(camera.view_matrix(), dtype=np.float64),
            np.asarray(camera.projection_matrix(aspect), dtype=np.float64),
            np.asarray(camera.eye, dtype=np.float64),
            np.asarray(light_dir, dtype=np.float64),
        )

    @cached_property
    def mvp_bytes(self) -> bytes:
        """:attr:`mvp` packed for a ``mat4`` uniform."""
        return gl_bytes(self.mvp)

    @property
    def pixels_per_unit_at_w1(self) -> float:
        """Pixels per eye-space unit at clip w = 1 (viewport height * P[1, 1] / 2)."""
        return 0.5 * self.size[1] * float(self.projection[1, 1])

    @property
    def light_view(self) -> np.ndarray:
        """The light direction in eye coordinates."""
        return self.view[:3, :3] @ self.light_dir

    @cached_property
    def light_unit(self) -> np.ndarray:
        """:attr:`light_dir` at unit length (a shader then need not normalize it per pixel)."""
        norm = float(np.linalg.norm(self.light_dir))
        return self.light_dir / norm if norm > 0.0 and np.isfinite(norm) else self.light_dir

    def uniforms(self) -> dict:
        """The shared uniforms, by the shaders' names."""
        return {
            "u_mvp": self.mvp_bytes,
            "u_eye": tuple(float(v) for v in self.eye),
            "u_light_dir": tuple(float(v) for v in self.light_dir),
            "u_light_unit": tuple(float(v) for v in self.light_unit),
        }


class Visual:
    """Base of the visuals: ``update(data)``, ``draw(frame)``, ``release()``."""

    data: Any = None

    def update(self, data: Any) -> None:
        """Take the data to draw (see each visual for its type)."""
        self.data = data

    def draw(self, frame: FrameUniforms) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
