// Winograd F(4x4, 3x3) convolution for the VQVAE decoder's 3x3, stride-1, padding-1 layers on the CPU (inference).
//
// y = A^T [ (G g G^T) ⊙ (B^T d B) ] A per 4x4 output tile: 36 multiplications per 16 outputs instead of 144.
// Matrices from Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), F(4x4, 3x3) with the
// interpolation points 0, ±1, ±2, ∞. Summed over input channels the ⊙ becomes, for each of the 36 points xi, a matrix
// product M[xi] (K × tiles) = U[xi] (K × C) · V[xi] (C × tiles), where U = G g G^T is the transformed weight.
//
// Everything is fused per block of 16 tiles so that only x, U and y travel beyond the caches: the block's input
// transform V (36, C, 16) stays in L2, every 6 output channels' 36 products (6 × 16 each, a register-blocked AVX2
// kernel) stay in L1, and their output transform writes y directly (plus bias and an optional residual).
//
// Layouts (all float32, row-major):
//   x    (N, C, Hs, Ws)        input; with `up` set the convolution sees the nearest-neighbour 2x upsampling of x,
//                              (H, W) = (2 Hs, 2 Ws), without it being materialised; else (H, W) = (Hs, Ws)
//   w    (K, C, 3, 3)          weight; U = G w G^T is computed here in the kernel's layout (36, K/6, C, 6)
//   y    (N, K, H, W)          output
//   res  (N, K, H, W) or null  added to the output (a residual connection), after the bias
// Tiles are numbered t = (n·TH + ty)·TW8 + tx with TH = ceil(H/4) rows of TW8 = 8·ceil(ceil(W/4)/8) tiles: every tile
// row is padded to whole groups of 8; the padding tiles are computed and dropped.
//
// Lanes: a group of 8 neighbouring tiles of one tile row is transformed at once with AVX2 vectors. Their input rows
// (34 floats) are de-interleaved by an 8×4 transpose, which leaves the tiles in lane order 0,2,4,6,1,3,5,7; V and M
// keep that order, and the output transform's inverse transpose undoes it. Built with -mavx2 -mfma; the C# side
// (src/Model/Vqvae/Conv3x3.cs) only calls it where the CPU has both.

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
inline __m256 add(__m256 x, __m256 y) { return _mm256_add_ps(x, y); }
inline __m256 sub(__m256 x, __m256 y) { return _mm256_sub_ps(x, y); }
using Vec = __m256;

#include "winograd_common.h"


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

// U = G w G^T per (k, c), in the kernels' layout (36, ceil(K/rows), C, rows), zero rows padding K; G of F(4x4, 3x3)
// for the points 0, ±1, ±2, ∞ (Lavin & Gray 2016): rows (1/4, 0, 0), (-1/6, -1/6, -1/6), (-1/6, 1/6, -1/6),
// (1/24, 1/12, 1/6), (1/24, -1/12, 1/6), (0, 0, 1), applied as sums and differences. It runs on every call, so the
// `rows` output channels of one block are transformed together in the lanes of one vector (a scalar version took
// 30 ms for a 640-channel layer, half of its convolution at batch 1).
inline void g6(__m256 a, __m256 b, __m256 c, __m256* r) {
    r[0] = mul(0.25f, a);
    r[1] = mul(-1.0f / 6, _mm256_add_ps(_mm256_add_ps(a, b), c));
    r[2] = mul(-1.0f / 6, _mm256_add_ps(_mm256_sub_ps(a, b), c));
    const __m256 e = fma(1.0f / 24, a, mul(1.0f / 6, c)), f = mul(1.0f / 12, b);
    r[3] = _mm256_add_ps(e, f);
    r[4] = _mm256_sub_ps(e, f);
    r[5] = c;
}

// Floats pack_weight writes.
int64_t packed_size(int64_t k, int64_t c, int rows) { return 36 * ((k + rows - 1) / rows) * c * rows; }

void pack_weight(const float* w, int64_t k, int64_t c, int rows, int threads, float* out) {
    const int64_t kb_count = (k + rows - 1) / rows, plane = kb_count * c * rows;
    parallel_for(kb_count, threads, [&](int64_t kb0, int64_t kb1) {
        for (int64_t kb = kb0; kb < kb1; ++kb) {
            // Lane r: output channel kb·rows + r, where it exists (the others read nothing and store zeros).
            alignas(32) int32_t offset[8], valid[8];
            for (int r = 0; r < 8; ++r) {
                const bool ok = r < rows && kb * rows + r < k;
                offset[r] = ok ? (int32_t)((kb * rows + r) * c * 9) : 0;
                valid[r] = ok ? -1 : 0;
            }
            const __m256i base = _mm256_load_si256((const __m256i*)offset), live = _mm256_load_si256((const __m256i*)valid);
            const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* gw = w + ch * 9;
                __m256 g[9], t[3][6], u[6];
                for (int q = 0; q < 9; ++q)
                    g[q] = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), gw + q, base, _mm256_castsi256_ps(live), 4);
                for (int j = 0; j < 3; ++j) g6(g[j], g[3 + j], g[6 + j], t[j]);  // t[j] = G · column j of w
                float* dst = out + (kb * c + ch) * rows;
                for (int i = 0; i < 6; ++i) {
                    g6(t[0][i], t[1][i], t[2][i], u);
                    for (int j = 0; j < 6; ++j) {
                        float* at = dst + (i * 6 + j) * plane;
                        if (rows == 8) _mm256_storeu_ps(at, u[j]);
                        else _mm256_maskstore_ps(at, lanes, u[j]);
                    }
                }
            }
        }
    });
}

// Scratch memory of the calling thread, 64-byte aligned, grown as needed and kept: U of a 640-channel layer is 59 MB,
// and allocating it afresh (page faults included) cost as much as packing it.
float* scratch(size_t floats) {
    thread_local std::vector<float> store;
    if (store.size() < floats + 16) {
        store = std::vector<float>();
        store.resize(floats + 16);
    }
    return (float*)(((uintptr_t)store.data() + 63) & ~(uintptr_t)63);
}

}  // namespace

// winograd_avx512.cpp: blocks b0 .. b1-1 of 32 tiles; geometry = Geometry's fields in order, up as 0/1.
extern "C" void var_wino512_blocks(const int64_t* geometry, const float* x, const float* packed, int64_t k,
                                   const float* bias, const float* res, float* y, int64_t b0, int64_t b1, float* vb,
                                   float* mb);

extern "C" {

// Tile rows per image and padded tiles per tile row of the convolution (outputs through the pointers).
void var_wino_tiles(int64_t hs, int64_t ws, int up, int64_t* th, int64_t* tw8) {
    const Geometry g(1, 1, hs, ws, up);
    *th = g.th;
    *tw8 = g.tw8;
}

// The best kernel this CPU runs: 2 = AVX-512 (F, DQ, BW, VL), 1 = AVX2 + FMA, 0 = none (cpuid and the OS's saved
// register state, as libgcc reports them).
int var_wino_isa() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}

// The convolution y = conv(x, w) + bias (+ res) for w (K, C, 3, 3) with the kernel `isa` (as var_wino_isa; 0 = the
// best one here; one the CPU lacks is refused with -1); threads split the work. Returns the kernel that ran.
int var_wino_conv_isa(const float* x, int64_t n, int64_t c, int64_t hs, int64_t ws, int up, const float* w, int64_t k,
                      const float* bias, const float* res, float* y, int threads, int isa) {
    const int best = var_wino_isa();
    if (isa == 0) isa = best;
    if (isa < 1 || isa > best) return -1;
    const Geometry g(n, c, hs, ws, up);
    const int rows = isa == 2 ? 8 : 6;
    if (isa == 2) {
        const int64_t geometry[10] = {g.n, g.c, g.hs, g.ws, g.h, g.w, g.th, g.tw, g.tw8, g.up ? 1 : 0};
        const int64_t kpad = (k + 7) / 8 * 8, blocks = (g.n * g.th * g.tw8 / 8 + 3) / 4;
        // U, then per worker its V (36, C, 32) and M (36, Kpad, 32), each a multiple of 16 floats.
        const int64_t u_size = packed_size(k, c, rows), v_size = 36 * c * 32, m_size = 36 * kpad * 32;
        const int workers = (int)std::max<int64_t>(1, std::min<int64_t>(threads, blocks));
        float* packed = scratch((size_t)(u_size + workers * (v_size + m_size)));
        pack_weight(w, k, c, rows, threads, packed);
        const int64_t per = (blocks + workers - 1) / workers;
        parallel_for(workers, workers, [&](int64_t w0, int64_t w1) {
            for (int64_t wi = w0; wi < w1; ++wi) {
                float* vb = packed + u_size + wi * (v_size + m_size);
                const int64_t b0 = wi * per, b1 = std::min(blocks, b0 + per);
                if (b0 < b1) var_wino512_blocks(geometry, x, packed, k, bias, res, y, b0, b1, vb, vb + v_size);
            }
        });
        return 2;
    }
    float* packed = scratch((size_t)packed_size(k, c, rows));
    pack_weight(w, k, c, rows, threads, packed);
    const int64_t kb_count = (k + 5) / 6;
    // Image, tile row and tile column of tile t.
    auto locate = [&g](int64_t t, int64_t& img, int64_t& ty, int64_t& tx) {
        const int64_t per_image = g.th * g.tw8, rem = t % per_image;
        img = t / per_image;
        ty = rem / g.tw8;
        tx = rem % g.tw8;
    };
    const int64_t groups = g.n * g.th * g.tw8 / 8, blocks = (groups + 1) / 2;
    parallel_for(blocks, threads, [&](int64_t b0, int64_t b1) {
        std::vector<float> vb_store((size_t)36 * c * 16 + 8);
        float* vb = (float*)(((uintptr_t)vb_store.data() + 31) & ~(uintptr_t)31);
        alignas(32) float mk[36][6][16];
        alignas(32) float buf[40];
        __m256 d[6][6], tmp[6][6], r[6];
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int ngroups = (int)std::min<int64_t>(2, groups - blk * 2);
            // Input transform of the block's groups: V[xi][ch][8·gi + lane].
            for (int gi = 0; gi < 2; ++gi) {
                if (gi >= ngroups) {
                    for (int64_t q = 0; q < 36 * c; ++q) _mm256_store_ps(vb + q * 16 + 8, _mm256_setzero_ps());
                    continue;
                }
                const int64_t t = (blk * 2 + gi) * 8;
                int64_t img, ty, tx;
                locate(t, img, ty, tx);
                for (int64_t ch = 0; ch < c; ++ch) {
                    const float* plane = x + (img * g.c + ch) * g.hs * g.ws;
                    for (int i = 0; i < 6; ++i) deinterleave(input_row(g, plane, ty * 4 - 1 + i, tx * 4 - 1, buf), d[i]);
                    for (int j = 0; j < 6; ++j) {
                        bt6(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], r);
                        for (int i = 0; i < 6; ++i) tmp[i][j] = r[i];
                    }
                    for (int i = 0; i < 6; ++i) {
                        bt6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
                        for (int j = 0; j < 6; ++j) _mm256_store_ps(vb + ((int64_t)(i * 6 + j) * c + ch) * 16 + 8 * gi, r[j]);
                    }
                }
            }
            for (int64_t kb = 0; kb < kb_count; ++kb) {
                // M[xi] (6 × 16) = U[xi] rows 6·kb .. 6·kb+5 times V[xi].
                for (int xi = 0; xi < 36; ++xi) {
                    const float* a = packed + ((xi * kb_count + kb) * c) * 6;
                    const float* bv = vb + (int64_t)xi * c * 16;
                    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
                    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
                    for (int64_t ch = 0; ch < c; ++ch, a += 6, bv += 16) {
                        const __m256 v0 = _mm256_load_ps(bv), v1 = _mm256_load_ps(bv + 8);
                        __m256 s = _mm256_broadcast_ss(a + 0);
                        c00 = _mm256_fmadd_ps(s, v0, c00); c01 = _mm256_fmadd_ps(s, v1, c01);
                        s = _mm256_broadcast_ss(a + 1);
                        c10 = _mm256_fmadd_ps(s, v0, c10); c11 = _mm256_fmadd_ps(s, v1, c11);
                        s = _mm256_broadcast_ss(a + 2);
                        c20 = _mm256_fmadd_ps(s, v0, c20); c21 = _mm256_fmadd_ps(s, v1, c21);
                        s = _mm256_broadcast_ss(a + 3);
                        c30 = _mm256_fmadd_ps(s, v0, c30); c31 = _mm256_fmadd_ps(s, v1, c31);
                        s = _mm256_broadcast_ss(a + 4);
                        c40 = _mm256_fmadd_ps(s, v0, c40); c41 = _mm256_fmadd_ps(s, v1, c41);
                        s = _mm256_broadcast_ss(a + 5);
                        c50 = _mm256_fmadd_ps(s, v0, c50); c51 = _mm256_fmadd_ps(s, v1, c51);
                    }
                    _mm256_store_ps(mk[xi][0], c00); _mm256_store_ps(mk[xi][0] + 8, c01);
                    _mm256_store_ps(mk[xi][1], c10); _mm256_store_ps(mk[xi][1] + 8, c11);
                    _mm256_store_ps(mk[xi][2], c20); _mm256_store_ps(mk[xi][2] + 8, c21);
                    _mm256_store_ps(mk[xi][3], c30); _mm256_store_ps(mk[xi][3] + 8, c31);
                    _mm256_store_ps(mk[xi][4], c40); _mm256_store_ps(mk[xi][4] + 8, c41);
                    _mm256_store_ps(mk[xi][5], c50); _mm256_store_ps(mk[xi][5] + 8, c51);
                }
                // Output transform of the 6 channels × the block's groups.
                for (int row = 0; row < 6 && kb * 6 + row < k; ++row) {
                    const int64_t kc = kb * 6 + row;
                    const __m256 bb = _mm256_set1_ps(bias ? bias[kc] : 0.0f);
                    for (int gi = 0; gi < ngroups; ++gi) {
                        const int64_t t = (blk * 2 + gi) * 8;
                        int64_t img, ty, tx;
                locate(t, img, ty, tx);
                        if (tx >= g.tw) continue;
                        __m256 mm[6][6], tt[4][6], o[4], out[4];
                        for (int xi = 0; xi < 36; ++xi) mm[xi / 6][xi % 6] = _mm256_load_ps(mk[xi][row] + 8 * gi);
                        for (int j = 0; j < 6; ++j) {
                            at6(mm[0][j], mm[1][j], mm[2][j], mm[3][j], mm[4][j], mm[5][j], o);
                            for (int i = 0; i < 4; ++i) tt[i][j] = o[i];
                        }
                        const int64_t plane = (img * k + kc) * g.h * g.w, xb = tx * 4;
                        const int64_t width = std::min<int64_t>(32, g.w - xb);
                        for (int i = 0; i < 4; ++i) {
                            const int64_t yy = ty * 4 + i;
                            if (yy >= g.h) break;
                            at6(tt[i][0], tt[i][1], tt[i][2], tt[i][3], tt[i][4], tt[i][5], o);
                            for (int j = 0; j < 4; ++j) o[j] = _mm256_add_ps(o[j], bb);
                            interleave(o, out);
                            float* dst = y + plane + yy * g.w + xb;
                            const float* rs = res ? res + plane + yy * g.w + xb : nullptr;
                            if (width == 32) {
                                for (int q = 0; q < 4; ++q) {
                                    __m256 v = out[q];
                                    if (rs) v = _mm256_add_ps(v, _mm256_loadu_ps(rs + 8 * q));
                                    _mm256_storeu_ps(dst + 8 * q, v);
                                }
                            } else {
                                alignas(32) float ob[32];
                                for (int q = 0; q < 4; ++q) _mm256_store_ps(ob + 8 * q, out[q]);
                                for (int64_t xx = 0; xx < width; ++xx) dst[xx] = rs ? ob[xx] + rs[xx] : ob[xx];
                            }
                        }
                    }
                }
            }
        }
    });
    return 1;
}

// var_wino_conv_isa with the best kernel here.
void var_wino_conv(const float* x, int64_t n, int64_t c, int64_t hs, int64_t ws, int up, const float* w, int64_t k,
                   const float* bias, const float* res, float* y, int threads) {
    var_wino_conv_isa(x, n, c, hs, ws, up, w, k, bias, res, y, threads, 0);
}

}  // extern "C"
