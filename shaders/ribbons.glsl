#version 330
// Line segments as ribbons a few pixels wide on screen, built here from their world ends:
// the GPU twin of balls_visual.screen_ribbons (core-profile GL lines are one pixel). Six
// vertices (two triangles) per segment, each with the segment and its corner number
// (plain vertices: llvmpipe runs instanced draws of six vertices slower).

#if defined VERTEX_SHADER

in vec3 in_a;        // the segment's world ends and colour
in vec3 in_b;
in vec4 in_color;
in float in_pieces;  // how many pieces of a trail this segment stands for (1 or more)
in float in_corner;  // 0..5: a+n, a-n, b-n, a+n, b-n, b+n
uniform mat4 u_mvp;
uniform vec2 u_half_size;   // viewport / 2, pixels
uniform float u_width;      // pixels
uniform float u_bias;       // NDC depth pulled toward the eye (paint on the floor map)
uniform int u_outline;      // 1: the dark outline, its colour's alpha 0.6 of the segment's
uniform vec3 u_outline_rgb;
uniform float u_alpha;      // the pass's strength (depth cue)
out vec4 v_color;

void main() {
    vec4 ca = u_mvp * vec4(in_a, 1.0);
    vec4 cb = u_mvp * vec4(in_b, 1.0);
    v_color = u_outline == 1 ? vec4(u_outline_rgb, 0.6 * in_color.a) : in_color;
    // a segment standing for k overlapping pieces is as opaque as their k blends
    float clear_through = max(1.0 - v_color.a * u_alpha, 0.0);
    v_color.a = 1.0 - (in_pieces > 1.0 ? exp2(in_pieces * log2(max(clear_through, 1e-30))) : clear_through);
    if (!(ca.w > 1e-9 && cb.w > 1e-9)) {  // an end behind the eye: the segment is left out
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        return;
    }
    vec2 pa = ca.xy / ca.w * u_half_size;
    vec2 pb = cb.xy / cb.w * u_half_size;
    float za = ca.z / ca.w;
    float zb = cb.z / cb.w;
    vec2 d = pb - pa;
    float len = length(d);
    vec2 u = len > 1e-9 ? d / max(len, 1e-9) : vec2(1.0, 0.0);
    float h = 0.5 * u_width;
    vec2 n = vec2(-u.y, u.x) * h;
    // half a width past each end (joints overlap); depth runs on along the segment, so a
    // wider outline and its fill have the same depth at every pixel
    float dz = (zb - za) * h / max(len, 1e-9);
    int corner = int(in_corner);
    bool at_b = corner == 2 || corner == 4 || corner == 5;
    float side = (corner == 1 || corner == 2 || corner == 4) ? -1.0 : 1.0;
    vec2 p = at_b ? pb + u * h : pa - u * h;
    float z = at_b ? zb + dz : za - dz;
    gl_Position = vec4((p + side * n) / u_half_size, z - u_bias, 1.0);
}

#elif defined FRAGMENT_SHADER

in vec4 v_color;
out vec4 frag;

void main() {
    frag = v_color;
}

#endif
