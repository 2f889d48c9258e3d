#version 330
// A low-resolution frame drawn over the whole window, filtered bilinearly: the picture
// while it moves on a software renderer (render/lowres.py).

#if defined VERTEX_SHADER

out vec2 v_uv;

void main() {
    // one triangle that covers the viewport: no vertex buffer
    vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    v_uv = corner;
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler2D u_frame;

in vec2 v_uv;

out vec4 f_color;

void main() {
    f_color = vec4(texture(u_frame, v_uv).rgb, 1.0);
}

#endif
