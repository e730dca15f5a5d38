// Direct conv2d input gradient for few input channels: dx[n, h, w, c] = sum over the
// outputs (oh, ow) whose window covers (h, w), and over k, of dy[n, oh, ow, k] * w[i, j, c, k].
//
// Why not dy @ w^T + col2im here: with C <= 8 the "columns" matrix is N*OH*OW x KH*KW*C
// (100352 x 49 for Géron's 7x7 layer) — the GEMM's output is thin, and col2im then reads it
// all back to scatter it. Here, per image, kQ output pixels at a time:
//   1. g = dy[kQ pixels] @ wt, with wt = w^T (K x taps, taps padded to 16 lanes), computed
//      16 taps at a time with a kQ x 16 tile in registers (one weight row load feeds kQ FMAs);
//   2. g is added into a zero-padded copy of the image's dx: for each pixel and kernel row i,
//      the taps (j, c) of that row are KW*C consecutive floats there (when the dilation along
//      W is 1), a vector add.
// The padded image is cropped into dx at the end. One image per thread: no sharing, and each
// image adds its contributions in a fixed order (deterministic).
#include <algorithm>
#include <cstring>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "conv2d_direct.h"
#include "conv2d_rows.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int kQ = 6;       // output pixels per register tile
constexpr int kLanes = 16;  // taps per register tile

// Padded-image geometry: rows [0, hp) x columns [0, wp) cover every tap of every output
// (and the whole input shifted by the padding).
struct PaddedImage {
  int64_t hp, wp;
  explicit PaddedImage(const ConvArgs& a)
      : hp(std::max((a.OH - 1) * a.SH + (a.KH - 1) * a.DH + 1, a.pad_top + a.H)),
        wp(std::max(padded_row_width(a, kQ), a.pad_left + a.W)) {}
};

[[gnu::always_inline]] inline void data_row(const ConvArgs& a, const float* __restrict dy_row,
                                            const float* __restrict wt, int64_t tp, float* __restrict img, int64_t wp,
                                            int64_t oh, float* __restrict dyb, float* __restrict g) {
  const int64_t row_taps = a.KW * a.C;
  for (int64_t ow0 = 0; ow0 < a.OW; ow0 += kQ) {
    const int nq = static_cast<int>(std::min<int64_t>(kQ, a.OW - ow0));
    // The pixels' dy rows (missing pixels: zeros), contiguous: read in place when all are there.
    const float* d = dy_row + ow0 * a.K;
    if (nq < kQ) {
      std::memcpy(dyb, d, sizeof(float) * nq * a.K);
      std::fill(dyb + nq * a.K, dyb + kQ * a.K, 0.0f);
      d = dyb;
    }
    for (int64_t t0 = 0; t0 < tp; t0 += kLanes) {  // 1. g = dyb @ wt, 16 taps at a time
      float acc[kQ][kLanes];
#pragma GCC unroll 8
      for (int q = 0; q < kQ; ++q)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) acc[q][l] = 0.0f;
      for (int64_t k = 0; k < a.K; ++k) {
        const float* wv = wt + k * tp + t0;
#pragma GCC unroll 8
        for (int q = 0; q < kQ; ++q) {
          const float dq = d[q * a.K + k];
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) acc[q][l] += dq * wv[l];
        }
      }
#pragma GCC unroll 8
      for (int q = 0; q < kQ; ++q)
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) g[q * tp + t0 + l] = acc[q][l];
    }
    for (int q = 0; q < nq; ++q)  // 2. add each pixel's taps into the padded image
      for (int64_t i = 0; i < a.KH; ++i) {
        float* dst = img + ((oh * a.SH + i * a.DH) * wp + (ow0 + q) * a.SW) * a.C;
        const float* src = g + q * tp + i * row_taps;
        if (a.DW == 1) {
          for (int64_t e = 0; e < row_taps; ++e) dst[e] += src[e];
        } else {
          for (int64_t j = 0; j < a.KW; ++j)
            for (int64_t c = 0; c < a.C; ++c) dst[j * a.DW * a.C + c] += src[j * a.C + c];
        }
      }
  }
}

}  // namespace

void direct_detail::backward_data_few(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                      int max_threads) {
  const int64_t taps = a.KH * a.KW * a.C, tp = (taps + kLanes - 1) / kLanes * kLanes;
  const PaddedImage pi(a);
  // wt[k][t] = w[t][k] (HWIO rows are taps), taps padded with zeros.
  thread_local AlignedBuffer wt_buf, scratch;
  float* wt = wt_buf.floats(static_cast<size_t>(a.K * tp));
  for (int64_t k = 0; k < a.K; ++k)
    for (int64_t t = 0; t < tp; ++t) wt[k * tp + t] = t < taps ? w[t * a.K + k] : 0.0f;
  const int nthreads = threads_for(2.0 * a.N * a.OH * a.OW * a.K * taps, grain::kFlops, max_threads, a.N);
  // All scratch allocated here, outside the parallel region.
  const int64_t img_len = pi.hp * pi.wp * a.C, per_thread = img_len + kQ * a.K + kQ * tp;
  float* base = scratch.floats(static_cast<size_t>(nthreads * per_thread));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    float* img = base + team_index() * per_thread;
    float* dyb = img + img_len;
    float* g = dyb + kQ * a.K;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < a.N; ++n) {
      std::fill(img, img + img_len, 0.0f);
      for (int64_t oh = 0; oh < a.OH; ++oh) {
        const float* dy_row = dy + (n * a.OH + oh) * a.OW * a.K;
        run_simd(path, [&]() SINAPSE_INLINE { data_row(a, dy_row, wt, tp, img, pi.wp, oh, dyb, g); });
      }
      for (int64_t h = 0; h < a.H; ++h)  // crop: drop the padding's gradient
        std::memcpy(dx + ((n * a.H + h) * a.W) * a.C, img + ((h + a.pad_top) * pi.wp + a.pad_left) * a.C,
                    sizeof(float) * a.W * a.C);
    }
  }
}

}  // namespace sinapse::cpu
