// Direct conv2d filter gradient for few input channels: dW[i, j, c, k] =
//   sum over (n, oh, ow) of x[n, oh*SH - pt + i*DH, ow*SW - pl + j*DW, c] * dy[n, oh, ow, k].
//
// Why not im2col + GEMM here: for a first layer the GEMM is (KH*KW*C) x K x (N*OH*OW) —
// 25 x 6 x 100352 for LeNet C1 — far too thin for the GEMM's register tiles, and im2col writes
// KH*KW copies of the input first. Here each thread keeps its own dW (taps x K, padded to 16
// lanes: at most kFilterDirectMaxBytes, so it lives in L1/L2) and walks its images' output
// pixels kQ at a time: for every tap it reads the accumulator row once, adds kQ products
// (input value broadcast times the kQ pixels' dy rows, held in a small buffer), and writes it
// back. The per-thread dWs are added in thread order: deterministic for a thread count.
#include <algorithm>
#include <cstring>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "conv2d_direct.h"
#include "conv2d_rows.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int kQ = 4;  // output pixels per pass over the accumulator
constexpr int kLanes = 16;

// acc[taps][kp] += the contributions of output row (n, oh), whose input rows are in `rows`.
[[gnu::always_inline]] inline void filter_row(const ConvArgs& a, const float* __restrict rows, int64_t wpad,
                                              const float* __restrict dy_row, int64_t kp, float* __restrict dyb,
                                              float* __restrict acc) {
  for (int64_t ow0 = 0; ow0 < a.OW; ow0 += kQ) {
    const int nq = static_cast<int>(std::min<int64_t>(kQ, a.OW - ow0));
    const float *d0, *d1, *d2, *d3;
    if (nq == kQ && a.K == kp) {  // whole rows of dy, read in place
      d0 = dy_row + ow0 * a.K;
      d1 = d0 + a.K;
      d2 = d1 + a.K;
      d3 = d2 + a.K;
    } else {  // the kQ pixels' dy rows, K padded with zeros (missing pixels: all zero)
      for (int q = 0; q < kQ; ++q) {
        float* dst = dyb + q * kp;
        if (q < nq) {
          std::memcpy(dst, dy_row + (ow0 + q) * a.K, sizeof(float) * a.K);
          std::fill(dst + a.K, dst + kp, 0.0f);
        } else {
          std::fill(dst, dst + kp, 0.0f);
        }
      }
      d0 = dyb;
      d1 = dyb + kp;
      d2 = dyb + 2 * kp;
      d3 = dyb + 3 * kp;
    }
    const int64_t step = a.SW * a.C;  // next output pixel, same tap
    // With no dilation along W, a kernel row's taps (j, c) are KW*C consecutive floats of the
    // padded row and consecutive accumulator rows: one flat loop.
    const int64_t run = a.DW == 1 ? a.KW * a.C : a.C, runs = a.DW == 1 ? 1 : a.KW;
    for (int64_t i = 0; i < a.KH; ++i)
      for (int64_t j = 0; j < runs; ++j) {
        const float* __restrict xs = rows + (i * wpad + ow0 * a.SW + j * a.DW) * a.C;
        float* __restrict out = acc + ((i * a.KW + j) * a.C) * kp;
        for (int64_t e = 0; e < run; ++e, out += kp) {
          // Missing pixels (q >= nq) read 0, not the row's next pixels: their dy is 0, and an
          // inf or NaN pixel there would make 0 * inf = NaN in dw (no output uses it).
          const float x0 = xs[e], x1 = nq > 1 ? xs[step + e] : 0.0f, x2 = nq > 2 ? xs[2 * step + e] : 0.0f,
                      x3 = nq > 3 ? xs[3 * step + e] : 0.0f;
#pragma omp simd
          for (int64_t k = 0; k < kp; ++k) out[k] += x0 * d0[k] + x1 * d1[k] + x2 * d2[k] + x3 * d3[k];
        }
      }
  }
}

}  // namespace

bool direct_detail::filter_few_fits(const ConvArgs& a) {
  const int64_t kp = (a.K + kLanes - 1) / kLanes * kLanes;
  return a.C <= kDirectMaxChannels &&
         a.KH * a.KW * a.C * kp * static_cast<int64_t>(sizeof(float)) <= kFilterDirectMaxBytes;
}

void direct_detail::backward_filter_few(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                        int max_threads) {
  const int64_t kp = (a.K + kLanes - 1) / kLanes * kLanes, taps = a.KH * a.KW * a.C;
  const int64_t wpad = padded_row_width(a, kQ);
  const int nthreads = threads_for(2.0 * a.N * a.OH * a.OW * a.K * taps, grain::kFlops, max_threads, a.N);
  // All scratch is allocated here, outside the parallel region (an exception must not leave it).
  const int64_t rows_len = a.KH * wpad * a.C, per_thread = taps * kp + rows_len + kQ * kp;
  thread_local AlignedBuffer scratch;
  float* base = scratch.floats(static_cast<size_t>(nthreads * per_thread));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const int t = team_index();
    float* acc = base + t * per_thread;
    float* rows = acc + taps * kp;
    float* dyb = rows + rows_len;
    std::fill(acc, acc + taps * kp, 0.0f);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < a.N; ++n)
      for (int64_t oh = 0; oh < a.OH; ++oh) {
        fill_padded_rows(a, x, n, oh, rows, wpad);
        const float* dy_row = dy + (n * a.OH + oh) * a.OW * a.K;
        run_simd(path, [&]() SINAPSE_INLINE { filter_row(a, rows, wpad, dy_row, kp, dyb, acc); });
      }
  }
  for (int64_t r = 0; r < taps; ++r)  // drop the K padding, add the threads' parts in order
    for (int64_t k = 0; k < a.K; ++k) {
      float s = 0.0f;
      for (int t = 0; t < nthreads; ++t) s += base[t * per_thread + r * kp + k];
      dw[r * a.K + k] = s;
    }
}

}  // namespace sinapse::cpu
