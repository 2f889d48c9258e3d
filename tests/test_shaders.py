"""The shader loader: stage split, includes, #line bookkeeping, defines, generated code."""

from __future__ import annotations

import pytest

from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render import shader_loader as shaders

pytestmark = pytest.mark.gl

COMMON = """\
// shared helpers
float half_of(float x) { return 0.5 * x; }
"""

MAIN = """\
#version 330
#include "common.glsl"
#if defined VERTEX_SHADER
in vec2 in_position;
void main() { gl_Position = vec4(in_position * half_of(SCALE), 0.0, 1.0); }
#elif defined FRAGMENT_SHADER
out vec4 f_color;
// @generated
void main() { f_color = vec4(generated_value()); }
#endif
"""


@pytest.fixture
def shader_files(tmp_path, monkeypatch):
    """A private shader directory with a main file and one include."""
    monkeypatch.setattr(shaders, "shader_dir", lambda: tmp_path)
    shaders._read.cache_clear()
    (tmp_path / "common.glsl").write_text(COMMON)
    (tmp_path / "main.glsl").write_text(MAIN)
    yield tmp_path
    shaders._read.cache_clear()


GENERATED = "float generated_value() { return 0.25; }"


def test_program_with_include_defines_and_generated_code(ctx, shader_files):
    prog = shaders.load_program(ctx, "main", defines={"SCALE": "2.0"}, generated=GENERATED)
    try:
        assert "in_position" in prog
    finally:
        prog.release()


def test_stage_define_and_user_defines_follow_version(shader_files):
    src = shaders.preprocess("main", "FRAGMENT_SHADER", {"SCALE": 3, "FLAG": ""}, generated="")
    lines = src.text.splitlines()
    assert lines[0] == "#version 330"
    assert lines[1:4] == ["#define FRAGMENT_SHADER", "#define SCALE 3", "#define FLAG"]
    # The line after #version is line 2 of main.glsl (source string 0).
    assert lines[4] == "#line 2 0"
    assert src.files[0] == "main.glsl"


def test_include_is_spliced_with_line_directives(shader_files):
    src = shaders.preprocess("main", "VERTEX_SHADER", generated=GENERATED)
    text = src.text
    assert "float half_of(float x)" in text
    assert "#include" not in text
    assert src.files == ["main.glsl", "common.glsl", "<generated>"]
    # Entering the include restarts at its line 1 (offset by the file's stride so drivers
    # that ignore source numbers still tell files apart); leaving it resumes main.glsl.
    assert f"#line {shaders.LINE_STRIDE + 1} 1\n// shared helpers" in text
    assert "#line 3 0\n#if defined VERTEX_SHADER" in text


def test_generated_code_replaces_marker(shader_files):
    text = shaders.preprocess("main", "FRAGMENT_SHADER", generated=GENERATED).text
    assert GENERATED in text
    assert "// @generated" not in text
    assert "#line 9 0\nvoid main() { f_color" in text


def test_keyword_without_marker_is_refused(shader_files):
    with pytest.raises(GradientExplorerError, match="@palette"):
        shaders.preprocess("main", "VERTEX_SHADER", generated="", palette="vec3 p;")


def test_compile_error_names_file_and_line(ctx, shader_files):
    # SCALE undefined: the error is on line 5 of main.glsl, after the include.
    with pytest.raises(GradientExplorerError) as err:
        shaders.load_program(ctx, "main", generated=GENERATED)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("main.glsl: vertex shader failed to compile")
    assert "main.glsl:5" in message


def test_error_inside_include_names_the_include(ctx, shader_files):
    (shader_files / "common.glsl").write_text("// helpers\nfloat half_of(float x) { return y; }\n")
    with pytest.raises(GradientExplorerError, match=r"common\.glsl:2"):
        shaders.load_program(ctx, "main", defines={"SCALE": "1.0"}, generated=GENERATED)


def test_error_in_generated_code_names_the_marker(ctx, shader_files):
    with pytest.raises(GradientExplorerError, match="<generated>:1"):
        shaders.load_program(
            ctx, "main", defines={"SCALE": "1.0"}, generated="float oops() { return y; }"
        )


def test_include_cycle_is_caught(shader_files):
    (shader_files / "common.glsl").write_text('#include "common.glsl"\n')
    with pytest.raises(GradientExplorerError, match="nesting"):
        shaders.preprocess("main", "VERTEX_SHADER", generated="")


def test_missing_file_and_missing_version(shader_files):
    with pytest.raises(GradientExplorerError, match=r"nowhere\.glsl"):
        shaders.preprocess("nowhere", "VERTEX_SHADER")
    (shader_files / "bare.glsl").write_text("void main() {}\n")
    with pytest.raises(GradientExplorerError, match="#version"):
        shaders.preprocess("bare", "VERTEX_SHADER")


def test_geometry_stage_only_when_mentioned(ctx, shader_files):
    (shader_files / "points.glsl").write_text(
        """\
#version 330
#if defined VERTEX_SHADER
void main() { gl_Position = vec4(0.0, 0.0, 0.0, 1.0); }
#elif defined GEOMETRY_SHADER
layout(points) in;
layout(points, max_vertices = 1) out;
void main() { gl_Position = gl_in[0].gl_Position; EmitVertex(); EndPrimitive(); }
#elif defined FRAGMENT_SHADER
out vec4 f_color;
void main() { f_color = vec4(1.0); }
#endif
"""
    )
    prog = shaders.load_program(ctx, "points")
    try:
        assert prog.geometry_input == ctx.POINTS
    finally:
        prog.release()


def test_shipped_imgui_shader_loads(ctx):
    assert (shaders.shader_dir() / "imgui.glsl").is_file()
    prog = shaders.load_program(ctx, "imgui")
    try:
        assert "u_projection" in prog
    finally:
        prog.release()
