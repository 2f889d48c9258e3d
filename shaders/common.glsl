// Shared by the scene's shaders: colormap, level curves, lighting.

// Viridis (perceptually uniform), a polynomial fit good to about 1/255.
vec3 colormap(float t) {
    t = clamp(t, 0.0, 1.0);
    const vec3 c0 = vec3(0.2777273272234177, 0.005407344544966578, 0.3340998053353061);
    const vec3 c1 = vec3(0.1050930431085774, 1.404613529898575, 1.384590162594685);
    const vec3 c2 = vec3(-0.3308618287255563, 0.214847559468213, 0.09509516302823659);
    const vec3 c3 = vec3(-4.634230498983486, -5.799100973351585, -19.33244095627987);
    const vec3 c4 = vec3(6.228269936347081, 14.17993336680509, 56.69055260068105);
    const vec3 c5 = vec3(4.776384997670288, -13.74514537774601, -65.35303263337234);
    const vec3 c6 = vec3(-5.435455855934631, 4.645852612178535, 26.3124352495832);
    return c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6)))));
}

// Coverage of a line `width` pixels wide on screen at `dist` pixels from its centre:
// 1 - smoothstep(width/2 - 1/2, width/2 + 1/2, dist), without smoothstep's division
// (its edges are one apart). The level curves' callers measure dist in pixels as
// (distance in height) / fwidth(height), fwidth taken in uniform control flow.
float line_cover(float dist, float width) {
    float t = clamp(dist - 0.5 * width + 0.5, 0.0, 1.0);
    return 1.0 - t * t * (3.0 - 2.0 * t);
}

// Blinn-Phong with a two-sided normal: ambient + diffuse + a white highlight.
vec3 shade(vec3 base, vec3 n, vec3 light_dir, vec3 view_dir) {
    if (dot(n, view_dir) < 0.0) n = -n;
    vec3 l = normalize(light_dir);
    float diffuse = max(dot(n, l), 0.0);
    vec3 half_vec = normalize(l + view_dir);
    float specular = pow(max(dot(n, half_vec), 0.0), 48.0) * step(0.0, dot(n, l));
    return base * (0.22 + 0.78 * diffuse) + vec3(0.35 * specular);
}

// shade() with the light a unit vector and x^48 as six products (pow() is exp(48 log x),
// dearer per pixel). `to_eye` (eye - point) need not be unit length.
vec3 shade_unit(vec3 base, vec3 n, vec3 light_unit, vec3 to_eye) {
    vec3 view_dir = normalize(to_eye);
    if (dot(n, view_dir) < 0.0) n = -n;
    float lambert = dot(n, light_unit);
    float diffuse = max(lambert, 0.0);
    float c = max(dot(n, normalize(light_unit + view_dir)), 0.0);
    float c2 = c * c;
    float c4 = c2 * c2;
    float c8 = c4 * c4;
    float c16 = c8 * c8;
    float specular = c16 * c16 * c16 * step(0.0, lambert);
    return base * (0.22 + 0.78 * diffuse) + vec3(0.35 * specular);
}
