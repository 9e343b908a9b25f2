// The parts of the Winograd F(4x4, 3x3) convolution that winograd.cpp (AVX2) and winograd_avx512.cpp share, written
// once over a vector type. Each of them includes this inside its own anonymous namespace after defining Vec (__m256 or
// __m512), add, sub, mul(float, Vec), fma(float, Vec, Vec) and the struct Geometry (fields h, w, ws, up). Textual
// inclusion rather than a template, so that each file's copy is compiled for its own instruction set only and the
// linker never has two versions of one symbol to choose from.

// r = B^T d for one 6-vector of lanes (rows of Lavin's B^T for F(4,3)).
inline void bt6(Vec d0, Vec d1, Vec d2, Vec d3, Vec d4, Vec d5, Vec* r) {
    r[0] = add(fma(4.0f, d0, mul(-5.0f, d2)), d4);
    const Vec a = add(d3, d4), b = sub(d4, d3);
    r[1] = fma(-4.0f, add(d1, d2), a);
    r[2] = fma(4.0f, sub(d1, d2), b);
    const Vec e = sub(d4, d2), f = sub(d3, d1);
    r[3] = fma(2.0f, f, e);
    r[4] = fma(-2.0f, f, e);
    r[5] = add(fma(4.0f, d1, mul(-5.0f, d3)), d5);
}

// r = A^T m for one 6-vector of lanes.
inline void at6(Vec m0, Vec m1, Vec m2, Vec m3, Vec m4, Vec m5, Vec* r) {
    const Vec a = add(m1, m2), b = sub(m1, m2);
    const Vec c = add(m3, m4), e = sub(m3, m4);
    r[0] = add(add(m0, a), c);
    r[1] = fma(2.0f, e, b);
    r[2] = fma(4.0f, c, a);
    r[3] = add(fma(8.0f, e, b), m5);
}

// The 34 input samples of row y, columns x0 .. x0+33, of one channel plane: a pointer into the plane where they are
// all inside it (and not upsampled), else a copy in buf (at least 34 floats) with zeros for the padding.
inline const float* input_row(const Geometry& g, const float* plane, int64_t y, int64_t x0, float* buf) {
    if (y < 0 || y >= g.h) {
        std::memset(buf, 0, 34 * sizeof(float));
        return buf;
    }
    if (!g.up && x0 >= 0 && x0 + 34 <= g.w) return plane + y * g.w + x0;
    const float* src = plane + (g.up ? (y >> 1) : y) * g.ws;
    for (int k = 0; k < 34; ++k) {
        const int64_t x = x0 + k;
        buf[k] = (x < 0 || x >= g.w) ? 0.0f : src[g.up ? (x >> 1) : x];
    }
    return buf;
}
