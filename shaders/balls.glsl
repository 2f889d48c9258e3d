#version 330
// Balls rolling downhill: one unit-sphere mesh drawn once per ball (instancing), lit with
// the scene's Blinn-Phong. Per ball: centre and colour, from one buffer written per frame.
// With u_on_floor the same instances are drawn flattened onto the floor map. A dark shell
// a few pixels wider, drawn first (u_outline_px), makes a ball read on any surface colour;
// u_alpha fades the pass that shows balls the surface hides.

#if defined VERTEX_SHADER

in vec3 in_vert;     // unit sphere; also its normal
in vec3 in_center;   // per instance
in vec4 in_color;    // per instance
uniform mat4 u_mvp;
uniform float u_radius;
uniform int u_on_floor;
uniform float u_floor_z;
uniform float u_outline_px;  // > 0: the dark shell this many pixels wider, drawn first
uniform float u_pixels_per_unit_at_w1;
out vec3 v_normal;
out vec3 v_world;
out vec4 v_color;
out float v_disc_r;  // on the floor: distance from the disc's centre, 0..1

void main() {
    vec3 c = in_center;
    float grow = 0.0;
    if (u_outline_px > 0.0) {  // a pixel width at the centre's depth, in world units
        float w = (u_mvp * vec4(c, 1.0)).w;
        grow = u_outline_px * w / u_pixels_per_unit_at_w1;
    }
    vec3 v = in_vert * (u_radius + grow);
    if (u_on_floor == 1) {
        c.z = u_floor_z;
        v.z *= 0.2;  // a flat disc on the map
    }
    vec3 p = c + v;
    v_normal = in_vert;
    v_world = p;
    v_color = in_color;
    v_disc_r = length(in_vert.xy);
    gl_Position = u_mvp * vec4(p, 1.0);
}

#elif defined FRAGMENT_SHADER

#include "common.glsl"

in vec3 v_normal;
in vec3 v_world;
in vec4 v_color;
in float v_disc_r;
uniform vec3 u_eye;
uniform vec3 u_light_dir;
uniform int u_on_floor;
uniform float u_alpha;
uniform float u_outline_px;
out vec4 frag;

const vec3 OUTLINE = vec3(0.02, 0.02, 0.03);  // palette.OUTLINE_COLOR

void main() {
    vec3 n = normalize(v_normal);
    vec3 view_dir = normalize(u_eye - v_world);
    // the dark outline is the shell pass (u_outline_px: pixels wide at any size); a disc
    // on the floor map, drawn without one, has its own dark edge
    bool rim = u_outline_px > 0.0 || (u_on_floor == 1 && v_disc_r > 0.75);
    vec3 rgb = rim ? OUTLINE : shade(v_color.rgb, n, u_light_dir, view_dir);
    frag = vec4(rgb, v_color.a * u_alpha);
}

#endif
