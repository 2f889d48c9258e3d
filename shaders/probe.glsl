#version 330
// Evaluates the generated surface functions at given points, one point per pixel of a
// float32 target: the renderer's own GLSL, read back to compare with numpy.

#if defined VERTEX_SHADER

in vec2 in_xy;
uniform int u_width;
uniform vec2 u_size;
flat out vec2 v_xy;

void main() {
    int index = gl_VertexID;
    vec2 pixel = vec2(index % u_width, index / u_width) + 0.5;
    v_xy = in_xy;
    gl_Position = vec4(pixel / u_size * 2.0 - 1.0, 0.0, 1.0);
    gl_PointSize = 1.0;
}

#elif defined FRAGMENT_SHADER

// @generated

uniform float u_height_scale;
flat in vec2 v_xy;
layout(location = 0) out vec4 out_values;     // f, df/dx, df/dy, displayed height
layout(location = 1) out vec4 out_curvature;  // f_xx, f_xy, f_yy, 0

void main() {
    float value = f(v_xy);
    out_values = vec4(value, grad_f(v_xy), u_height_scale * display_h(value));
    out_curvature = vec4(hess_f(v_xy), 0.0);
}

#endif
