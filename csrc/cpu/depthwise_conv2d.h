// Depthwise and grouped 2-D convolution over NHWC images, forward and backward, on the CPU.
// CUDA twin: cuda/depthwise_conv2d.h. Geometry: common/depthwise_conv2d_args.h.
//
// Direct kernels (no im2col: a depthwise layer does KH * KW multiply-adds per output value,
// too little arithmetic per byte for a GEMM to pay for the copy). `tuned` vectorises over
// channels (contiguous in NHWC) and threads over output rows; `naive` is the definition as
// loops on one thread. dW and db are reduced deterministically: the rows are cut into a
// number of chunks that depends on the shape only, each chunk sums its rows in order into
// its own partial, and the partials are added in chunk order (no atomics; the same bits for
// any thread count).
#pragma once

#include <cstring>

#include "../common/cpu_features.h"
#include "../common/depthwise_conv2d_args.h"
#include "../common/kernel_variant.h"

namespace sinapse::cpu {

// 16 floats as one value (GCC's vector extension): an accumulator the compiler keeps in
// registers (one zmm on AVX-512, two ymm on AVX2) however the loops around it are shaped; the
// float arrays of the forward stayed on the stack whenever the kernel-row loop was not unrolled (perf:
// every tap a store and a reload). Loads and stores through memcpy: no alignment assumed.
typedef float Vec16 __attribute__((vector_size(64)));
// Vec16 values cross no call boundary (every helper is always inlined), so GCC's note that
// passing them changes the ABI without AVX-512 (-Wpsabi) does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

[[gnu::always_inline]] inline Vec16 load16(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store16(float* p, Vec16 v) { std::memcpy(p, &v, sizeof v); }
#pragma GCC diagnostic pop

// y (N, OH, OW, K) = conv(x, w) + bias (bias may be null).
void depthwise_conv2d_forward(const DepthwiseArgs& a, const float* x, const float* w, const float* bias, float* y,
                              KernelVariant variant, SimdPath path, int max_threads);
// Any of dx (N, H, W, C), dw (KH, KW, CG, K), db (K) may be null (not computed).
void depthwise_conv2d_backward(const DepthwiseArgs& a, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db, KernelVariant variant, SimdPath path, int max_threads);

// The naive variant (depthwise_conv2d_naive.cpp).
void depthwise_conv2d_forward_naive(const DepthwiseArgs& a, const float* x, const float* w, const float* bias,
                                    float* y);
void depthwise_conv2d_backward_naive(const DepthwiseArgs& a, const float* x, const float* w, const float* dy, float* dx,
                                     float* dw, float* db);
// The tuned forward without the padding terms (dx of a unit-stride layer runs it on dy, where
// the "padding" is outputs that do not exist and adds nothing).
void depthwise_conv2d_forward_tuned(const DepthwiseArgs& a, const float* x, const float* w, const float* bias, float* y,
                                    SimdPath path, int max_threads);
// Padding as a multiplied zero (depthwise_conv2d_padding.cpp): the kernels skip padding taps;
// these add their 0 * w to y and 0 * dy to dW, which matters only for a non-finite w or dy.
bool all_finite(const float* p, int64_t n);
bool windows_meet_image(const ConvArgs& a);
void depthwise_padding_forward(const DepthwiseArgs& a, const float* w, float* y);
void depthwise_padding_dw(const DepthwiseArgs& a, const float* dy, float* dw);
// The tuned backward (depthwise_conv2d_backward.cpp).
void depthwise_conv2d_dx(const DepthwiseArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                         int max_threads);
void depthwise_conv2d_dw(const DepthwiseArgs& a, const float* x, const float* dy, float* dw, float* db, SimdPath path,
                         int max_threads);

// The output columns [lo, hi) whose tap at offset `tap` (kw * DW) lands inside the input row
// of `size` pixels: lo = ceil((pad - tap) / stride) clamped at 0, hi likewise from the end.
inline void valid_outputs(int64_t pad, int64_t tap, int64_t stride, int64_t size, int64_t out, int64_t& lo,
                          int64_t& hi) {
  const int64_t first = pad - tap;            // ow * stride >= first
  const int64_t last = size - 1 + pad - tap;  // ow * stride <= last
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  hi = last < 0 ? 0 : last / stride + 1;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
}

// Output columns [lo, hi) all of whose kw taps are inside the input row.
inline void interior_columns(const ConvArgs& a, int64_t& lo, int64_t& hi) {
  valid_outputs(a.pad_left, 0, a.SW, a.W, a.OW, lo, hi);
  for (int64_t kw = 1; kw < a.KW; ++kw) {
    int64_t l, h;
    valid_outputs(a.pad_left, kw * a.DW, a.SW, a.W, a.OW, l, h);
    lo = lo > l ? lo : l;
    hi = hi < h ? hi : h;
  }
  if (lo > hi) lo = hi;
}

}  // namespace sinapse::cpu
