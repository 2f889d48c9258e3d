"""OpenGL context creation with clear errors."""

from __future__ import annotations

import moderngl

from gradient_explorer.errors import GradientExplorerError

REQUIRED_GL = 330


def create_headless_context() -> moderngl.Context:
    """A standalone EGL context (no display needed), OpenGL 3.3 core or newer.

    Raises
    ------
    GradientExplorerError
        One line naming what was found when no usable OpenGL is there.
    """
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GradientExplorerError(
            f"no headless OpenGL 3.3 context ({reason}): install Mesa's EGL "
            "(apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) or a GPU driver"
        ) from None
    return check_version(ctx)


def check_version(ctx: moderngl.Context) -> moderngl.Context:
    if ctx.version_code < REQUIRED_GL:
        renderer = ctx.info.get("GL_RENDERER", "unknown renderer")
        version = ctx.info.get("GL_VERSION", str(ctx.version_code))
        raise GradientExplorerError(
            f"OpenGL 3.3 is required but {renderer} offers {version}: update the graphics driver"
        )
    return ctx
