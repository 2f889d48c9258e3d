"""Evaluate a surface with the renderer's generated GLSL and read the numbers back.

The same generated ``f``, ``grad_f`` and ``hess_f`` that light the surface run here in a
fragment shader writing float32 values, one point per pixel. This is how the tests hold
the picture to the numbers, and how ``probe --gpu`` shows both side by side.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from gradient_explorer.render.gl import create_headless_context
from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.render.visuals.sampled_textures import bind_surface_textures
from gradient_explorer.surfaces.surface import Surface


class GpuEvaluator:
    """Owns one probe program per surface source; ``release()`` frees everything."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self._programs: dict[str, moderngl.Program] = {}

    def program(self, surface: Surface) -> moderngl.Program:
        prog = self._programs.get(surface.glsl)
        if prog is None:
            prog = load_program(self.ctx, "probe", generated=surface.glsl)
            self._programs[surface.glsl] = prog
        return prog

    def evaluate(self, surface: Surface, points) -> dict[str, np.ndarray]:
        """f, gradient, Hessian and displayed height at ``points`` (N, 2), computed on the GPU.

        Curves take points of shape (N,). Values come back as float64 arrays of float32
        results; the Hessian as (N, 3) = (f_xx, f_xy, f_yy).
        """
        pts = np.asarray(points, dtype=np.float64)
        if surface.dim == 1:
            pts = np.stack([pts.reshape(-1), np.zeros(pts.size)], -1)
        pts = pts.reshape(-1, 2)
        n = len(pts)
        width = min(n, 256)
        height = math.ceil(n / width)
        prog = self.program(surface)
        bind_surface_textures(self.ctx, surface)
        for name, value in surface.uniforms().items():
            if name in prog:
                prog[name].value = value
        prog["u_width"].value = width
        prog["u_size"].value = (width, height)
        if "u_height_scale" in prog:
            prog["u_height_scale"].value = surface.height_scale
        ctx = self.ctx
        targets = [ctx.texture((width, height), 4, dtype="f4") for _ in range(2)]
        fbo = ctx.framebuffer(color_attachments=targets)
        vbo = ctx.buffer(pts.astype("f4").tobytes())
        vao = ctx.vertex_array(prog, [(vbo, "2f", "in_xy")])
        previous = ctx.fbo or ctx.detect_framebuffer(0)
        try:
            fbo.use()
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            vao.render(moderngl.POINTS, vertices=n)
            values = np.frombuffer(fbo.read(components=4, dtype="f4", attachment=0), "f4")
            curvature = np.frombuffer(fbo.read(components=4, dtype="f4", attachment=1), "f4")
        finally:
            # Releasing a bound framebuffer leaves GL_INVALID_OPERATION behind.
            previous.use()
            for obj in (vao, vbo, fbo, *targets):
                obj.release()
        values = values.reshape(-1, 4)[:n].astype(np.float64)
        curvature = curvature.reshape(-1, 4)[:n].astype(np.float64)
        return {
            "f": values[:, 0],
            "gradient": values[:, 1:3],
            "height": values[:, 3],
            "hessian": curvature[:, :3],
        }

    def release(self) -> None:
        for prog in self._programs.values():
            prog.release()
        self._programs.clear()


def gpu_probe(surface: Surface, point) -> dict:
    """``probe --gpu``: f and gradient from the shader code, on a headless EGL context."""
    ctx = create_headless_context()
    evaluator = GpuEvaluator(ctx)
    try:
        pts = np.asarray(point, dtype=np.float64).reshape(1, -1)
        if surface.dim == 1:
            pts = pts[:, 0]
        out = evaluator.evaluate(surface, pts)
        renderer = ctx.info.get("GL_RENDERER", "unknown")
    finally:
        evaluator.release()
        ctx.release()

    def num(v):
        v = float(v)
        return v + 0.0 if math.isfinite(v) else None

    grad = out["gradient"][0]
    return {
        "f": num(out["f"][0]),
        "gradient": [num(grad[0]), num(grad[1])] if surface.dim == 2 else num(grad[0]),
        "precision": "float32",
        "renderer": renderer,
    }
