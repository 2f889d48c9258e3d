"""Draw Dear ImGui's draw data with moderngl, including imgui 1.92's texture protocol.

imgui 1.92 no longer hands the backend a finished font atlas. With
``ImGuiBackendFlags_RendererHasTextures`` set, imgui lists its textures in
``draw_data.textures`` and asks, per texture, to create it, update parts of it (new
glyphs are baked on demand) or destroy it; the backend answers by setting the texture id
and the status. This renderer does that with moderngl textures whose GL names are the
imgui texture ids, so app textures registered with :meth:`ImguiRenderer.register_texture`
share the same id space.
"""

from __future__ import annotations

import ctypes

import moderngl
import numpy as np
from imgui_bundle import imgui

from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render.overlay_gl import OVERLAY_BLEND_FUNC, ortho
from gradient_explorer.render.shader_loader import load_program

__all__ = ["ImguiRenderer"]

_Status = imgui.ImTextureStatus

# Start with room for a typical overlay; buffers grow by doubling.
_INITIAL_VERTICES = 16384
_INITIAL_INDICES = 32768


class ImguiRenderer:
    """Render ``imgui.get_draw_data()`` into the bound moderngl framebuffer.

    Create it after ``imgui.create_context()``; it serves the imgui context that is
    current at construction, and turns off imgui's default ``imgui.ini`` in the working
    directory.

    Parameters
    ----------
    ctx : moderngl.Context
        The context to draw with (the window's context in the app).

    Notes
    -----
    GL state: :meth:`render` enables only blending for its draws, then restores the
    enable flags (blend, depth test, cull face, ...) that moderngl tracks, the
    framebuffer's viewport and scissor, and wireframe mode. moderngl cannot read back
    the blend function, so it is left at moderngl's default
    (``SRC_ALPHA, ONE_MINUS_SRC_ALPHA`` with ``FUNC_ADD``); texture unit 0 is left
    bound to the last imgui texture.
    """

    def __init__(self, ctx: moderngl.Context) -> None:
        imgui_ctx = imgui.get_current_context()
        if imgui_ctx is None:
            raise GradientExplorerError("create an imgui context before the ImguiRenderer")
        self.ctx = ctx
        self._imgui_ctx = imgui_ctx
        self._released = False

        self._program = load_program(ctx, "imgui")
        self._u_projection = self._program["u_projection"]
        self._program["u_texture"].value = 0
        self._vbo = ctx.buffer(reserve=_INITIAL_VERTICES * imgui.VERTEX_SIZE, dynamic=True)
        self._ibo = ctx.buffer(reserve=_INITIAL_INDICES * imgui.INDEX_SIZE, dynamic=True)
        # ImDrawVert: vec2 pos, vec2 uv, 4 x u8 colour (normalised by "4f1").
        self._vao = ctx.vertex_array(
            self._program,
            [(self._vbo, "2f 2f 4f1", "in_position", "in_texcoord", "in_color")],
            index_buffer=self._ibo,
            index_element_size=imgui.INDEX_SIZE,
        )

        # imgui texture id (= GL name) -> texture; owned ones are created for imgui.
        self._textures: dict[int, moderngl.Texture] = {}
        self._owned: dict[int, moderngl.Texture] = {}

        io = imgui.get_io()
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
        if io.get_ini_filename() == "imgui.ini":
            # The project never writes imgui.ini into the working directory, even when
            # the app forgot ImguiInput (which sets this too).
            io.set_ini_filename(None)
        # io.backend_renderer_name is read-only in imgui-bundle 1.93, so it stays unset.
        max_size = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
        platform_io = imgui.get_platform_io()
        platform_io.renderer_texture_max_width = max_size
        platform_io.renderer_texture_max_height = max_size

    # ------------------------------------------------------------------ textures

    @property
    def texture_count(self) -> int:
        """Number of live textures created through imgui's texture protocol."""
        return len(self._owned)

    @property
    def gl_objects(self) -> tuple[object, ...]:
        """The moderngl objects this renderer still owns (empty after :meth:`release`)."""
        if self._released:
            return ()
        return (self._program, self._vbo, self._ibo, self._vao, *self._owned.values())

    def register_texture(self, texture: moderngl.Texture) -> imgui.ImTextureRef:
        """Make an app texture drawable with ``imgui.image``.

        Parameters
        ----------
        texture : moderngl.Texture
            A 2D texture of the same context; the renderer does not take ownership.

        Returns
        -------
        imgui.ImTextureRef
            Reference to pass to ``imgui.image`` (its id is ``texture.glo``).
        """
        self._textures[texture.glo] = texture
        return imgui.ImTextureRef(texture.glo)

    def unregister_texture(self, texture: moderngl.Texture) -> None:
        """Forget an app texture (before releasing it)."""
        if texture.glo not in self._owned:
            self._textures.pop(texture.glo, None)

    def update_textures(self, draw_data: imgui.ImDrawData | None = None) -> None:
        """Answer imgui's create/update/destroy requests (called by :meth:`render`)."""
        self._check_alive()
        textures = (draw_data or imgui.get_draw_data()).textures
        for tex in textures:
            if tex.status != _Status.ok:
                self._update_texture(tex)

    def _update_texture(self, tex: imgui.ImTextureData) -> None:
        status = tex.status
        if status == _Status.want_create:
            components = tex.bytes_per_pixel
            texture = self.ctx.texture((tex.width, tex.height), components)
            if tex.format == imgui.ImTextureFormat.alpha8:
                texture.swizzle = "111R"  # white glyphs with coverage in alpha
            # Bilinear: imgui's anti-aliased lines sample baked textures between texels.
            texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            texture.repeat_x = texture.repeat_y = False
            texture.write(tex.get_pixels_array())
            self._owned[texture.glo] = texture
            self._textures[texture.glo] = texture
            tex.set_tex_id(texture.glo)
            tex.status = _Status.ok
        elif status == _Status.want_updates:
            texture = self._owned[tex.tex_id]
            pixels = tex.get_pixels_array().reshape(tex.height, tex.width, tex.bytes_per_pixel)
            rects = list(tex.updates) or [tex.update_rect]
            for r in rects:
                if r.w == 0 or r.h == 0:
                    continue
                block = np.ascontiguousarray(pixels[r.y : r.y + r.h, r.x : r.x + r.w])
                texture.write(block, viewport=(r.x, r.y, r.w, r.h))
            tex.status = _Status.ok
        elif status == _Status.want_destroy:
            texture = self._owned.pop(tex.tex_id, None)
            if texture is not None:
                self._textures.pop(texture.glo, None)
                texture.release()
            tex.set_tex_id(0)
            tex.status = _Status.destroyed

    # ------------------------------------------------------------------ drawing

    def render(
        self,
        draw_data: imgui.ImDrawData | None = None,
        framebuffer: moderngl.Framebuffer | None = None,
    ) -> None:
        """Draw one frame of imgui on top of what the framebuffer holds.

        Parameters
        ----------
        draw_data : imgui.ImDrawData, optional
            Defaults to ``imgui.get_draw_data()`` (call ``imgui.render()`` first).
        framebuffer : moderngl.Framebuffer, optional
            Defaults to the context's bound framebuffer ``ctx.fbo``.
        """
        self._check_alive()
        draw_data = draw_data or imgui.get_draw_data()
        # Textures first, even for an empty frame, so imgui's requests never pile up.
        self.update_textures(draw_data)
        pos, size, scale = (
            draw_data.display_pos,
            draw_data.display_size,
            draw_data.framebuffer_scale,
        )
        fb_width, fb_height = int(size.x * scale.x), int(size.y * scale.y)
        if fb_width <= 0 or fb_height <= 0 or draw_data.cmd_lists_count == 0:
            return
        fbo = framebuffer or self.ctx.fbo
        if fbo is None:
            raise GradientExplorerError("no framebuffer bound for the imgui overlay")

        self._u_projection.write(ortho(pos.x, pos.x + size.x, pos.y, pos.y + size.y))
        saved_viewport, saved_scissor = fbo.viewport, fbo.scissor
        saved_wireframe = self.ctx.wireframe
        # moderngl frees nothing on its own (gc_mode None): a scope left to Python leaks
        # its native object, one per frame.
        scope = self.ctx.scope(fbo, enable_only=moderngl.BLEND)
        try:
            with scope:
                try:
                    self.ctx.wireframe = False
                    self.ctx.blend_equation = moderngl.FUNC_ADD
                    self.ctx.blend_func = OVERLAY_BLEND_FUNC
                    fbo.viewport = (0, 0, fb_width, fb_height)
                    for draw_list in draw_data.cmd_lists:
                        self._draw_list(draw_list, pos, scale, fb_width, fb_height, fbo)
                finally:
                    self._restore_scissor(fbo, saved_scissor)
                    fbo.viewport = saved_viewport
                    self.ctx.wireframe = saved_wireframe
                    self.ctx.blend_func = moderngl.DEFAULT_BLENDING
                    self.ctx.blend_equation = moderngl.FUNC_ADD
        finally:
            scope.release()

    def _draw_list(
        self,
        draw_list: imgui.ImDrawList,
        pos: imgui.ImVec2,
        scale: imgui.ImVec2,
        fb_width: int,
        fb_height: int,
        fbo: moderngl.Framebuffer,
    ) -> None:
        vtx_bytes = draw_list.vtx_buffer.size() * imgui.VERTEX_SIZE
        idx_bytes = draw_list.idx_buffer.size() * imgui.INDEX_SIZE
        if vtx_bytes == 0 or idx_bytes == 0:
            return
        self._upload(self._vbo, draw_list.vtx_buffer.data_address(), vtx_bytes)
        self._upload(self._ibo, draw_list.idx_buffer.data_address(), idx_bytes)
        for cmd in draw_list.cmd_buffer:
            if cmd.elem_count == 0:
                continue
            # Clip rectangle: imgui display coordinates -> framebuffer pixels, y up.
            x0 = max((cmd.clip_rect.x - pos.x) * scale.x, 0.0)
            y0 = max((cmd.clip_rect.y - pos.y) * scale.y, 0.0)
            x1 = min((cmd.clip_rect.z - pos.x) * scale.x, float(fb_width))
            y1 = min((cmd.clip_rect.w - pos.y) * scale.y, float(fb_height))
            if x1 <= x0 or y1 <= y0:
                continue
            fbo.scissor = (int(x0), int(fb_height - y1), int(x1 - x0), int(y1 - y0))
            tex_id = cmd.get_tex_id()
            texture = self._textures.get(tex_id)
            if texture is None:
                raise GradientExplorerError(
                    f"imgui drew texture id {tex_id}, which is not registered with the renderer"
                )
            texture.use(0)
            # We don't set RendererHasVtxOffset, so imgui keeps vtx_offset at 0.
            self._vao.render(moderngl.TRIANGLES, vertices=cmd.elem_count, first=cmd.idx_offset)

    @staticmethod
    def _upload(buffer: moderngl.Buffer, address: int, nbytes: int) -> None:
        # Orphan rather than overwrite in place so the driver needn't wait for the
        # previous draw list's draws; grow by doubling.
        if nbytes > buffer.size:
            capacity = buffer.size
            while capacity < nbytes:
                capacity *= 2
            buffer.orphan(capacity)
        else:
            buffer.orphan()
        buffer.write((ctypes.c_ubyte * nbytes).from_address(address))

    @staticmethod
    def _restore_scissor(fbo: moderngl.Framebuffer, saved: tuple[int, int, int, int]) -> None:
        # moderngl reports a disabled scissor as the full framebuffer rectangle.
        if tuple(saved) == (0, 0, *fbo.size):
            fbo.scissor = None
        else:
            fbo.scissor = saved

    # ------------------------------------------------------------------ lifetime

    def _check_alive(self) -> None:
        if self._released:
            raise GradientExplorerError("the imgui renderer was released")

    def release(self) -> None:
        """Free the program, buffers, vertex array and every texture made for imgui.

        imgui's textures are marked destroyed (so a new renderer would recreate them)
        when the imgui context is still the current one. Calling it again does nothing.
        """
        if self._released:
            return
        self._released = True
        if imgui.get_current_context() == self._imgui_ctx:
            for tex in imgui.get_platform_io().textures:
                if tex.tex_id in self._owned:
                    tex.set_tex_id(0)
                    tex.status = _Status.destroyed
            io = imgui.get_io()
            io.backend_flags &= ~imgui.BackendFlags_.renderer_has_textures
        for texture in self._owned.values():
            texture.release()
        self._owned.clear()
        self._textures.clear()
        self._vao.release()
        self._vbo.release()
        self._ibo.release()
        self._program.release()
