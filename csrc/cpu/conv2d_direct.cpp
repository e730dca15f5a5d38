// Direct conv2d forward for few input channels (C <= kDirectMaxChannels): the first layers
// of image models, where im2col would hand the GEMM a depth of only KH*KW*C (9-49) and write
// KH*KW copies of the input. Here each (image, output row) walks its output pixels P at a
// time and the output channels 16 at a time, keeping a P x 16 tile of y in registers: for
// every kernel tap (i, j, c) it broadcasts P input pixels and adds them times one 16-wide
// row of weights. The plain loops are compiled once per SIMD path (target attributes) and
// vectorised by the compiler along the 16 output channels.
#include <algorithm>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/aligned_buffer.h"
#include "../common/macros.h"
#include "../common/threading.h"
#include "conv2d.h"
#include "conv2d_rows.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int kP = 8;  // output pixels per register tile
// Output channels per register tile, KB: 16, or 32 on AVX-512 when K >= 32. Each tap loads
// KB/16 weight vectors and kP input broadcasts for kP*KB/16 FMAs: 9 loads per 8 FMAs at
// KB = 16 leave the kernel load-bound near 45% of the FMA peak; 10 per 16 at KB = 32 (16 of
// the 32 zmm registers hold the tile) approach the FMA limit. AVX2's 16 registers fit only
// the 16-wide tile.

// One output row (n, oh): y[n, oh, :, :] from x, the K-padded weights wp (rows of kp) and
// the K-padded bias bp (zeros when the layer has none).
template <int kKB>
[[gnu::always_inline]] inline void direct_row(const ConvArgs& a, const float* __restrict x, const float* __restrict wp,
                                              int64_t kp, const float* __restrict bp, Activation act,
                                              float* __restrict y, int64_t n, int64_t oh, float* __restrict rows,
                                              int64_t wpad) {
  fill_padded_rows(a, x, n, oh, rows, wpad);
  for (int64_t ow0 = 0; ow0 < a.OW; ow0 += kP) {
    const int np = static_cast<int>(std::min<int64_t>(kP, a.OW - ow0));
    for (int64_t k0 = 0; k0 < a.K; k0 += kKB) {
      float acc[kP][kKB];
      for (int p = 0; p < kP; ++p)
        for (int t = 0; t < kKB; ++t) acc[p][t] = bp[k0 + t];  // the bias starts the sum
      const int64_t step = a.SW * a.C;                         // next output pixel, same tap
      // With no dilation along W, a kernel row's taps (j, c) are KW*C consecutive floats of the
      // padded input row and consecutive rows of wp: one flat loop, one pointer each.
      const int64_t run = a.DW == 1 ? a.KW * a.C : a.C, runs = a.DW == 1 ? 1 : a.KW;
      for (int64_t i = 0; i < a.KH; ++i)
        for (int64_t j = 0; j < runs; ++j) {
          const float* __restrict xs = rows + i * wpad * a.C + (ow0 * a.SW + j * a.DW) * a.C;
          const float* __restrict wv = wp + ((i * a.KW + j) * a.C) * kp + k0;
          for (int64_t e = 0; e < run; ++e, wv += kp) {
#pragma GCC unroll 8
            for (int p = 0; p < kP; ++p) {
              const float xv = xs[p * step + e];
#pragma omp simd
              for (int t = 0; t < kKB; ++t) acc[p][t] += xv * wv[t];
            }
          }
        }
      // Store: plain (vectorised) loops for the common epilogues, the general one otherwise.
      const int nk = static_cast<int>(std::min<int64_t>(kKB, a.K - k0));
      for (int p = 0; p < np; ++p) {
        float* out = y + ((n * a.OH + oh) * a.OW + ow0 + p) * a.K + k0;
        if (act == Activation::none) {
          for (int t = 0; t < nk; ++t) out[t] = acc[p][t];
        } else if (act == Activation::relu) {
          for (int t = 0; t < nk; ++t) out[t] = acc[p][t] < 0.0f ? 0.0f : acc[p][t];
        } else {
          for (int t = 0; t < nk; ++t) out[t] = activate(acc[p][t], act);
        }
      }
    }
  }
}

using RowFn = void (*)(const ConvArgs&, const float*, const float*, int64_t, const float*, Activation, float*, int64_t,
                       int64_t, float*, int64_t);

void row_generic(const ConvArgs& a, const float* x, const float* wp, int64_t kp, const float* b, Activation act,
                 float* y, int64_t n, int64_t oh, float* rows, int64_t wpad) {
  direct_row<16>(a, x, wp, kp, b, act, y, n, oh, rows, wpad);
}
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void row_avx2(const ConvArgs& a, const float* x, const float* wp, int64_t kp, const float* b,
                                  Activation act, float* y, int64_t n, int64_t oh, float* rows, int64_t wpad) {
  direct_row<16>(a, x, wp, kp, b, act, y, n, oh, rows, wpad);
}
// Aligned to a cache line: this loop nest is the whole of a small convolution (LeNet C1), and
// where the linker happens to place it moved that forward by up to 7% between builds with
// identical instructions.
SINAPSE_TARGET_AVX512 __attribute__((aligned(64))) void row_avx512(const ConvArgs& a, const float* x, const float* wp,
                                                                   int64_t kp, const float* b, Activation act, float* y,
                                                                   int64_t n, int64_t oh, float* rows, int64_t wpad) {
  direct_row<16>(a, x, wp, kp, b, act, y, n, oh, rows, wpad);
}
SINAPSE_TARGET_AVX512 void row_avx512_wide(const ConvArgs& a, const float* x, const float* wp, int64_t kp,
                                           const float* b, Activation act, float* y, int64_t n, int64_t oh, float* rows,
                                           int64_t wpad) {
  direct_row<32>(a, x, wp, kp, b, act, y, n, oh, rows, wpad);
}
#endif

}  // namespace

void conv2d_forward_direct(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                           float* y, SimdPath path, int max_threads) {
  // Weights and bias with K padded to a multiple of 16 (zeros), so every register tile
  // reads whole rows.
  // AVX-512 with K >= 32: two registers of K per tile, so K is padded to 32.
  const bool wide = path == SimdPath::avx512 && a.K >= 32;
  const int kb = wide ? 32 : 16;
  const RowFn row = pick_simd(path, SINAPSE_SIMD_VERSIONS(row_generic, row_avx2, wide ? row_avx512_wide : row_avx512));
  const int64_t kp = (a.K + kb - 1) / kb * kb, taps = a.KH * a.KW * a.C;
  thread_local AlignedBuffer wbuf;
  float* wp = wbuf.floats(static_cast<size_t>((taps + 1) * kp));
  for (int64_t r = 0; r < taps; ++r) {
    std::memcpy(wp + r * kp, w + r * a.K, sizeof(float) * a.K);
    std::fill(wp + r * kp + a.K, wp + (r + 1) * kp, 0.0f);
  }
  float* bp = wp + taps * kp;
  for (int64_t k = 0; k < kp; ++k) bp[k] = bias && k < a.K ? bias[k] : 0.0f;
  const int nthreads = threads_for(2.0 * a.N * a.OH * a.OW * a.K * taps, grain::kFlops, max_threads);
  const int64_t wpad = padded_row_width(a, kP);
  // Each OpenMP thread's padded input rows of one output row, all allocated here on the
  // calling thread (grow-only, reused across calls): a failed allocation throws here, where
  // pybind11 turns it into MemoryError, never inside the parallel region (std::terminate).
  // Slices rounded to 16 floats keep every thread's rows 64-byte aligned.
  const int64_t per_thread = (a.KH * wpad * a.C + 15) / 16 * 16;
  thread_local AlignedBuffer rows_buf;
  float* rows_all = rows_buf.floats(static_cast<size_t>(nthreads * per_thread));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
#ifdef _OPENMP
    float* rows = rows_all + omp_get_thread_num() * per_thread;
#else
    float* rows = rows_all;
#endif
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < a.N; ++n)
      for (int64_t oh = 0; oh < a.OH; ++oh) row(a, x, wp, kp, bp, act, y, n, oh, rows, wpad);
  }
}

}  // namespace sinapse::cpu
