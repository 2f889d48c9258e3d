"""Several GL contexts in one process: each renderer works in its own.

The tests, the app harness and the recorder each make EGL contexts; GL calls go to
whichever is current. A renderer that draws or frees while another context is current
would delete names in the wrong context (GL_INVALID_VALUE there) and leak its own.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.surfaces.surface import Surface

moderngl = pytest.importorskip("moderngl")


@pytest.mark.gl
def test_headless_renderer_draws_and_frees_in_its_own_context(gl_ctx):
    from gradient_explorer.render.headless import HeadlessRenderer

    state = AppState.for_surface(
        Surface.named("bowl"), aspect=1.0, view=ViewOptions(grid=8, floor=False)
    )
    with gl_ctx:
        renderer = HeadlessRenderer(gl_ctx, grid=8)
        before = renderer.render(state, (16, 16), samples=0)
    other = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        with other:  # drawn again and freed while another context is current
            after = renderer.render(state, (16, 16), samples=0)
            renderer.release()
            other_error = other.error
    finally:
        other.release()
    with gl_ctx:
        own_error = gl_ctx.error
    assert other_error == "GL_NO_ERROR"
    assert own_error == "GL_NO_ERROR"
    np.testing.assert_array_equal(after, before)
