"""set_uniforms writes what changed and skips what a program already holds."""

from __future__ import annotations

import pytest

moderngl = pytest.importorskip("moderngl")

from gradient_explorer.render.visuals import _gl  # noqa: E402

VERTEX = """
#version 330
in vec2 in_xy;
uniform vec3 u_offset;
uniform float u_scale;
uniform int u_mode;
uniform mat4 u_mvp;
out float v;
void main() {
    v = float(u_mode);
    gl_Position = u_mvp * vec4(in_xy * u_scale + u_offset.xy, u_offset.z, 1.0);
}
"""
FRAGMENT = """
#version 330
in float v;
out vec4 frag;
void main() { frag = vec4(v); }
"""


@pytest.mark.gl
def test_unchanged_uniforms_are_not_written_again_and_changed_ones_are(ctx, monkeypatch):
    program = ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
    writes = []
    real_write = type(program["u_scale"]).write

    def spy(member, data):
        writes.append(member.name)
        real_write(member, data)

    monkeypatch.setattr(type(program["u_scale"]), "write", spy)
    mvp = bytes(64)
    values = {
        "u_offset": (1.0, 2.0, 3.0),
        "u_scale": 2.5,
        "u_mode": 3,
        "u_mvp": mvp,
        "u_unused": 1.0,
    }
    try:
        _gl.set_uniforms(program, values)
        assert sorted(writes) == ["u_mode", "u_mvp", "u_offset", "u_scale"]  # unused: skipped
        writes.clear()
        _gl.set_uniforms(program, dict(values))
        assert writes == []  # all as they were
        _gl.set_uniforms(program, {**values, "u_scale": 0.5, "u_offset": [1.0, 2.0, 3.0]})
        assert writes == ["u_scale"]  # the offset as a list: the same bytes
        assert program["u_scale"].value == 0.5
        assert program["u_offset"].value == (1.0, 2.0, 3.0)
        assert program["u_mode"].value == 3
        # a new program with the same values is written in full
        other = ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        writes.clear()
        _gl.set_uniforms(other, values)
        assert sorted(writes) == ["u_mode", "u_mvp", "u_offset", "u_scale"]
        assert other["u_scale"].value == 2.5
        other.release()
    finally:
        program.release()
