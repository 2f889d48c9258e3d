#version 330
// Balls rolling downhill: one unit-sphere mesh drawn once per ball (instancing), lit with
// the scene's Blinn-Phong. Per ball: centre and colour, from one buffer written per frame.
// With u_on_floor the same instances are drawn flattened onto the floor map.

#if defined VERTEX_SHADER

in vec3 in_vert;     // unit sphere; also its normal
in vec3 in_center;   // per instance
in vec4 in_color;    // per instance
uniform mat4 u_mvp;
uniform float u_radius;
uniform int u_on_floor;
uniform float u_floor_z;
out vec3 v_normal;
out vec3 v_world;
out vec4 v_color;

void main() {
    vec3 c = in_center;
    vec3 v = in_vert * u_radius;
    if (u_on_floor == 1) {
        c.z = u_floor_z;
        v.z *= 0.2;  // a flat disc on the map
    }
    vec3 p = c + v;
    v_normal = in_vert;
    v_world = p;
    v_color = in_color;
    gl_Position = u_mvp * vec4(p, 1.0);
}

#elif defined FRAGMENT_SHADER

#include "common.glsl"

in vec3 v_normal;
in vec3 v_world;
in vec4 v_color;
uniform vec3 u_eye;
uniform vec3 u_light_dir;
out vec4 frag;

void main() {
    vec3 n = normalize(v_normal);
    vec3 view_dir = normalize(u_eye - v_world);
    frag = vec4(shade(v_color.rgb, n, u_light_dir, view_dir), v_color.a);
}

#endif
