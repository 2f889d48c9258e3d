#version 330
// Gradient field on the floor: one arrow per grid cell, computed on the GPU from grad_f,
// pointing uphill, its length scaled and capped.

// @generated

uniform vec4 u_domain;
uniform float u_floor_z;
uniform int u_grid;           // arrows per side
uniform float u_length_scale; // domain units per unit of |grad f|
uniform float u_max_length;   // cap, in domain units
uniform vec2 u_snap;          // > 0: each arrow on the nearest sample (pixel) of sampled data

#if defined VERTEX_SHADER

in vec2 in_arrow;             // template: x along the arrow (0..1), y across it
uniform mat4 u_mvp;
out float v_alpha;

void main() {
    int i = gl_InstanceID % u_grid;
    int j = gl_InstanceID / u_grid;
    vec2 cell = (vec2(i, j) + 0.5) / float(u_grid);
    vec2 base = mix(u_domain.xz, u_domain.yw, cell);
    if (u_snap.x > 0.0 && u_snap.y > 0.0)  // the operator's own value, not an interpolation
        base = u_domain.xz + floor((base - u_domain.xz) / u_snap + 0.5) * u_snap;
    vec2 g = grad_f(base);
    float norm = length(g);
    bool ok = ge_is_finite(norm) && norm > 0.0;
    vec2 dir = ok ? g / norm : vec2(1.0, 0.0);
    float len = ok ? min(u_length_scale * norm, u_max_length) : 0.0;
    vec2 side = vec2(-dir.y, dir.x);
    // Width follows the cap, not the length, so short arrows stay readable.
    vec2 p = base + dir * (in_arrow.x * len) + side * (in_arrow.y * u_max_length);
    v_alpha = ok ? 1.0 : 0.0;
    gl_Position = u_mvp * vec4(p, u_floor_z + 1e-3 * (u_domain.y - u_domain.x), 1.0);
}

#elif defined FRAGMENT_SHADER

in float v_alpha;
uniform vec4 u_color;
out vec4 frag;

void main() {
    if (v_alpha < 0.5) discard;
    frag = u_color;
}

#endif
