"""The visuals' contract (render/visuals/visual.py): update(data), draw(frame), release();
GL state set by the visual that needs it and put back; one growable buffer helper."""

from __future__ import annotations

import ast
import ctypes
import ctypes.util
import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render import visuals as visuals_package
from gradient_explorer.surfaces.surface import Surface

moderngl = pytest.importorskip("moderngl")

from gradient_explorer.render.scene import SceneRenderer  # noqa: E402
from gradient_explorer.render.visuals._gl import (  # noqa: E402
    BASELINE,
    GrowableBuffer,
    gl_state,
    reset_gl_state,
)
from gradient_explorer.render.visuals.visual import FrameUniforms, Visual  # noqa: E402

VISUAL_DIR = Path(visuals_package.__file__).parent
SIZE = (64, 48)


def _visual_modules():
    for info in pkgutil.iter_modules([str(VISUAL_DIR)]):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"gradient_explorer.render.visuals.{info.name}")


def _visual_classes():
    out = []
    for module in _visual_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Visual)
                and value.draw is not Visual.draw  # not a base (MeshDrawnVisual)
                and value.__module__ == module.__name__
            ):
                out.append(value)
    return out


def test_every_visual_has_the_same_three_methods():
    classes = _visual_classes()
    names = {c.__name__ for c in classes}
    assert names >= {
        "SurfaceVisual", "FloorVisual", "FieldVisual", "NormalsVisual", "AxesVisual",
        "PointVisual", "SliceVisual", "BallsVisual", "CurveVisual",
    }  # fmt: skip
    for cls in classes:
        for method in ("update", "draw", "release"):
            assert callable(getattr(cls, method)), (cls, method)
            assert getattr(cls, method) is not getattr(Visual, method) or method == "update"


def test_visuals_import_neither_the_scene_nor_the_app_state():
    # data flows one way: the scene updates the visuals with their own data
    for path in VISUAL_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in (
                    "gradient_explorer.render.scene",
                    "gradient_explorer.app.state",
                ), path.name


# ---------------------------------------------------------------------- GL state


def _gl_functions():
    name = ctypes.util.find_library("OpenGL") or ctypes.util.find_library("GL")
    if name is None:
        pytest.skip("no libOpenGL to read the GL state back")
    lib = ctypes.CDLL(name)
    lib.glIsEnabled.restype = ctypes.c_ubyte
    lib.glIsEnabled.argtypes = [ctypes.c_uint]
    lib.glGetIntegerv.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_int)]
    lib.glGetBooleanv.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_ubyte)]
    return lib


GL_FLAGS = {"depth_test": 0x0B71, "blend": 0x0BE2, "cull_face": 0x0B44,
            "program_point_size": 0x8642, "scissor_test": 0x0C11}  # fmt: skip
GL_LESS = 0x0201


def _read_state(gl) -> dict:
    state = {name: bool(gl.glIsEnabled(code)) for name, code in GL_FLAGS.items()}
    mask = ctypes.c_ubyte()
    gl.glGetBooleanv(0x0B72, ctypes.byref(mask))  # GL_DEPTH_WRITEMASK
    func = ctypes.c_int()
    gl.glGetIntegerv(0x0B74, ctypes.byref(func))  # GL_DEPTH_FUNC
    state["depth_mask"] = bool(mask.value)
    state["depth_func"] = func.value
    return state


EXPECTED = {
    "depth_test": True, "blend": False, "cull_face": False, "program_point_size": False,
    "scissor_test": False, "depth_mask": True, "depth_func": GL_LESS,
}  # fmt: skip


def _states():
    bowl = Surface.named("himmelblau")
    view = dict(grid=16, floor=True, field=True, normal_arrows=True, contours=4, slice=True)
    everything = AppState.for_surface(bowl, aspect=SIZE[0] / SIZE[1], view=ViewOptions(**view))
    everything.point = (1.0, 1.0)
    everything.descent.kind = "race"
    everything.descent.glyphs.gradient = everything.descent.glyphs.second_moment = True
    everything.descent.start_run(bowl, (0.5, 0.5))
    everything.descent.step(3)
    swarm = AppState.for_surface(bowl, aspect=SIZE[0] / SIZE[1], view=ViewOptions(**view))
    swarm.descent.kind, swarm.descent.swarm_size = "swarm", 300  # point sprites
    swarm.descent.start_run(bowl)
    swarm.descent.step(2)
    few = AppState.for_surface(bowl, aspect=SIZE[0] / SIZE[1], view=ViewOptions(**view))
    few.descent.kind, few.descent.swarm_size = "swarm", 30  # fine spheres, one-pixel trails
    few.descent.start_run(bowl)
    few.descent.step(2)
    curve = AppState.for_surface(Surface.named("cubic"), aspect=SIZE[0] / SIZE[1])
    curve.mode = "curve"
    return {"everything": everything, "swarm": swarm, "few": few, "curve": curve}


@pytest.mark.gl
@pytest.mark.parametrize("name", ["everything", "swarm", "few", "curve"])
def test_each_visual_leaves_the_gl_state_as_it_found_it(ctx, monkeypatch, name):
    gl = _gl_functions()
    state = _states()[name]
    after: list[tuple[str, dict]] = []
    for cls in _visual_classes():
        original = cls.draw

        def spy(self, frame, _original=original, _cls=cls):
            _original(self, frame)
            after.append((_cls.__name__, _read_state(gl)))

        monkeypatch.setattr(cls, "draw", spy)
    fbo = ctx.simple_framebuffer(SIZE)
    scene = SceneRenderer(ctx, grid=16)
    try:
        fbo.use()
        ctx.enable(moderngl.CULL_FACE)  # left over from elsewhere: the frame starts clean
        ctx.disable(moderngl.DEPTH_TEST)
        scene.render(state, SIZE)
        assert after, "no visual drew"
        drawn = {visual for visual, _ in after}
        wanted = {"curve": {"CurveVisual"}, "swarm": {"BallsVisual"}, "few": {"BallsVisual"}}
        assert drawn >= wanted.get(name, {"SurfaceVisual", "BallsVisual", "PointVisual"})
        for visual, read in after:
            assert read == EXPECTED, visual
    finally:
        scene.release()
        ctx.detect_framebuffer(0).use()
        fbo.release()


@pytest.mark.gl
def test_gl_state_nests_and_restores(ctx):
    gl = _gl_functions()
    fbo = ctx.simple_framebuffer((4, 4))
    try:
        fbo.use()
        reset_gl_state(ctx)
        assert _read_state(gl) == EXPECTED
        with gl_state(ctx, blend=True, depth_mask=False):
            assert _read_state(gl)["blend"] and not _read_state(gl)["depth_mask"]
            with gl_state(ctx, depth_test=False, blend=False):
                s = _read_state(gl)
                assert not s["depth_test"] and not s["blend"] and not s["depth_mask"]
            assert _read_state(gl)["blend"] and _read_state(gl)["depth_test"]
        assert _read_state(gl) == EXPECTED
        with pytest.raises(ValueError, match="unknown GL state"):
            with gl_state(ctx, wireframe=True):
                pass
        assert set(BASELINE) <= set(EXPECTED)
    finally:
        ctx.detect_framebuffer(0).use()
        fbo.release()


# ---------------------------------------------------------------------- growable buffer


@pytest.mark.gl
def test_growable_buffer_grows_by_doubling_and_keeps_what_is_written(ctx):
    buf = GrowableBuffer(ctx, 8, 4)
    try:
        assert (buf.capacity, buf.generation) == (4, 1)
        small = np.arange(6, dtype=np.float32).reshape(3, 2)
        assert not buf.write(small)
        assert (
            np.frombuffer(buf.buffer.read(24), dtype=np.float32).tolist() == small.ravel().tolist()
        )
        big = np.arange(10, dtype=np.float32).reshape(5, 2)
        assert buf.write(big)  # grew: vertex arrays on the old buffer must be rebuilt
        assert (buf.capacity, buf.generation) == (8, 2)
        assert np.frombuffer(buf.buffer.read(40), dtype=np.float32).tolist() == big.ravel().tolist()
        huge = np.zeros((50, 2), dtype=np.float32)
        assert buf.write(huge) and buf.capacity == 50  # more than double: just what is asked
        assert not buf.reserve(20)
    finally:
        buf.release()
        buf.release()  # twice is fine
    assert buf.buffer is None


@pytest.mark.gl
def test_draws_sharing_the_mesh_buffer_keep_their_own_vertices(ctx):
    """The mesh buffer is written again for each draw of a frame (axes, point, trails)
    and orphaned rather than overwritten: every draw must still show what it was given."""
    from gradient_explorer.render.visuals.mesh_visual import MeshVisual
    from gradient_explorer.view.camera import gl_bytes

    mesh = MeshVisual(ctx, capacity=16)
    color = ctx.renderbuffer(SIZE, 4)
    fbo = ctx.framebuffer([color])
    previous = ctx.fbo or ctx.detect_framebuffer(0)  # a released one must not stay bound
    try:
        fbo.use()
        ctx.clear(0.0, 0.0, 0.0, 1.0)
        reset_gl_state(ctx)
        ctx.disable(moderngl.DEPTH_TEST)
        identity = gl_bytes(np.eye(4))
        corners = [[-1, -1, 0], [0, -1, 0], [0, 1, 0], [-1, -1, 0], [0, 1, 0], [-1, 1, 0]]
        left = np.array(corners, dtype=float)
        mesh.draw(identity, left, (1.0, 0.0, 0.0, 1.0))
        right = left + np.array([1.0, 0.0, 0.0])
        mesh.draw(identity, right, (0.0, 1.0, 0.0, 1.0))  # same buffer, same frame
        pixels = np.frombuffer(fbo.read(components=3), np.uint8).reshape(SIZE[1], SIZE[0], 3)
        assert (pixels[:, : SIZE[0] // 2 - 1] == [255, 0, 0]).all()
        assert (pixels[:, SIZE[0] // 2 + 1 :] == [0, 255, 0]).all()
    finally:
        previous.use()
        fbo.release()
        color.release()
        mesh.release()


@pytest.mark.gl
def test_the_lighting_mode_is_compiled_into_its_own_program_and_kept(ctx):
    """Lit, unlit and normals are three programs (a define, not a branch per pixel); going
    back to a mode reuses its program."""
    from gradient_explorer.render.visuals.surface_visual import SurfaceLook, SurfaceVisual

    surface = Surface.named("banana")
    heights = surface.height_range()
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    frame = FrameUniforms.from_camera(state.camera, SIZE, state.view.light_direction)
    visual = SurfaceVisual(ctx, 8)
    fbo = ctx.simple_framebuffer(SIZE)
    previous = ctx.fbo or ctx.detect_framebuffer(0)
    try:
        fbo.use()
        programs = []
        for lighting in ("lit", "normals", "unlit", "lit"):
            visual.update(SurfaceLook(surface, heights, lighting))
            visual.draw(frame)
            defines = {"LIGHTING": {"lit": 0, "unlit": 1, "normals": 2}[lighting]}
            programs.append(visual._programs.get(surface.glsl, visual._vaos, defines)[0])
        assert len({id(p) for p in programs}) == 3 and programs[0] is programs[3]
    finally:
        previous.use()
        fbo.release()
        visual.release()


def test_surface_look_gives_the_shaders_reciprocals_of_its_ranges():
    """The surface and floor shaders multiply by these instead of dividing per pixel."""
    from gradient_explorer.render.visuals.surface_visual import SurfaceLook

    surface = Surface.named("banana")
    heights = surface.height_range()
    state = AppState.for_surface(surface, aspect=SIZE[0] / SIZE[1])
    frame = FrameUniforms.from_camera(state.camera, SIZE, state.view.light_direction)
    span = heights.hi - heights.lo
    values = SurfaceLook(surface, heights, contours=12).uniforms(frame)
    assert values["u_color_scale"] == pytest.approx(1.0 / span, rel=1e-15)
    assert values["u_level_spacing"] == pytest.approx(span / 13, rel=1e-15)
    assert values["u_level_scale"] * values["u_level_spacing"] == pytest.approx(1.0, rel=1e-15)
    no_lines = SurfaceLook(surface, heights, contours=0).uniforms(frame)
    assert no_lines["u_level_spacing"] == pytest.approx(span / 2, rel=1e-15)  # as max(n, 1) + 1
    flat = type(heights)(1.0, 1.0, 0.0, 2.0, 0.0)  # an empty colour range: no level curves
    values = SurfaceLook(surface, flat, contours=12).uniforms(frame)
    assert values["u_level_scale"] == 0.0 and values["u_color_scale"] == 1e12
    assert values["u_level_spacing"] == 1e30  # every pixel a huge distance from a line


def test_frame_uniforms_match_the_camera():
    state = AppState.for_surface(Surface.named("bowl"), aspect=SIZE[0] / SIZE[1])
    camera = state.camera
    frame = FrameUniforms.from_camera(camera, SIZE, state.view.light_direction)
    aspect = SIZE[0] / SIZE[1]
    np.testing.assert_array_equal(frame.mvp, camera.view_projection(aspect))
    np.testing.assert_allclose(frame.mvp, frame.projection @ frame.view)
    np.testing.assert_array_equal(frame.eye, camera.eye)
    rotation = camera.view_matrix()[:3, :3]
    np.testing.assert_allclose(frame.light_view, rotation @ np.array(state.view.light_direction))
    assert frame.pixels_per_unit_at_w1 == pytest.approx(
        0.5 * SIZE[1] * camera.projection_matrix(aspect)[1, 1]
    )
    light = np.array(state.view.light_direction)
    np.testing.assert_allclose(frame.light_unit, light / np.sqrt(light @ light), rtol=1e-15)
    assert frame.uniforms()["u_light_unit"] == tuple(frame.light_unit)


@pytest.mark.gl
def test_point_and_axes_follow_the_height_slider(ctx):
    """The height slider makes a copy with a new scale and the same sources: the point's
    dot, tangent plane and level (and the axes' ticks) must move with the drawn surface."""
    from gradient_explorer.render.visuals.point_visual import PointData, PointVisual
    from gradient_explorer.surfaces.surface import Surface

    surface = Surface.from_expr("x^2 + y^2")
    visual = PointVisual(ctx)
    try:
        visual.update(PointData(surface, (1.0, 0.5), -1.0, True))
        before = visual.geometry.level
        taller = surface.with_params()
        taller.height_scale = 3.0 * surface.height_scale
        visual.update(PointData(taller, (1.0, 0.5), -1.0, True))
        assert visual.geometry.level == pytest.approx(3.0 * before)
        assert visual.geometry.level == pytest.approx(float(taller.height([1.0, 0.5])))
    finally:
        visual.release()


def test_the_slice_arrow_rises_by_the_directional_derivative_of_the_drawn_height():
    """run 1 along u, rise grad(h) . u: the analytic slope, on a linear and a log1p scale."""
    from gradient_explorer.render.visuals.slice_visual import direction_vector, slice_geometry
    from gradient_explorer.surfaces.surface import Surface

    for surface in (Surface.from_expr("x^2 + 3*y"), Surface.named("banana")):
        point, degrees = (0.5, 0.25), 30.0
        lines, arrow = slice_geometry(surface, point, degrees)
        assert lines is not None and len(lines) > 10
        u = direction_vector(degrees)
        eps = 1e-6
        xy = np.array(point)
        want = (surface.height(xy + eps * u) - surface.height(xy - eps * u)) / (2 * eps)
        # the arrow's tip is its farthest vertex from the base point
        base = np.array([*point, float(surface.height(xy))])
        tip = arrow.reshape(-1, 3)[np.argmax(np.linalg.norm(arrow.reshape(-1, 3) - base, axis=1))]
        v = tip - base
        assert v[2] / np.hypot(v[0], v[1]) == pytest.approx(want, rel=1e-4)
