// Direct conv2d forward for any channel count, and the input gradient of stride-1 layers
// (the same kernel run on dy: conv2d_direct.h). No im2col buffer: the "implicit GEMM" view,
// where each kernel tap (i, j) multiplies a block of output pixels' input rows (P x C) by
// w[i, j] (C x K), accumulated in registers over all taps.
//
// Blocking (oneDNN's jit avx512 direct convolution is the anchor): each thread takes output
// rows (n, oh). It copies the KH input rows they read, with the zero padding made explicit
// (conv2d_rows.h), then walks the row's output pixels P at a time and the output channels KB
// at a time, keeping the P x KB tile of y in registers: for every tap (i, j, c) it broadcasts
// P input values and adds them times one KB-wide row of the packed weights. P is chosen per
// layer (at most kMaxP of the path) so the row splits into equal blocks: a fixed P = 8 on a
// 10- or 13-pixel row computed 16 pixels for 10 (LeNet C3) or 13 (MNIST conv2).
//   AVX-512: KB = 32 (two zmm), P <= 14: 28 accumulators, 2 weight loads and 14 broadcasts
//            per 28 FMAs (FMA-bound); KB = 16 when K <= 16. When K is a multiple of 64,
//            KB = 64 and P <= 7 (28 accumulators, 4 loads + 7 broadcasts per 28 FMAs): AlexNet
//            conv3 86.1 -> 82.6 ms, MNIST conv2 6.3 -> 6.2 (Zen 4, 1 thread, CPU time).
//   AVX2:    KB = 16 (two ymm), P <= 6: 12 accumulators of the 16 registers.
//   generic: KB = 16 (four SSE registers), P <= 3.
// Weights are packed per call into [K/KB][KH*KW*C][KB] (K padded with zeros): each k-block's
// taps are one contiguous stream. The plain loops are compiled once per SIMD path (target
// attributes) and vectorised by the compiler along KB.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "../common/aligned_buffer.h"
#include "../common/macros.h"
#include "../common/threading.h"
#include "conv2d_direct.h"
#include "conv2d_rows.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

// What one output row needs besides its indices.
struct RowJob {
  const ConvArgs* a;
  const float* x;   // input (NHWC)
  const float* wp;  // packed weights [kblocks][taps][KB]
  const float* bp;  // bias padded to kblocks * KB (zeros without a bias)
  Activation act;
  float* y;
  int64_t wpad;   // padded row width (pixels)
  int p;          // pixels per block (<= the path's kMaxP)
  bool skip;      // skip kernel rows that read only padding (all weights finite)
  bool in_place;  // read x's rows in place (no column reads padding; requires skip)
};

// One P x KB tile of y: output pixels [ow0, ow0 + np) of row (n, oh), channels [k0, k0 + KB).
template <int P, int KB>
[[gnu::always_inline]] inline void fwd_tile(const RowJob& jb, const float* __restrict rows, int64_t irow,
                                            const float* __restrict wb, int64_t n, int64_t oh, int64_t ow0, int64_t k0,
                                            int64_t i0, int64_t i1) {
  const ConvArgs& a = *jb.a;
  float acc[P][KB];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma omp simd
    for (int t = 0; t < KB; ++t) acc[p][t] = jb.bp[k0 + t];  // the bias starts the sum
  const int64_t step = a.SW * a.C;                           // next output pixel, same tap
  // With no dilation along W, a kernel row's taps (j, c) are KW*C consecutive floats of the
  // padded input row and consecutive rows of the packed weights: one flat loop.
  const int64_t run = a.DW == 1 ? a.KW * a.C : a.C, runs = a.DW == 1 ? 1 : a.KW;
  for (int64_t i = i0; i < i1; ++i)  // the kernel rows that read input rows (not padding)
    for (int64_t j = 0; j < runs; ++j) {
      const float* __restrict xs = rows + i * irow + (ow0 * a.SW + j * a.DW) * a.C;
      const float* __restrict wv = wb + (i * a.KW + j) * a.C * KB;
      for (int64_t e = 0; e < run; ++e, wv += KB) {
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const float xv = xs[p * step + e];
#pragma omp simd
          for (int t = 0; t < KB; ++t) acc[p][t] += xv * wv[t];
        }
      }
    }
  // Store the pixels and channels that exist: plain loops for the common epilogues.
  const int nk = static_cast<int>(std::min<int64_t>(KB, a.K - k0));
  for (int p = 0; p < P; ++p) {
    float* out = jb.y + ((n * a.OH + oh) * a.OW + ow0 + p) * a.K + k0;
    if (jb.act == Activation::none) {
      for (int t = 0; t < nk; ++t) out[t] = acc[p][t];
    } else if (jb.act == Activation::relu) {
      for (int t = 0; t < nk; ++t) out[t] = acc[p][t] < 0.0f ? 0.0f : acc[p][t];
    } else {
      for (int t = 0; t < nk; ++t) out[t] = activate(acc[p][t], jb.act);
    }
  }
}

// fwd_tile<np, KB> for a run-time np in [1, kMaxP]: one instantiation per count, so each
// keeps its tile in registers (the last block of a row may be shorter).
template <int KB, int... Ps>
[[gnu::always_inline]] inline void tile_of(int np, std::integer_sequence<int, Ps...>, const RowJob& jb,
                                           const float* rows, int64_t irow, const float* wb, int64_t n, int64_t oh,
                                           int64_t ow0, int64_t k0, int64_t i0, int64_t i1) {
  (void)((np == Ps + 1 ? (fwd_tile<Ps + 1, KB>(jb, rows, irow, wb, n, oh, ow0, k0, i0, i1), true) : false) || ...);
}

template <int KB, int kMaxP>
[[gnu::always_inline]] inline void fwd_row(const RowJob& jb, int64_t n, int64_t oh, float* __restrict rows) {
  const ConvArgs& a = *jb.a;
  // Kernel row i's input: the padded copy, or, when no column reads padding (pad_left 0, the
  // last tap inside the row: "valid" layers), x itself (1 thread: LeNet C3 forward
  // 0.72 -> 0.64 ms, MNIST conv2 6.3 -> 5.7).
  const float* in = rows;
  int64_t irow = jb.wpad * a.C;
  if (jb.in_place) {
    in = jb.x + (n * a.H + oh * a.SH - a.pad_top) * a.W * a.C;  // row 0 may lie outside; never read
    irow = a.DH * a.W * a.C;
  } else {
    fill_padded_rows(a, jb.x, n, oh, rows, jb.wpad);
  }
  const int64_t taps = a.KH * a.KW * a.C;
  // Kernel rows [i0, i1) read rows of the image; the others read zero padding and add nothing
  // (the top and bottom rows of a "same" layer, and most of dx's "full" convolution of a
  // "valid" layer: conv2d_direct.h).
  // Skipped only when every weight is finite: the definition (and im2col) multiplies the
  // padding's zeros by each weight, and 0 * inf or 0 * NaN is NaN (tests/test_nan.py).
  int64_t i0 = 0, i1 = a.KH;
  while (jb.skip && i0 < a.KH && oh * a.SH - a.pad_top + i0 * a.DH < 0) ++i0;
  while (jb.skip && i1 > i0 && oh * a.SH - a.pad_top + (i1 - 1) * a.DH >= a.H) --i1;
  for (int64_t ow0 = 0; ow0 < a.OW; ow0 += jb.p) {
    const int np = static_cast<int>(std::min<int64_t>(jb.p, a.OW - ow0));
    for (int64_t k0 = 0; k0 < a.K; k0 += KB)
      tile_of<KB>(np, std::make_integer_sequence<int, kMaxP>(), jb, in, irow, jb.wp + k0 * taps, n, oh, ow0, k0, i0,
                  i1);
  }
}

using RowFn = void (*)(const RowJob&, int64_t, int64_t, float*);

// The register tile of each path (see the header comment).
struct PathTile {
  RowFn row;
  int kb, max_p;
};

void row_generic(const RowJob& jb, int64_t n, int64_t oh, float* rows) { fwd_row<16, 3>(jb, n, oh, rows); }
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void row_avx2(const RowJob& jb, int64_t n, int64_t oh, float* rows) {
  fwd_row<16, 6>(jb, n, oh, rows);
}
// Aligned to a cache line: this loop nest is the whole of a small convolution (LeNet C1), and
// where the linker happened to place it moved that forward by up to 7% between builds.
SINAPSE_TARGET_AVX512 __attribute__((aligned(64))) void row_avx512(const RowJob& jb, int64_t n, int64_t oh,
                                                                   float* rows) {
  fwd_row<16, 14>(jb, n, oh, rows);
}
SINAPSE_TARGET_AVX512 __attribute__((aligned(64))) void row_avx512_w64(const RowJob& jb, int64_t n, int64_t oh,
                                                                       float* rows) {
  fwd_row<64, 7>(jb, n, oh, rows);
}
SINAPSE_TARGET_AVX512 __attribute__((aligned(64))) void row_avx512_wide(const RowJob& jb, int64_t n, int64_t oh,
                                                                        float* rows) {
  fwd_row<32, 14>(jb, n, oh, rows);
}
#endif

PathTile path_tile(SimdPath path, int64_t K) {
  note_simd_path(path);
#if SINAPSE_X86
  if (path == SimdPath::avx512 && K % 64 == 0) return PathTile{row_avx512_w64, 64, 7};
  if (path == SimdPath::avx512) return K > 16 ? PathTile{row_avx512_wide, 32, 14} : PathTile{row_avx512, 16, 14};
  if (path == SimdPath::avx2) return {row_avx2, 16, 6};
#endif
  return {row_generic, 16, 3};
}

// Pixels per block: the fewest blocks of at most max_p, made equal (13 -> 7 + 6 for max 12).
int pixels_per_block(int64_t OW, int max_p) {
  const int64_t blocks = std::max<int64_t>((OW + max_p - 1) / max_p, 1);
  return static_cast<int>((OW + blocks - 1) / blocks);
}

bool forward_fits(const ConvArgs& a) {
  return direct_scratch_within(a, static_cast<double>(a.KH) * padded_row_width(a, 14) * a.C * 8 +
                                      static_cast<double>(a.KH * a.KW * a.C + 1) * (a.K + 31));
}

// dx of a stride-1 layer as a forward convolution of dy: dx[n, h, w, c] = sum over (i, j, k) of
// dy[n, h + pt - i*DH, w + pl - j*DW, k] * w[i, j, c, k], i.e. the kernel rotated by 180
// degrees (i' = KH-1-i), C and K swapped, padding (KH-1)*DH - pt before: the "full" convolution.
bool data_as_forward_args(const ConvArgs& a, ConvArgs* t) {
  if (a.SH != 1 || a.SW != 1) return false;
  const int64_t pt = (a.KH - 1) * a.DH - a.pad_top, pl = (a.KW - 1) * a.DW - a.pad_left;
  if (pt < 0 || pl < 0) return false;  // padding wider than the kernel: no input reads those rows
  *t = ConvArgs{a.N, a.OH, a.OW, a.K, a.KH, a.KW, a.C, 1, 1, a.DH, a.DW, pt, pl, a.H, a.W};
  return true;
}

// The forward over `a` with weights w (HWIO) or, rotated, the dx of the layer whose
// weights are w (taps of the transposed filter: w[KH-1-i, KW-1-j, k, c] of that layer).
void run_forward(const ConvArgs& a, const float* x, const float* w, bool rotated, const float* bias, Activation act,
                 float* y, SimdPath path, int max_threads) {
  const PathTile pt = path_tile(path, a.K);
  const int64_t kb = pt.kb, kblocks = (a.K + kb - 1) / kb, taps = a.KH * a.KW * a.C;
  thread_local AlignedBuffer wbuf;
  float* wp = wbuf.floats(static_cast<size_t>((taps + 1) * kblocks * kb));
  // Pack: wp[b][t][l] = weight of tap t (i, j, c) for output channel b*KB + l (0 past K).
  // Rotated: the layer's weights are w[i, j, k, c] with (KH, KW, a.K = its C, a.C = its K).
  for (int64_t b = 0; b < kblocks; ++b)
    for (int64_t t = 0; t < taps; ++t) {
      float* dst = wp + (b * taps + t) * kb;
      const int64_t ij = t / a.C, c = t % a.C;
      for (int64_t l = 0; l < kb; ++l) {
        const int64_t k = b * kb + l;
        float v = 0.0f;
        if (k < a.K) v = rotated ? w[((a.KH * a.KW - 1 - ij) * a.K + k) * a.C + c] : w[t * a.K + k];
        dst[l] = v;
      }
    }
  float* bp = wp + kblocks * taps * kb;
  for (int64_t k = 0; k < kblocks * kb; ++k) bp[k] = bias && k < a.K ? bias[k] : 0.0f;
  const int nthreads = threads_for(2.0 * a.N * a.OH * a.OW * a.K * taps, grain::kFlops, max_threads);
  const int p = pixels_per_block(a.OW, pt.max_p);
  const bool skip = std::all_of(w, w + taps * a.K, [](float v) { return std::isfinite(v); });
  const bool in_place = skip && a.pad_left == 0 && (a.OW - 1) * a.SW + (a.KW - 1) * a.DW < a.W;
  const RowJob jb{&a, x, wp, bp, act, y, padded_row_width(a, p), p, skip, in_place};
  // Each OpenMP thread's padded input rows, allocated here on the calling thread (grow-only):
  // a failed allocation throws here, where pybind11 turns it into MemoryError, never inside
  // the parallel region. Slices rounded to 16 floats keep every thread's rows 64-byte aligned.
  const int64_t per_thread = (a.KH * jb.wpad * a.C + 15) / 16 * 16;
  thread_local AlignedBuffer rows_buf;
  float* rows_all = rows_buf.floats(static_cast<size_t>(nthreads * per_thread));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    float* rows = rows_all + team_index() * per_thread;
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < a.N; ++n)
      for (int64_t oh = 0; oh < a.OH; ++oh) pt.row(jb, n, oh, rows);
  }
}

// dW of one or two input channels: the small-dW kernel (conv2d_direct_filter.cpp, vectorised
// over K with KH*KW*C accumulator rows). With more, the blocked kernel's C x K register tile
// wins (1 thread, CPU time: LeNet C1 (C = 1) small 2.2 ms, blocked 3.45; LeNet C3 (C = 6)
// small 1.79, blocked 0.62).
bool filter_few(const ConvArgs& a) { return a.C <= 2 && direct_detail::filter_few_fits(a); }

}  // namespace

bool conv2d_direct_applies(const ConvArgs& a, ConvPass pass) {
  if (pass == ConvPass::forward) return forward_fits(a);
  if (pass == ConvPass::filter) {
    if (filter_few(a)) return forward_fits(a);  // the small-dW kernel's rows
    // The blocked kernel from 4 input channels: with CB = 3 its 3 broadcasts and KB/16 loads
    // feed only 3*KB/16 FMAs (AlexNet conv1, C = 3: 38.5 ms against im2col's 32.5), ...
    // and while the per-thread dW part stays within a few MB of cache: 7x7x512 -> 512 (9.4 MB)
    // took 43.8 ms against im2col's 41.2, AlexNet conv3 (3.5 MB) 97.3 against 107.7.
    const double part_bytes = 4.0 * a.KH * a.KW * a.C * (a.K + 31);
    return a.C >= 4 && part_bytes <= (6 << 20) && direct_detail::filter_blocked_fits(a);
  }
  if (a.C <= kDirectMaxChannels) {  // a padded image per thread (conv2d_direct_data.cpp)
    const double hp = std::max<double>((a.OH - 1) * a.SH + (a.KH - 1) * a.DH + 1, a.pad_top + a.H);
    return direct_scratch_within(a, hp * padded_row_width(a, 8) * a.C * 8);
  }
  ConvArgs t{};
  return data_as_forward_args(a, &t) && forward_fits(t);
}

void conv2d_forward_direct(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                           float* y, SimdPath path, int max_threads) {
  run_forward(a, x, w, false, bias, act, y, path, max_threads);
}

void conv2d_backward_data_direct(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                 int max_threads) {
  // Non-finite weights: the scatter kernel, which (as the definition) multiplies them by the
  // real dy only; the "full" convolution would also multiply them by its padding's zeros.
  ConvArgs t{};
  const bool finite = std::all_of(w, w + a.KH * a.KW * a.C * a.K, [](float v) { return std::isfinite(v); });
  if (a.C <= kDirectMaxChannels || !finite || !data_as_forward_args(a, &t))
    return direct_detail::backward_data_few(a, w, dy, dx, path, max_threads);
  run_forward(t, dy, w, true, nullptr, Activation::none, dx, path, max_threads);
}

void conv2d_backward_filter_direct(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                   int max_threads) {
  if (filter_few(a)) return direct_detail::backward_filter_few(a, x, dy, dw, path, max_threads);
  direct_detail::backward_filter_blocked(a, x, dy, dw, path, max_threads);
}

}  // namespace sinapse::cpu
