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

// Coverage of the level curves of `level` (in units of the level spacing) at this pixel:
// lines `width` pixels wide on screen, whatever the zoom. `slope` is fwidth(level),
// taken by the caller in uniform control flow.
float level_lines(float level, float slope, float width, float first, float last) {
    float nearest = clamp(floor(level + 0.5), first, last);
    float dist = abs(level - nearest) / max(slope, 1e-8);
    return 1.0 - smoothstep(0.5 * width - 0.5, 0.5 * width + 0.5, dist);
}

// One level curve at `value` (the highlighted one through the point).
float level_line(float h, float value, float slope, float width) {
    float dist = abs(h - value) / max(slope, 1e-8);
    return 1.0 - smoothstep(0.5 * width - 0.5, 0.5 * width + 0.5, dist);
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
