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

#include "../common/cpu_features.h"
#include "../common/depthwise_conv2d_args.h"
#include "../common/kernel_variant.h"

namespace sinapse::cpu {

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
