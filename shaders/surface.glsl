#version 330
// The height surface z = s * display(f(x, y)): heights from the generated f in the vertex
// shader, the normal of every pixel from the generated grad_f in the fragment shader.

// @generated

uniform vec4 u_domain;        // xmin, xmax, ymin, ymax
uniform float u_height_scale; // s
uniform vec4 u_clip;          // zmin, zmax of the colour range; zmin, zmax of the clip box

// The lighting mode, compiled in (SurfaceVisual's define): 0 lit, 1 unlit (height colour
// only), 2 normals as colour.
#ifndef LIGHTING
#define LIGHTING 0
#endif

#if defined VERTEX_SHADER

in vec2 in_uv;
uniform mat4 u_mvp;
out vec2 v_xy;
out float v_valid;
out float v_height;

void main() {
    vec2 xy = mix(u_domain.xz, u_domain.yw, in_uv);
    float h = u_height_scale * display_h(f(xy));
    // Holes and poles: no NaN reaches the depth buffer, and a triangle touching a pole
    // (a height far out of the box) is dropped whole (v_valid < 1 inside it). A triangle
    // touching a hole (f undefined there: NaN) is kept, its hole corner at the box's
    // bottom, and the fragment shader leaves out the pixels where f is undefined: the
    // hole's edge is f's own, not the grid's staircase.
    float span = u_clip.w - u_clip.z;
    bool valid = ge_is_finite(h) && h > u_clip.z - span && h < u_clip.w + span;
    bool hole = (floatBitsToUint(h) & 0x7fffffffu) > 0x7f800000u;
    v_valid = valid || hole ? 1.0 : 0.0;
    v_xy = xy;
    v_height = valid ? h : u_clip.z;
    gl_Position = u_mvp * vec4(xy, v_height, 1.0);
}

#elif defined FRAGMENT_SHADER

#include "common.glsl"

in vec2 v_xy;
in float v_valid;
in float v_height;            // the drawn (interpolated) height of this pixel
uniform vec3 u_light_unit;    // toward the light, unit length
uniform vec3 u_eye;
uniform float u_color_scale;  // 1 / (zmax - zmin) of the colour range
uniform float u_level_scale;  // 1 / the spacing of the level curves
uniform float u_level_spacing;
uniform int u_contours;       // number of level curves, 0 for none
uniform float u_line_width;   // pixels
uniform int u_has_point;
uniform float u_point_level;  // displayed height of the level curve through the point
out vec4 frag;

// Everything per pixel and exact. On a software rasterizer each instruction here runs for
// whole 4x4 pixel blocks, most of which a small triangle only partly covers, so: one
// division for both kinds of level curve, the divisions by uniforms done on the CPU
// (the reciprocal uniforms), the light a unit vector already, no pow().
void main() {
    float value = f(v_xy);
    float dh = u_height_scale * display_dh(value);
    float h = u_height_scale * display_h(value);
    vec2 grad_h = dh * grad_f(v_xy);
    // The screen-space slope first, in uniform control flow.
    float h_slope = fwidth(h);
    float level = (h - u_clip.x) * u_level_scale;

    if (v_valid < 0.999 || !ge_is_finite(h) || !ge_is_finite(grad_h.x) || !ge_is_finite(grad_h.y))
        discard;
    // Clip both heights: f here, and where the flat triangle puts this pixel (a triangle
    // next to a pole rises far above f between its vertices: a spike out of the box).
    if (h < u_clip.z || h > u_clip.w || v_height < u_clip.z || v_height > u_clip.w) discard;

    // n = normalize(-dh/dx, -dh/dy, 1): the gradient in disguise.
    vec3 n = normalize(vec3(-grad_h, 1.0));
    vec3 base = colormap((h - u_clip.x) * u_color_scale);
#if LIGHTING == 2
    vec3 color = 0.5 * n + 0.5;
#elif LIGHTING == 1
    vec3 color = base;
#else
    vec3 color = shade_unit(base, n, u_light_unit, u_eye - vec3(v_xy, h));
#endif
    // pixels per unit of height, for the lines' widths on screen
    float per_slope = 1.0 / max(h_slope, 1e-30);
    if (u_contours > 0) {
        float nearest = clamp(floor(level + 0.5), 1.0, float(u_contours));
        float dist = abs(level - nearest) * u_level_spacing * per_slope;
        color = mix(color, vec3(0.06, 0.06, 0.08), 0.75 * line_cover(dist, u_line_width));
    }
    if (u_has_point == 1) {
        float dist = abs(h - u_point_level) * per_slope;
        color = mix(color, vec3(1.0, 0.55, 0.1), line_cover(dist, u_line_width + 1.0));
    }
    frag = vec4(color, 1.0);
}

#endif
