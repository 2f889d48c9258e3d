#version 330
// Dear ImGui overlay: screen-space triangles with a vertex colour and one texture
// (the font atlas or an app texture). Colours are straight (not premultiplied) alpha.

#if defined VERTEX_SHADER

uniform mat4 u_projection;  // imgui display rectangle -> clip space, y down

in vec2 in_position;
in vec2 in_texcoord;
in vec4 in_color;  // 4 normalised bytes

out vec2 v_texcoord;
out vec4 v_color;

void main() {
    v_texcoord = in_texcoord;
    v_color = in_color;
    gl_Position = u_projection * vec4(in_position, 0.0, 1.0);
}

#elif defined FRAGMENT_SHADER

uniform sampler2D u_texture;

in vec2 v_texcoord;
in vec4 v_color;

out vec4 f_color;

void main() {
    f_color = v_color * texture(u_texture, v_texcoord);
}

#endif
