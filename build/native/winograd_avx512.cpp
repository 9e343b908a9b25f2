// The AVX-512 path of the Winograd F(4x4, 3x3) convolution in winograd.cpp (read its header first: the matrices, the
// layouts and the tile numbering are the same). Built with -mavx512f -mavx512dq -mavx512bw -mavx512vl into the same
// library and called only where the CPU has them (winograd.cpp asks cpuid at run time), so nothing in this file may be
// reached on an AVX2-only machine: it uses no inline function or template from the C++ library (one instantiated here
// would be compiled for AVX-512 and could be the copy the linker keeps for the whole library).
//
// Differences from the AVX2 path:
//   - a block is 32 tiles, two vectors of 16 lanes; each 16-lane vector holds two groups of 8 neighbouring tiles (the
//     tile numbering of winograd.cpp, rows padded to whole groups of 8), which may lie on different tile rows or
//     images, so a 32²-output layer (8 tiles a row) wastes no lanes. Lanes keep the tiles' order.
//   - the products run point by point: for each of the 36 points xi, M[xi] (K × 32) = U[xi] (K × C) · V[xi] (C × 32)
//     in register blocks of 8 output channels × 32 tiles (16 accumulators), while V[xi] (C × 32) stays in L1/L2 and
//     U[xi] streams once per block. M of the whole block (36 × K × 32) is kept, so K is not limited by the L1 and the
//     640-channel layers fit (their V and M, 2.9 MB each, are touched twice per block instead of once per 8 channels).
//   - partial rows are written with masked stores.

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace {

// Same fields as winograd.cpp's Geometry (plain data, filled there from it).
struct Geometry {
    int64_t n, c, hs, ws, h, w, th, tw, tw8;
    int up;
};

inline __m512 mul(float a, __m512 x) { return _mm512_mul_ps(_mm512_set1_ps(a), x); }
inline __m512 fma(float a, __m512 x, __m512 y) { return _mm512_fmadd_ps(_mm512_set1_ps(a), x, y); }
inline __m512 add(__m512 x, __m512 y) { return _mm512_add_ps(x, y); }
inline __m512 sub(__m512 x, __m512 y) { return _mm512_sub_ps(x, y); }
using Vec = __m512;

#include "winograd_common.h"


// Phases j = 0..5 of 16 tiles: lane u < 8 is pa[4u + j], lane u >= 8 is pb[4(u - 8) + j]; pa, pb hold 34 floats each.
inline void deinterleave16(const float* pa, const float* pb, __m512* d) {
    const __m512 a0 = _mm512_loadu_ps(pa), a1 = _mm512_loadu_ps(pa + 16);
    const __m512 b0 = _mm512_loadu_ps(pb), b1 = _mm512_loadu_ps(pb + 16);
    const __m512i base = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    for (int j = 0; j < 4; ++j) {
        const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(j));
        d[j] = _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(a0, idx, a1), _mm512_permutex2var_ps(b0, idx, b1));
    }
    // Phases 4 and 5 are phases 0 and 1 of the next tile; the 8th tile of each group takes p[32], p[33].
    const __m512i next = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 0);
    const __m512 e4 = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(pa[32]), _mm512_set1_ps(pb[32]));
    const __m512 e5 = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(pa[33]), _mm512_set1_ps(pb[33]));
    d[4] = _mm512_mask_blend_ps(0x8080, _mm512_permutexvar_ps(next, d[0]), e4);
    d[5] = _mm512_mask_blend_ps(0x8080, _mm512_permutexvar_ps(next, d[1]), e5);
}

// Inverse for the four output phases o_j: out[2h + q] holds floats 16q .. 16q+15 of group h's 32-float output row,
// element e being o_(e % 4) of tile 8h + 4q + e / 4.
inline void interleave16(const __m512* o, __m512* out) {
    for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 2; ++q) {
            const int u = 8 * h + 4 * q;
            const __m512i idx = _mm512_setr_epi32(u, u + 16, u, u + 16, u + 1, u + 17, u + 1, u + 17, u + 2, u + 18,
                                                  u + 2, u + 18, u + 3, u + 19, u + 3, u + 19);
            out[2 * h + q] = _mm512_mask_blend_ps(0xCCCC, _mm512_permutex2var_ps(o[0], idx, o[1]),
                                                  _mm512_permutex2var_ps(o[2], idx, o[3]));
        }
}

struct Group {
    bool valid;
    int64_t img, ty, tx;
};

inline Group locate(const Geometry& g, int64_t groups, int64_t gi) {
    Group r{gi < groups, 0, 0, 0};
    if (!r.valid) return r;
    const int64_t t = gi * 8, per_image = g.th * g.tw8, rem = t % per_image;
    r.img = t / per_image;
    r.ty = rem / g.tw8;
    r.tx = rem % g.tw8;
    return r;
}

}  // namespace

extern "C" __attribute__((visibility("hidden"))) void var_wino512_blocks(
    const int64_t* geometry, const float* x, const float* packed, int64_t k, const float* bias, const float* res,
    float* y, int64_t b0, int64_t b1, float* vb, float* mb) {
    const Geometry g{geometry[0], geometry[1], geometry[2], geometry[3], geometry[4],
                        geometry[5], geometry[6], geometry[7], geometry[8], (int)geometry[9]};
    const int64_t c = g.c, kb_count = (k + 7) / 8, kpad = kb_count * 8;
    const int64_t groups = g.n * g.th * g.tw8 / 8;
    alignas(64) float zeros[48] = {};
    alignas(64) float bufa[48], bufb[48];
    for (int64_t blk = b0; blk < b1; ++blk) {
        Group grp[4];
        for (int h = 0; h < 4; ++h) grp[h] = locate(g, groups, blk * 4 + h);
        // Input transform: V[xi][ch][16·v + lane], v = 0, 1 (groups 2v and 2v + 1).
        for (int v = 0; v < 2; ++v) {
            const Group& ga = grp[2 * v];
            const Group& gb = grp[2 * v + 1];
            if (!ga.valid) {
                for (int64_t q = 0; q < 36 * c; ++q) _mm512_store_ps(vb + q * 32 + 16 * v, _mm512_setzero_ps());
                continue;
            }
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* plane_a = x + (ga.img * g.c + ch) * g.hs * g.ws;
                const float* plane_b = gb.valid ? x + (gb.img * g.c + ch) * g.hs * g.ws : nullptr;
                __m512 d[6][6], tmp[6][6], r[6];
                for (int i = 0; i < 6; ++i) {
                    const float* pa = input_row(g, plane_a, ga.ty * 4 - 1 + i, ga.tx * 4 - 1, bufa);
                    const float* pb = gb.valid ? input_row(g, plane_b, gb.ty * 4 - 1 + i, gb.tx * 4 - 1, bufb) : zeros;
                    deinterleave16(pa, pb, d[i]);
                }
                for (int j = 0; j < 6; ++j) {
                    bt6(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], r);
                    for (int i = 0; i < 6; ++i) tmp[i][j] = r[i];
                }
                for (int i = 0; i < 6; ++i) {
                    bt6(tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5], r);
                    for (int j = 0; j < 6; ++j) _mm512_store_ps(vb + ((int64_t)(i * 6 + j) * c + ch) * 32 + 16 * v, r[j]);
                }
            }
        }
        // Products: M[xi][kc][32 tiles] = sum over ch of U[xi][kc][ch] · V[xi][ch][32 tiles].
        for (int xi = 0; xi < 36; ++xi) {
            const float* bx = vb + (int64_t)xi * c * 32;
            for (int64_t kb = 0; kb < kb_count; ++kb) {
                const float* a = packed + ((xi * kb_count + kb) * c) * 8;
                const float* bv = bx;
                __m512 acc[8][2];
#pragma GCC unroll 8
                for (int r = 0; r < 8; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
                for (int64_t ch = 0; ch < c; ++ch, a += 8, bv += 32) {
                    const __m512 v0 = _mm512_load_ps(bv), v1 = _mm512_load_ps(bv + 16);
#pragma GCC unroll 8
                    for (int r = 0; r < 8; ++r) {
                        const __m512 s = _mm512_set1_ps(a[r]);
                        acc[r][0] = _mm512_fmadd_ps(s, v0, acc[r][0]);
                        acc[r][1] = _mm512_fmadd_ps(s, v1, acc[r][1]);
                    }
                }
                float* m = mb + ((int64_t)xi * kpad + kb * 8) * 32;
#pragma GCC unroll 8
                for (int r = 0; r < 8; ++r) {
                    _mm512_store_ps(m + r * 32, acc[r][0]);
                    _mm512_store_ps(m + r * 32 + 16, acc[r][1]);
                }
            }
        }
        // Output transform, bias, residual, store.
        for (int64_t kc = 0; kc < k; ++kc) {
            const __m512 bb = _mm512_set1_ps(bias ? bias[kc] : 0.0f);
            for (int v = 0; v < 2; ++v) {
                if (!grp[2 * v].valid) continue;
                __m512 mm[6][6], tt[4][6], o[4], out[4];
                for (int xi = 0; xi < 36; ++xi) mm[xi / 6][xi % 6] = _mm512_load_ps(mb + ((int64_t)xi * kpad + kc) * 32 + 16 * v);
                for (int j = 0; j < 6; ++j) {
                    at6(mm[0][j], mm[1][j], mm[2][j], mm[3][j], mm[4][j], mm[5][j], o);
                    for (int i = 0; i < 4; ++i) tt[i][j] = o[i];
                }
                for (int i = 0; i < 4; ++i) {
                    at6(tt[i][0], tt[i][1], tt[i][2], tt[i][3], tt[i][4], tt[i][5], o);
                    for (int j = 0; j < 4; ++j) o[j] = _mm512_add_ps(o[j], bb);
                    interleave16(o, out);
                    for (int h = 0; h < 2; ++h) {
                        const Group& gr = grp[2 * v + h];
                        if (!gr.valid || gr.tx >= g.tw) continue;
                        const int64_t yy = gr.ty * 4 + i;
                        if (yy >= g.h) continue;
                        const int64_t xb = gr.tx * 4, width = g.w - xb < 32 ? g.w - xb : 32;
                        const int64_t at = (gr.img * k + kc) * g.h * g.w + yy * g.w + xb;
                        for (int q = 0; q < 2; ++q) {
                            const int64_t cnt = width - 16 * q;
                            if (cnt <= 0) break;
                            const __mmask16 mask = cnt >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
                            __m512 val = out[2 * h + q];
                            if (res) val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(mask, res + at + 16 * q));
                            _mm512_mask_storeu_ps(y + at + 16 * q, mask, val);
                        }
                    }
                }
            }
        }
    }
}
