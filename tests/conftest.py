"""Shared fixtures: strict float errors, a seeded RNG, one EGL context for GL tests, a
copy of the shader folder to break."""

from __future__ import annotations

import shutil

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_float_errors():
    # A silent overflow or invalid operation in the numerics is a bug; code that expects
    # NaN (holes in a surface) must say so with np.errstate.
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


@pytest.fixture(scope="session")
def gl_ctx():
    """A standalone EGL context (Mesa llvmpipe on CI, any driver elsewhere)."""
    moderngl = pytest.importorskip("moderngl")
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    yield ctx
    ctx.release()


@pytest.fixture
def ctx(gl_ctx):
    """The session context, checked for GL errors before and after each test."""
    assert gl_ctx.error == "GL_NO_ERROR"
    yield gl_ctx
    assert gl_ctx.error == "GL_NO_ERROR"


@pytest.fixture
def shader_copy(tmp_path, monkeypatch):
    """A copy of the shader folder that the loader reads instead of the real one."""
    from gradient_explorer import shader_loader

    copy = tmp_path / "shaders"
    shutil.copytree(shader_loader.shader_dir(), copy)
    monkeypatch.setattr(shader_loader, "shader_dir", lambda: copy)
    shader_loader._read.cache_clear()
    yield copy
    shader_loader._read.cache_clear()
