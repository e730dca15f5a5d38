// The direct (im2col-free) conv2d kernels on the CPU, for every channel count, and the one
// predicate per pass saying where they apply. conv2d.cpp's dispatch (and its "direct"
// variant) calls them; which of im2col + GEMM, direct or Winograd is fastest for a shape is the
// dispatcher's choice (docs/kernels/conv2d.md, "Direct kernels", has the measurements).
//
//   forward   conv2d_direct.cpp: per output row, a P-pixel x KB-channel tile of y in registers
//             (P chosen per layer so the row splits evenly), taps streamed from padded input rows.
//   data (dx) C <= kDirectMaxChannels: conv2d_direct_data.cpp (taps vectorised, any stride).
//             Otherwise, stride 1: the forward kernel run on dy with the rotated, transposed
//             filter (a "full" convolution), so no scatter at all.
//   filter    C <= 2 with a small dW: conv2d_direct_filter.cpp. C >= 4 with a per-thread dW
//             part <= 6 MB: conv2d_direct_filter_blocked.cpp, a CB-input-channel x
//             KB-output-channel tile of dW in registers while a group of images' pixels stream
//             through; per-thread dW parts added in thread order (deterministic for a thread
//             count). Otherwise (C = 3, larger dW) im2col + GEMM was faster.
#pragma once

#include "conv2d.h"

namespace sinapse::cpu {

// ConvPass (forward, data, filter): conv2d.h, shared with the dispatcher's selection.

// Whether the direct kernel of `pass` handles this geometry: the strides, dilations and
// paddings it supports, scratch (padded rows or images, per-thread dW parts) bounded by a few
// times the data, and for dW the two measured limits above. False: the caller takes im2col +
// GEMM. Where direct is faster than im2col: docs/kernels/conv2d.md, "Direct kernels".
bool conv2d_direct_applies(const ConvArgs& a, ConvPass pass);

// Each requires conv2d_direct_applies(a, its pass). Threads: at most max_threads.
void conv2d_forward_direct(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                           float* y, SimdPath path, int max_threads);
void conv2d_backward_data_direct(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                 int max_threads);
void conv2d_backward_filter_direct(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                   int max_threads);

// The pieces behind them (internal to the conv2d_direct*.cpp files).
namespace direct_detail {
// dx for C <= kDirectMaxChannels, any stride (conv2d_direct_data.cpp).
void backward_data_few(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path, int max_threads);
// dW for C <= kDirectMaxChannels and a small dW (conv2d_direct_filter.cpp): its limit is a
// K-padded dW of at most kFilterDirectMaxBytes (it is accumulated per thread, in cache).
constexpr int64_t kFilterDirectMaxBytes = 48 << 10;
bool filter_few_fits(const ConvArgs& a);
void backward_filter_few(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path, int max_threads);
// dW for any C (conv2d_direct_filter_blocked.cpp) and its scratch bound.
bool filter_blocked_fits(const ConvArgs& a);
void backward_filter_blocked(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                             int max_threads);
}  // namespace direct_detail

}  // namespace sinapse::cpu
