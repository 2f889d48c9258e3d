#version 330
// Normal arrows on a grid over the surface: each is (-dh/dx, -dh/dy, 1), normalized.

// @generated

uniform vec4 u_domain;
uniform float u_height_scale;
uniform vec4 u_clip;
uniform int u_grid;
uniform float u_length;

#if defined VERTEX_SHADER

uniform mat4 u_mvp;
out float v_valid;
out float v_t;

void main() {
    int instance = gl_VertexID / 2;
    float t = float(gl_VertexID % 2);
    vec2 cell = (vec2(instance % u_grid, instance / u_grid) + 0.5) / float(u_grid);
    vec2 xy = mix(u_domain.xz, u_domain.yw, cell);
    float value = f(xy);
    float h = u_height_scale * display_h(value);
    vec2 grad_h = u_height_scale * display_dh(value) * grad_f(xy);
    vec3 n = normalize(vec3(-grad_h, 1.0));
    bool ok = ge_is_finite(h) && ge_is_finite(n.x) && ge_is_finite(n.y)
        && h >= u_clip.z && h <= u_clip.w;
    v_valid = ok ? 1.0 : 0.0;
    v_t = t;
    vec3 p = ok ? vec3(xy, h) + t * u_length * n : vec3(xy, u_clip.z);
    gl_Position = u_mvp * vec4(p, 1.0);
}

#elif defined FRAGMENT_SHADER

in float v_valid;
in float v_t;
out vec4 frag;

void main() {
    if (v_valid < 0.999) discard;
    frag = vec4(mix(vec3(0.95, 0.95, 1.0), vec3(0.9, 0.2, 0.6), v_t), 1.0);
}

#endif
