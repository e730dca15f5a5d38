// The three transforms of Winograd F(4x4, 3x3) (conv2d_winograd.h), vectorised along the
// channels: every formula below runs on a block of up to kLanes consecutive channels at once,
// in plain loops that run_simd() compiles for AVX-512, AVX2+FMA and the baseline. The lane
// loops read and write through arrays of row pointers, which the compiler cannot prove
// disjoint: `omp simd` tells it they are (they always are: inputs, temporaries and V / M / y
// never overlap), or it would keep them scalar.
//
// The matrices (Lavin & Gray 2016, section 4.1; points 0, 1, -1, 2, -2, infinity):
//   B^T = [4  0 -5  0  1  0]    G = [ 1/4     0     0 ]    A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]          [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6 ]          [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]        [1/24  1/12   1/6 ]          [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]        [1/24 -1/12   1/6 ]
//         [0  4  0 -5  0  1]        [ 0      0     1  ]
// Each 2-D transform X^T d X is the 1-D one applied to the columns, then to the rows.
#include <algorithm>

#include "../common/macros.h"
#include "../common/threading.h"
#include "conv2d_winograd.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int kLanes = 64;  // channels per block: the 6x6 block of temporaries stays in L1 (9 KiB)

// out[0..5] = B^T d for six rows d[0..5] of n lanes each; strides in floats.
[[gnu::always_inline]] inline void bt_1d(const float* const d[6], float* const out[6], int n) {
#pragma omp simd
  for (int l = 0; l < n; ++l) {
    const float d0 = d[0][l], d1 = d[1][l], d2 = d[2][l], d3 = d[3][l], d4 = d[4][l], d5 = d[5][l];
    out[0][l] = 4.0f * d0 - 5.0f * d2 + d4;
    out[1][l] = -4.0f * (d1 + d2) + d3 + d4;
    out[2][l] = 4.0f * (d1 - d2) - d3 + d4;
    out[3][l] = 2.0f * (d3 - d1) - d2 + d4;
    out[4][l] = 2.0f * (d1 - d3) - d2 + d4;
    out[5][l] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

// out[0..3] = A^T m for six rows m[0..5] of n lanes each.
[[gnu::always_inline]] inline void at_1d(const float* const m[6], float* const out[4], int n) {
#pragma omp simd
  for (int l = 0; l < n; ++l) {
    const float m0 = m[0][l], m1 = m[1][l], m2 = m[2][l], m3 = m[3][l], m4 = m[4][l], m5 = m[5][l];
    const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    out[0][l] = m0 + s12 + s34;
    out[1][l] = d12 + 2.0f * d34;
    out[2][l] = s12 + 4.0f * s34;
    out[3][l] = d12 + 8.0f * d34 + m5;
  }
}

// out[0..5] = A g for four rows g[0..3] of n lanes each (A = (A^T)^T, 6 x 4): the filter
// gradient's transform of a 4x4 block of dy.
[[gnu::always_inline]] inline void a_1d(const float* const g[4], float* const out[6], int n) {
#pragma omp simd
  for (int l = 0; l < n; ++l) {
    const float g0 = g[0][l], g1 = g[1][l], g2 = g[2][l], g3 = g[3][l];
    const float s02 = g0 + g2, s13 = g1 + g3, t02 = g0 + 4.0f * g2, t13 = 2.0f * g1 + 8.0f * g3;
    out[0][l] = g0;
    out[1][l] = s02 + s13;
    out[2][l] = s02 - s13;
    out[3][l] = t02 + t13;
    out[4][l] = t02 - t13;
    out[5][l] = g3;
  }
}

// out[0..2] = G^T m for six rows m[0..5] of n lanes each: the filter gradient's inverse transform.
[[gnu::always_inline]] inline void gt_1d(const float* const m[6], float* const out[3], int n) {
#pragma omp simd
  for (int l = 0; l < n; ++l) {
    const float m0 = m[0][l], m1 = m[1][l], m2 = m[2][l], m3 = m[3][l], m4 = m[4][l], m5 = m[5][l];
    out[0][l] = 0.25f * m0 - (m1 + m2) / 6.0f + (m3 + m4) / 24.0f;
    out[1][l] = (m2 - m1) / 6.0f + (m3 - m4) / 12.0f;
    out[2][l] = (m3 + m4 - m1 - m2) / 6.0f + m5;
  }
}

// One tile's V for channels [c0, c0 + n): px[r][s] points at input pixel (r, s) of the tile
// (or at zeros), V[e] at row t of the e-th matrix.
[[gnu::always_inline]] inline void input_tile(const float* const px[6][6], int64_t c0, int n, float* V, int64_t ldv) {
  alignas(64) float tmp[6][6][kLanes];  // tmp[xi][s] = (B^T d)[xi][s]
  for (int s = 0; s < 6; ++s) {
    const float* d[6] = {px[0][s] + c0, px[1][s] + c0, px[2][s] + c0, px[3][s] + c0, px[4][s] + c0, px[5][s] + c0};
    float* out[6] = {tmp[0][s], tmp[1][s], tmp[2][s], tmp[3][s], tmp[4][s], tmp[5][s]};
    bt_1d(d, out, n);
  }
  for (int xi = 0; xi < 6; ++xi) {  // V[xi][nu] = (tmp B)[xi][nu]: the same 1-D transform along s
    const float* d[6] = {tmp[xi][0], tmp[xi][1], tmp[xi][2], tmp[xi][3], tmp[xi][4], tmp[xi][5]};
    float* out[6];
    for (int nu = 0; nu < 6; ++nu) out[nu] = V + (xi * 6 + nu) * ldv + c0;
    bt_1d(d, out, n);
  }
}

// One tile's 4x4 outputs for channels [k0, k0 + n): M[e] at row t of the e-th matrix; out[i][j]
// points at output pixel (i, j) (null where it is past the edge of the image).
[[gnu::always_inline]] inline void output_tile(const float* M, int64_t ldm, int64_t k0, int n, const float* bias,
                                               Activation act, float* const out[4][4]) {
  alignas(64) float tmp[4][6][kLanes];  // tmp[i][nu] = (A^T M)[i][nu]
  alignas(64) float y[4][4][kLanes];
  for (int nu = 0; nu < 6; ++nu) {
    const float* m[6];
    for (int xi = 0; xi < 6; ++xi) m[xi] = M + (xi * 6 + nu) * ldm + k0;
    float* o[4] = {tmp[0][nu], tmp[1][nu], tmp[2][nu], tmp[3][nu]};
    at_1d(m, o, n);
  }
  for (int i = 0; i < 4; ++i) {
    const float* m[6] = {tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5]};
    float* o[4] = {y[i][0], y[i][1], y[i][2], y[i][3]};
    at_1d(m, o, n);
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      float* dst = out[i][j];
      if (!dst) continue;
      dst += k0;
      const float* v = y[i][j];
      if (bias) {
#pragma omp simd
        for (int l = 0; l < n; ++l) y[i][j][l] += bias[k0 + l];
      }
      if (act == Activation::none) {
#pragma omp simd
        for (int l = 0; l < n; ++l) dst[l] = v[l];
      } else if (act == Activation::relu) {
#pragma omp simd
        for (int l = 0; l < n; ++l) dst[l] = v[l] < 0.0f ? 0.0f : v[l];
      } else {
        for (int l = 0; l < n; ++l) dst[l] = activate(v[l], act);
      }
    }
}

// Tile t's coordinates: image n, top-left output pixel (oh0, ow0).
struct TilePos {
  int64_t n, oh0, ow0;
};
inline TilePos tile_pos(const WinogradShape& s, int64_t t) {
  const int64_t per_image = s.tiles_h() * s.tiles_w();
  const int64_t n = t / per_image, r = t % per_image;
  return {n, r / s.tiles_w() * 4, r % s.tiles_w() * 4};
}

}  // namespace

void winograd_filter_transform(const float* g0, int64_t si, int64_t sj, int64_t sci, int64_t sco, int64_t cin,
                               int64_t cout, float* U, SimdPath path) {
  const int64_t plane = cin * cout;  // one transform point's C x K matrix
  for (int64_t ci = 0; ci < cin; ++ci)
    run_simd(path, [&]() SINAPSE_INLINE {
  // Along the output channels: the 3x3 taps of (ci, co), then G g (rows), then (G g) G^T.
#pragma omp simd
      for (int64_t co = 0; co < cout; ++co) {
        const float* g = g0 + ci * sci + co * sco;
        float gg[6][3];  // G g: 6 x 3
        for (int j = 0; j < 3; ++j) {
          const float a = g[0 * si + j * sj], b = g[1 * si + j * sj], c = g[2 * si + j * sj];
          gg[0][j] = 0.25f * a;
          gg[1][j] = -(a + b + c) / 6.0f;
          gg[2][j] = -(a - b + c) / 6.0f;
          gg[3][j] = a / 24.0f + b / 12.0f + c / 6.0f;
          gg[4][j] = a / 24.0f - b / 12.0f + c / 6.0f;
          gg[5][j] = c;
        }
        float* u = U + ci * cout + co;
        for (int x = 0; x < 6; ++x) {
          const float a = gg[x][0], b = gg[x][1], c = gg[x][2];
          u[(x * 6 + 0) * plane] = 0.25f * a;
          u[(x * 6 + 1) * plane] = -(a + b + c) / 6.0f;
          u[(x * 6 + 2) * plane] = -(a - b + c) / 6.0f;
          u[(x * 6 + 3) * plane] = a / 24.0f + b / 12.0f + c / 6.0f;
          u[(x * 6 + 4) * plane] = a / 24.0f - b / 12.0f + c / 6.0f;
          u[(x * 6 + 5) * plane] = c;
        }
      }
    });
}

void winograd_input_transform(const WinogradShape& s, const float* in, int64_t t0, int64_t nt, const float* zeros,
                              float* V, SimdPath path, int max_threads) {
  const int64_t ldv = nt * s.C;  // one transform point's matrix: nt rows of C
  const int nthreads = threads_for(static_cast<double>(nt) * 36 * s.C, grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    const float* px[6][6];  // the tile's 36 input pixels, zeros for the padding
    for (int r = 0; r < 6; ++r) {
      const int64_t h = p.oh0 - s.pad_top + r;
      for (int c = 0; c < 6; ++c) {
        const int64_t w = p.ow0 - s.pad_left + c;
        const bool inside = h >= 0 && h < s.IH && w >= 0 && w < s.IW;
        px[r][c] = inside ? in + ((p.n * s.IH + h) * s.IW + w) * s.C : zeros;
      }
    }
    float* v = V + t * s.C;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t c0 = 0; c0 < s.C; c0 += kLanes)
        input_tile(px, c0, static_cast<int>(std::min<int64_t>(kLanes, s.C - c0)), v, ldv);
    });
  }
}

void winograd_output_transform(const WinogradShape& s, const float* M, int64_t t0, int64_t nt, const float* bias,
                               Activation act, float* out, SimdPath path, int max_threads) {
  const int64_t ldm = nt * s.K;
  const int nthreads = threads_for(static_cast<double>(nt) * 36 * s.K, grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    float* dst[4][4];  // the tile's 16 output pixels, null past the edge
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t oh = p.oh0 + i, ow = p.ow0 + j;
        dst[i][j] = oh < s.OH && ow < s.OW ? out + ((p.n * s.OH + oh) * s.OW + ow) * s.K : nullptr;
      }
    const float* m = M + t * s.K;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t k0 = 0; k0 < s.K; k0 += kLanes)
        output_tile(m, ldm, k0, static_cast<int>(std::min<int64_t>(kLanes, s.K - k0)), bias, act, dst);
    });
  }
}

void winograd_dy_transform(const WinogradShape& s, const float* dy, int64_t t0, int64_t nt, const float* zeros,
                           float* D, SimdPath path, int max_threads) {
  const int64_t ldd = nt * s.K;
  const int nthreads = threads_for(static_cast<double>(nt) * 36 * s.K, grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t t = 0; t < nt; ++t) {
    const TilePos p = tile_pos(s, t0 + t);
    const float* g[4][4];  // the tile's 16 dy pixels, zeros past the edge
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t oh = p.oh0 + i, ow = p.ow0 + j;
        g[i][j] = oh < s.OH && ow < s.OW ? dy + ((p.n * s.OH + oh) * s.OW + ow) * s.K : zeros;
      }
    float* d = D + t * s.K;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t k0 = 0; k0 < s.K; k0 += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, s.K - k0));
        alignas(64) float tmp[6][4][kLanes];  // tmp[e][j] = (A g)[e][j], along the rows
        for (int j = 0; j < 4; ++j) {
          const float* col[4] = {g[0][j] + k0, g[1][j] + k0, g[2][j] + k0, g[3][j] + k0};
          float* out[6] = {tmp[0][j], tmp[1][j], tmp[2][j], tmp[3][j], tmp[4][j], tmp[5][j]};
          a_1d(col, out, n);
        }
        for (int e = 0; e < 6; ++e) {  // D[e][f] = (tmp A^T)[e][f], along the columns
          const float* row[4] = {tmp[e][0], tmp[e][1], tmp[e][2], tmp[e][3]};
          float* out[6];
          for (int f = 0; f < 6; ++f) out[f] = d + (e * 6 + f) * ldd + k0;
          a_1d(row, out, n);
        }
      }
    });
  }
}

void winograd_filter_inverse(const float* M, int64_t C, int64_t K, float* dw, SimdPath path) {
  const int64_t plane = C * K;
  for (int64_t c = 0; c < C; ++c)
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t k0 = 0; k0 < K; k0 += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, K - k0));
        alignas(64) float tmp[3][6][kLanes];  // tmp[i][f] = (G^T M)[i][f]
        for (int f = 0; f < 6; ++f) {
          const float* m[6];
          for (int e = 0; e < 6; ++e) m[e] = M + (e * 6 + f) * plane + c * K + k0;
          float* out[3] = {tmp[0][f], tmp[1][f], tmp[2][f]};
          gt_1d(m, out, n);
        }
        for (int i = 0; i < 3; ++i) {  // dw[i][j][c][k] = (tmp G)[i][j]
          const float* m[6] = {tmp[i][0], tmp[i][1], tmp[i][2], tmp[i][3], tmp[i][4], tmp[i][5]};
          float* out[3];
          for (int j = 0; j < 3; ++j) out[j] = dw + ((i * 3 + j) * C + c) * K + k0;
          gt_1d(m, out, n);
        }
      }
    });
}

}  // namespace sinapse::cpu
