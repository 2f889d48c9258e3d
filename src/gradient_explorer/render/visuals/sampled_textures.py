"""A sampled surface's data on the GPU: two float textures, uploaded once per change.

:data:`gradient_explorer.surfaces.sampled.SAMPLED_GLSL` reads ``f, f_x, f_y`` from one
RGB32F texture and ``f_xx, f_xy, f_yy`` from another, with its own bilinear weights; the
surface, floor, field, normals and probe shaders call its ``f``, ``grad_f`` and
``hess_f`` as they call a formula's. :func:`bind_surface_textures` uploads a surface's
:class:`~gradient_explorer.surfaces.sampled.Samples` the first time it is drawn (a new
image, operator or sigma is a new Samples) and binds them to their units before each
draw; a formula surface binds nothing.
"""

from __future__ import annotations

import moderngl

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces.sampled import SAMPLED_UNITS, is_sampled


class SampledTextures:
    """The textures of the last sampled surface drawn in one context."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self._samples = None
        self._textures: tuple[moderngl.Texture, ...] = ()
        self.uploads = 0  # how many times data went to the GPU (tests count it)

    def bind(self, surface) -> None:
        """Upload ``surface``'s samples if they are new here, and bind them."""
        if not is_sampled(surface):
            return
        samples = surface.samples
        if samples is not self._samples:
            self._upload(samples)
        for texture, unit in zip(self._textures, SAMPLED_UNITS, strict=True):
            texture.use(location=unit)

    def _upload(self, samples) -> None:
        ny, nx = samples.shape
        limit = int(self.ctx.info.get("GL_MAX_TEXTURE_SIZE", 2048))
        if max(nx, ny) > limit:
            raise UsageError(
                f"{nx}x{ny} samples exceed this GPU's texture limit of {limit} a side: "
                "resample the data first"
            )
        self.release()
        textures = []
        for data in samples.texture_data():
            texture = self.ctx.texture((nx, ny), 3, data=data.tobytes(), dtype="f4")
            # texelFetch ignores the filter; NEAREST keeps a driver from refusing RGB32F.
            texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
            texture.repeat_x = texture.repeat_y = False
            textures.append(texture)
        self._textures = tuple(textures)
        self._samples = samples
        self.uploads += 1

    def release(self) -> None:
        for texture in self._textures:
            texture.release()
        self._textures = ()
        self._samples = None


def textures_for(ctx: moderngl.Context) -> SampledTextures:
    """The one :class:`SampledTextures` of ``ctx`` (kept in ``ctx.extra``), so the scene
    and the GPU probe share one upload."""
    extra = ctx.extra if isinstance(ctx.extra, dict) else {}
    ctx.extra = extra
    holder = extra.get("sampled_textures")
    if holder is None:
        holder = extra["sampled_textures"] = SampledTextures(ctx)
    return holder


def bind_surface_textures(ctx: moderngl.Context, surface) -> None:
    """Bind ``surface``'s textures in ``ctx`` (uploading them once); no-op for formulas."""
    if is_sampled(surface):
        textures_for(ctx).bind(surface)


def release_surface_textures(ctx: moderngl.Context) -> None:
    if isinstance(ctx.extra, dict) and "sampled_textures" in ctx.extra:
        ctx.extra.pop("sampled_textures").release()
