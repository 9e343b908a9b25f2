// Winograd F(4x4, 3x3) transforms for the VQVAE decoder's 3x3, stride-1, padding-1 convolutions on the CPU.
//
// A convolution becomes, per chunk of 4x4 output tiles: V = B^T d B for every input tile and channel (input
// transform, here), M[xi] = U[xi] · V[xi] for the 36 points xi (a batched matrix product, done by libtorch so it runs
// at the machine's matmul peak), and y = A^T m A + bias (output transform, here). U = G g G^T is the transformed
// weight. Matrices from Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), F(4x4, 3x3) with
// the interpolation points 0, ±1, ±2, ∞: 36 multiplications per 16 outputs instead of 144.
//
// Layouts (all float32, row-major):
//   x    (N, C, Hs, Ws)        input; with `up` set the convolution sees the nearest-neighbour 2x upsampling of x,
//                              (H, W) = (2 Hs, 2 Ws), without it being materialised; else (H, W) = (Hs, Ws)
//   V    (36, C, T)            transformed input tiles of the chunk [t0, t1), T = t1 - t0
//   M    (36, K, T)            products U·V
//   y    (N, K, H, W)          output
//   res  (N, K, H, W) or null  added to the output (a residual connection), after the bias
// Tiles are numbered t = (n·TH + ty)·TW8 + tx with TH = ceil(H/4) rows of TW8 = 8·ceil(ceil(W/4)/8) tiles: every tile
// row is padded to whole groups of 8, and chunks are whole tile rows. The padding columns are computed and dropped.
//
// Lanes: a group of 8 neighbouring tiles of one tile row is transformed at once with AVX2 vectors. Their input rows
// (34 floats) are de-interleaved by an 8×4 transpose, which leaves the tiles in lane order 0,2,4,6,1,3,5,7; V and M
// keep that order inside each group, and the output transform's inverse transpose undoes it. Built with -mavx2 -mfma;
// the C# side only calls it where the CPU has both.

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

struct Geometry {
    int64_t n, c, hs, ws, h, w, th, tw, tw8;
    bool up;
    Geometry(int64_t n_, int64_t c_, int64_t hs_, int64_t ws_, int up_)
        : n(n_), c(c_), hs(hs_), ws(ws_), h(up_ ? 2 * hs_ : hs_), w(up_ ? 2 * ws_ : ws_),
          th((h + 3) / 4), tw((w + 3) / 4), tw8(((w + 3) / 4 + 7) / 8 * 8), up(up_ != 0) {}
};

// Splits [0, count) over up to `threads` workers.
template <typename F>
void parallel_for(int64_t count, int threads, F&& body) {
    threads = (int)std::max<int64_t>(1, std::min<int64_t>(threads, count));
    if (threads == 1) {
        body(0, count);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    const int64_t per = (count + threads - 1) / threads;
    for (int i = 1; i < threads; ++i) {
        const int64_t b = i * per, e = std::min(count, b + per);
        if (b < e) pool.emplace_back([&body, b, e] { body(b, e); });
    }
    body(0, std::min(count, per));
    for (auto& t : pool) t.join();
}

inline __m256 mul(float a, __m256 x) { return _mm256_mul_ps(_mm256_set1_ps(a), x); }
inline __m256 fma(float a, __m256 x, __m256 y) { return _mm256_fmadd_ps(_mm256_set1_ps(a), x, y); }

// r = B^T d for one 6-vector of lanes (rows of Lavin's B^T for F(4,3)).
inline void bt6(__m256 d0, __m256 d1, __m256 d2, __m256 d3, __m256 d4, __m256 d5, __m256* r) {
    r[0] = _mm256_add_ps(fma(4.0f, d0, mul(-5.0f, d2)), d4);
    const __m256 a = _mm256_add_ps(d3, d4), b = _mm256_sub_ps(d4, d3);
    r[1] = fma(-4.0f, _mm256_add_ps(d1, d2), a);
    r[2] = fma(4.0f, _mm256_sub_ps(d1, d2), b);
    const __m256 e = _mm256_sub_ps(d4, d2), f = _mm256_sub_ps(d3, d1);
    r[3] = fma(2.0f, f, e);
    r[4] = fma(-2.0f, f, e);
    r[5] = _mm256_add_ps(fma(4.0f, d1, mul(-5.0f, d3)), d5);
}

// r = A^T m for one 6-vector of lanes.
inline void at6(__m256 m0, __m256 m1, __m256 m2, __m256 m3, __m256 m4, __m256 m5, __m256* r) {
    const __m256 a = _mm256_add_ps(m1, m2), b = _mm256_sub_ps(m1, m2);
    const __m256 c = _mm256_add_ps(m3, m4), e = _mm256_sub_ps(m3, m4);
    r[0] = _mm256_add_ps(_mm256_add_ps(m0, a), c);
    r[1] = fma(2.0f, e, b);
    r[2] = fma(4.0f, c, a);
    r[3] = _mm256_add_ps(fma(8.0f, e, b), m5);
}

// De-interleaves 34 floats p[0..33] into p_j[lane] = p[4u + j], j = 0..5, lanes in tile order 0,2,4,6,1,3,5,7.
inline void deinterleave(const float* p, __m256* d) {
    const __m256 a0 = _mm256_loadu_ps(p), a1 = _mm256_loadu_ps(p + 8);
    const __m256 a2 = _mm256_loadu_ps(p + 16), a3 = _mm256_loadu_ps(p + 24);
    const __m256 l01 = _mm256_unpacklo_ps(a0, a1), l23 = _mm256_unpacklo_ps(a2, a3);
    const __m256 h01 = _mm256_unpackhi_ps(a0, a1), h23 = _mm256_unpackhi_ps(a2, a3);
    d[0] = _mm256_shuffle_ps(l01, l23, 0x44);
    d[1] = _mm256_shuffle_ps(l01, l23, 0xEE);
    d[2] = _mm256_shuffle_ps(h01, h23, 0x44);
    d[3] = _mm256_shuffle_ps(h01, h23, 0xEE);
    // p[4u + 4] and p[4u + 5] are phases 0 and 1 of tile u + 1; tile 8 is p[32], p[33].
    const __m256i next = _mm256_setr_epi32(4, 5, 6, 7, 1, 2, 3, 0);
    d[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[0], next), _mm256_set1_ps(p[32]), 0x80);
    d[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(d[1], next), _mm256_set1_ps(p[33]), 0x80);
}

// Inverse of deinterleave's first four phases: o_j (lanes 0,2,4,6,1,3,5,7) → 32 floats out[4u + j].
inline void interleave(const __m256* o, __m256* out) {
    const __m256 l01 = _mm256_unpacklo_ps(o[0], o[1]), l23 = _mm256_unpacklo_ps(o[2], o[3]);
    const __m256 h01 = _mm256_unpackhi_ps(o[0], o[1]), h23 = _mm256_unpackhi_ps(o[2], o[3]);
    out[0] = _mm256_shuffle_ps(l01, l23, 0x44);
    out[1] = _mm256_shuffle_ps(l01, l23, 0xEE);
    out[2] = _mm256_shuffle_ps(h01, h23, 0x44);
    out[3] = _mm256_shuffle_ps(h01, h23, 0xEE);
}

// The 34 input samples of row y, columns x0 .. x0+33, of one channel plane: a pointer into the plane where they are
// all inside it (and not upsampled), else a copy in buf with zeros for the padding.
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

}  // namespace

extern "C" {

// Tile rows per image and padded tiles per tile row of the convolution (outputs through the pointers).
void var_wino_tiles(int64_t hs, int64_t ws, int up, int64_t* th, int64_t* tw8) {
    const Geometry g(1, 1, hs, ws, up);
    *th = g.th;
    *tw8 = g.tw8;
}

// Input transform of the tiles [t0, t1) of x into V (36, C, t1 - t0); t0 and t1 are multiples of the padded row tw8.
void var_wino_input(const float* x, int64_t n, int64_t c, int64_t hs, int64_t ws, int up, int64_t t0, int64_t t1,
                    float* v, int threads) {
    const Geometry g(n, c, hs, ws, up);
    const int64_t T = t1 - t0;
    parallel_for(c, threads, [&](int64_t c0, int64_t c1) {
        alignas(32) float buf[40];
        __m256 d[6][6], tmp[6][6], r[6];
        for (int64_t ch = c0; ch < c1; ++ch) {
            for (int64_t t = t0; t < t1; t += 8) {
                const int64_t img = t / (g.th * g.tw8), rem = t % (g.th * g.tw8), ty = rem / g.tw8, tx = rem % g.tw8;
                const float* plane = x + (img * g.c + ch) * g.hs * g.ws;
                for (int i = 0; i < 6; ++i) deinterleave(input_row(g, plane, ty * 4 - 1 + i, tx * 4 - 1, buf), d[i]);
                // tmp = B^T d (down the rows i), then V = tmp B (along the columns j).
                for (int j = 0; j < 6; ++j) {
                    bt6(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], r);
                    for (int i = 0; i < 6; ++i) tmp[i][j] = r[i];
                }
                float* dst = v + ch * T + (t - t0);
                for (int i = 0; i < 6; ++i) {
                    bt6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
                    for (int j = 0; j < 6; ++j) _mm256_storeu_ps(dst + (int64_t)(i * 6 + j) * g.c * T, r[j]);
                }
            }
        }
    });
}

// Output transform of M (36, K, t1 - t0) for the tiles [t0, t1) into y (N, K, H, W), adding bias[k] (may be null)
// and res (same shape as y, may be null). (hs, ws, up) describe the convolution's input as for var_wino_input.
void var_wino_output(const float* m, int64_t n, int64_t k, int64_t hs, int64_t ws, int up, int64_t t0, int64_t t1,
                     const float* bias, const float* res, float* y, int threads) {
    const Geometry g(n, k, hs, ws, up);
    const int64_t T = t1 - t0;
    parallel_for(k, threads, [&](int64_t k0, int64_t k1) {
        __m256 mm[6][6], tmp[4][6], r[4], out[4];
        alignas(32) float buf[32];
        for (int64_t kc = k0; kc < k1; ++kc) {
            const __m256 b = _mm256_set1_ps(bias ? bias[kc] : 0.0f);
            for (int64_t t = t0; t < t1; t += 8) {
                const int64_t img = t / (g.th * g.tw8), rem = t % (g.th * g.tw8), ty = rem / g.tw8, tx = rem % g.tw8;
                if (tx >= g.tw) continue;  // a group of padding tiles only
                const float* src = m + kc * T + (t - t0);
                for (int xi = 0; xi < 36; ++xi) mm[xi / 6][xi % 6] = _mm256_loadu_ps(src + (int64_t)xi * k * T);
                // tmp = A^T m (down the rows), out = tmp A (along the columns).
                for (int j = 0; j < 6; ++j) {
                    at6(mm[0][j], mm[1][j], mm[2][j], mm[3][j], mm[4][j], mm[5][j], r);
                    for (int i = 0; i < 4; ++i) tmp[i][j] = r[i];
                }
                const int64_t plane = (img * k + kc) * g.h * g.w, xb = tx * 4;
                const int64_t width = std::min<int64_t>(32, g.w - xb);
                for (int i = 0; i < 4; ++i) {
                    const int64_t yy = ty * 4 + i;
                    if (yy >= g.h) break;
                    at6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
                    for (int j = 0; j < 4; ++j) r[j] = _mm256_add_ps(r[j], b);
                    interleave(r, out);
                    float* dst = y + plane + yy * g.w + xb;
                    const float* rs = res ? res + plane + yy * g.w + xb : nullptr;
                    if (width == 32) {
                        for (int q = 0; q < 4; ++q) {
                            __m256 o = out[q];
                            if (rs) o = _mm256_add_ps(o, _mm256_loadu_ps(rs + 8 * q));
                            _mm256_storeu_ps(dst + 8 * q, o);
                        }
                    } else {
                        for (int q = 0; q < 4; ++q) _mm256_store_ps(buf + 8 * q, out[q]);
                        for (int64_t xx = 0; xx < width; ++xx) dst[xx] = rs ? buf[xx] + rs[xx] : buf[xx];
                    }
                }
            }
        }
    });
}

}  // extern "C"
