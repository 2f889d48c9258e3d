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
uniform float u_color_scale;   // 1 / (zmax - zmin) of the colour range
uniform float u_level_scale;   // 1 / the spacing of the level curves
uniform float u_level_spacing;
out vec4 frag;

// As surface.glsl's level curves: one division per pixel for both kinds.
void main() {
    float h = u_height_scale * display_h(f(v_xy));
    float level = (h - u_clip.x) * u_level_scale;
    float h_slope = fwidth(h);
    if (!ge_is_finite(h)) {
        frag = vec4(0.16, 0.16, 0.18, 1.0);  // a hole reads as a hole on the map too
        return;
    }
    vec3 color = mix(vec3(0.93), colormap((h - u_clip.x) * u_color_scale), 0.45);
    float per_slope = 1.0 / max(h_slope, 1e-30);
    if (u_contours > 0) {
        float nearest = clamp(floor(level + 0.5), 1.0, float(u_contours));
        float dist = abs(level - nearest) * u_level_spacing * per_slope;
        color = mix(color, vec3(0.1, 0.1, 0.12), 0.8 * line_cover(dist, u_line_width));
    }
    if (u_has_point == 1) {
        float dist = abs(h - u_point_level) * per_slope;
        color = mix(color, vec3(1.0, 0.55, 0.1), line_cover(dist, u_line_width + 1.0));
    }
    frag = vec4(color, 1.0);
}

#endif
