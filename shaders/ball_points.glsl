#version 330
// Many balls at once (a swarm): one point sprite per ball, shaded as a sphere in the
// fragment shader, so 10,000 balls cost 10,000 vertices instead of a mesh each. A dark
// rim one pixel wide outlines each ball at any size; u_alpha fades the pass that shows
// balls the surface hides.

#if defined VERTEX_SHADER

in vec3 in_center;
in vec4 in_color;
uniform mat4 u_mvp;
uniform float u_radius;        // world units
uniform float u_pixels_per_unit_at_w1;  // projection scale: viewport height * P[1][1] / 2
uniform int u_on_floor;
uniform float u_floor_z;
out vec4 v_color;
out float v_size;

void main() {
    vec3 c = in_center;
    if (u_on_floor == 1) c.z = u_floor_z;
    gl_Position = u_mvp * vec4(c, 1.0);
    // Orthographic views have w = 1; perspective shrinks with distance.
    // Never under 4 pixels: a swarm far away still shows every ball.
    gl_PointSize = max(4.0, 2.0 * u_radius * u_pixels_per_unit_at_w1 / gl_Position.w);
    v_size = gl_PointSize;
    v_color = in_color;
}

#elif defined FRAGMENT_SHADER

in vec4 v_color;
in float v_size;
uniform vec3 u_light_view;     // light direction in view space
uniform int u_on_floor;
uniform float u_alpha;
out vec4 frag;

const vec3 OUTLINE = vec3(0.02, 0.02, 0.03);  // palette.OUTLINE_COLOR

void main() {
    vec2 q = gl_PointCoord * 2.0 - 1.0;
    q.y = -q.y;
    float r2 = dot(q, q);
    if (r2 > 1.0) discard;
    float rim = 1.0 - 2.0 / v_size;  // one pixel in from the edge
    if (r2 > rim * rim) {
        frag = vec4(OUTLINE, v_color.a * u_alpha);
        return;
    }
    if (u_on_floor == 1) {
        frag = vec4(v_color.rgb * 0.8, v_color.a * u_alpha);
        return;
    }
    vec3 n = vec3(q, sqrt(1.0 - r2));  // the sphere's normal, facing the viewer
    vec3 l = normalize(u_light_view);
    float diffuse = max(dot(n, l), 0.0);
    float specular = pow(max(dot(n, normalize(l + vec3(0.0, 0.0, 1.0))), 0.0), 48.0);
    frag = vec4(v_color.rgb * (0.22 + 0.78 * diffuse) + vec3(0.35 * specular),
                v_color.a * u_alpha);
}

#endif
