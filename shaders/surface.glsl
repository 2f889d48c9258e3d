#version 330
// The height surface z = s * display(f(x, y)): heights from the generated f in the vertex
// shader, the normal of every pixel from the generated grad_f in the fragment shader.

// @generated

uniform vec4 u_domain;        // xmin, xmax, ymin, ymax
uniform float u_height_scale; // s
uniform vec4 u_clip;          // zmin, zmax of the colour range; zmin, zmax of the clip box

#if defined VERTEX_SHADER

in vec2 in_uv;
uniform mat4 u_mvp;
out vec2 v_xy;
out float v_valid;
out float v_height;

void main() {
    vec2 xy = mix(u_domain.xz, u_domain.yw, in_uv);
    float h = u_height_scale * display_h(f(xy));
    // Holes and poles: no NaN reaches the depth buffer, and a triangle touching an
    // invalid vertex is dropped whole (v_valid < 1 inside it).
    float span = u_clip.w - u_clip.z;
    bool valid = ge_is_finite(h) && h > u_clip.z - span && h < u_clip.w + span;
    v_valid = valid ? 1.0 : 0.0;
    v_xy = xy;
    v_height = valid ? h : u_clip.z;
    gl_Position = u_mvp * vec4(xy, v_height, 1.0);
}

#elif defined FRAGMENT_SHADER

#include "common.glsl"

in vec2 v_xy;
in float v_valid;
in float v_height;            // the drawn (interpolated) height of this pixel
uniform int u_lighting;       // 0 lit, 1 unlit (height colour only), 2 normals as colour
uniform vec3 u_light_dir;
uniform vec3 u_eye;
uniform int u_contours;       // number of level curves, 0 for none
uniform float u_line_width;   // pixels
uniform int u_has_point;
uniform float u_point_level;  // displayed height of the level curve through the point
out vec4 frag;

void main() {
    float value = f(v_xy);
    float dh = u_height_scale * display_dh(value);
    float h = u_height_scale * display_h(value);
    vec2 grad_h = dh * grad_f(v_xy);
    // Screen-space slopes first, in uniform control flow.
    float spacing = (u_clip.y - u_clip.x) / float(max(u_contours, 1) + 1);
    float level = (h - u_clip.x) / spacing;
    float level_slope = fwidth(level);
    float h_slope = fwidth(h);

    if (v_valid < 0.999 || !ge_is_finite(h) || !ge_is_finite(grad_h.x) || !ge_is_finite(grad_h.y))
        discard;
    // Clip both heights: f here, and where the flat triangle puts this pixel (a triangle
    // next to a pole rises far above f between its vertices: a spike out of the box).
    if (h < u_clip.z || h > u_clip.w || v_height < u_clip.z || v_height > u_clip.w) discard;

    // n = normalize(-dh/dx, -dh/dy, 1): the gradient in disguise.
    vec3 n = normalize(vec3(-grad_h, 1.0));
    vec3 base = colormap((h - u_clip.x) / max(u_clip.y - u_clip.x, 1e-12));
    vec3 color;
    if (u_lighting == 2) {
        color = 0.5 * n + 0.5;
    } else if (u_lighting == 1) {
        color = base;
    } else {
        vec3 world = vec3(v_xy, h);
        color = shade(base, n, u_light_dir, normalize(u_eye - world));
    }
    if (u_contours > 0) {
        float line = level_lines(level, level_slope, u_line_width, 1.0, float(u_contours));
        color = mix(color, vec3(0.06, 0.06, 0.08), 0.75 * line);
    }
    if (u_has_point == 1) {
        float line = level_line(h, u_point_level, h_slope, u_line_width + 1.0);
        color = mix(color, vec3(1.0, 0.55, 0.1), line);
    }
    frag = vec4(color, 1.0);
}

#endif
