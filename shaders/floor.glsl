#version 330
// The floor map under the surface: the same level curves as a 2D contour plot.

// @generated

uniform vec4 u_domain;
uniform float u_height_scale;
uniform vec4 u_clip;
uniform float u_floor_z;

#if defined VERTEX_SHADER

in vec2 in_uv;
uniform mat4 u_mvp;
out vec2 v_xy;

void main() {
    v_xy = mix(u_domain.xz, u_domain.yw, in_uv);
    gl_Position = u_mvp * vec4(v_xy, u_floor_z, 1.0);
}

#elif defined FRAGMENT_SHADER

#include "common.glsl"

in vec2 v_xy;
uniform int u_contours;
uniform float u_line_width;
uniform int u_has_point;
uniform float u_point_level;
out vec4 frag;

void main() {
    float h = u_height_scale * display_h(f(v_xy));
    float spacing = (u_clip.y - u_clip.x) / float(max(u_contours, 1) + 1);
    float level = (h - u_clip.x) / spacing;
    float level_slope = fwidth(level);
    float h_slope = fwidth(h);
    if (!ge_is_finite(h)) {
        frag = vec4(0.16, 0.16, 0.18, 1.0);  // a hole reads as a hole on the map too
        return;
    }
    vec3 color = mix(vec3(0.93), colormap((h - u_clip.x) / max(u_clip.y - u_clip.x, 1e-12)), 0.45);
    if (u_contours > 0) {
        float line = level_lines(level, level_slope, u_line_width, 1.0, float(u_contours));
        color = mix(color, vec3(0.1, 0.1, 0.12), 0.8 * line);
    }
    if (u_has_point == 1) {
        color = mix(color, vec3(1.0, 0.55, 0.1), level_line(h, u_point_level, h_slope, u_line_width + 1.0));
    }
    frag = vec4(color, 1.0);
}

#endif
