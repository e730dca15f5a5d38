// conv2d on the CPU: y[n, oh, ow, k] = sum_{i, j, c} x[n, oh*SH - pt + i*DH, ow*SW - pl + j*DW, c] * w[i, j, c, k]
// (+ bias[k], then an activation). CUDA twin: cuda/conv2d.h. Geometry: common/conv_args.h.
//
// Three algorithms, each a variant (common/kernel_variant.h: ConvVariant), and "tuned", which
// picks one per layer shape and pass (forward, input gradient dx, filter gradient dw) with the
// cost model of conv2d_select.cpp:
//   im2col    for a tile of images, each output pixel's receptive field is copied into one row
//             of a (pixels x KH*KW*C) matrix, and y_rows = cols @ w_matrix (w is already that
//             KH*KW*C x K matrix in HWIO), written straight into y (NHWC rows). Tiles over the
//             batch keep the workspace bounded (kConvWorkspaceBytes). A 1x1 stride-1 unpadded
//             convolution is a plain GEMM on x itself: no copy at all. The backward reuses the
//             same machinery: dW = cols^T @ dy, dcols = dy @ w^T scattered back by col2im.
//   direct    register-blocked kernels reading the (padded) input rows, no im2col buffer
//             (conv2d_direct*.cpp); where conv2d_direct_applies() (conv2d_direct.h).
//   winograd  F(4x4, 3x3) (conv2d_winograd*.cpp) for the forward and dx, F(3x3, 4x4) for dw, of
//             3x3 stride-1 dilation-1 layers.
#pragma once

#include <string>

#include "../common/conv_args.h"
#include "../common/cpu_features.h"
#include "../common/gemm_args.h"
#include "../common/kernel_variant.h"

namespace sinapse::cpu {

// 4 MB: a tile of the cols matrix then stays in the caches (2 MB L2 per core, shared L3)
// between im2col writing it and the GEMM packing it. 32 MB tiles (the first version) went
// through DRAM: MNIST conv2 forward 4.4 -> 3.3 ms and dW 6.0 -> 3.9 ms, Fashion conv2 forward
// 22 -> 18 ms, dW 27.7 -> 19.4 ms when the tile shrank to 4 MB (1 thread, CPU time).
constexpr int64_t kConvWorkspaceBytes = 4 << 20;
// Inputs with at most this many channels can take the direct kernels (conv2d_direct.cpp).
constexpr int64_t kDirectMaxChannels = 8;

// The passes the selection chooses an algorithm for (and conv2d_direct.h's predicate takes).
enum class ConvPass { forward, data, filter };

// A 1x1, stride-1, unpadded layer: x is already the cols matrix, so every pass is one GEMM.
bool conv2d_is_pointwise(const ConvArgs& a);

// Whether Winograd can run layer `a` (the direct kernels: conv2d_direct_applies, conv2d_direct.h);
// conv2d_variant_refusal: "" when `variant` applies, else why not (the ValueError's reason).
bool winograd_applies(const ConvArgs& a);
std::string conv2d_variant_refusal(const ConvArgs& a, ConvVariant variant);
// The cost model (conv2d_select.cpp): the modelled time of `variant` (im2col, direct or winograd)
// for one pass, in units of one GEMM flop at full speed; infinity where it does not apply.
double conv2d_cost(const ConvArgs& a, ConvPass pass, ConvVariant variant);
// What variant "tuned" runs for that pass: the cheapest by conv2d_cost (a 1x1 stride-1
// unpadded layer: im2col, which is then one GEMM with no copy).
ConvVariant conv2d_select(const ConvArgs& a, ConvPass pass);

void conv2d_forward(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    ConvVariant variant, SimdPath path, int max_threads);
// The naive variant (conv2d_naive.cpp): the definition as loops, one thread.
void conv2d_forward_naive(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                          float* y);
void conv2d_backward_naive(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                           float* db);
// The direct kernels: conv2d_direct.h.
// Winograd (conv2d_winograd.cpp): F(4x4, 3x3) for y and dx, F(3x3, 4x4) for dw; needs winograd_applies(a).
void conv2d_forward_winograd(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                             float* y, SimdPath path, int max_threads);
void conv2d_backward_data_winograd(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                   int max_threads);
void conv2d_backward_filter_winograd(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                     int max_threads);
// Any of dx, dw, db may be null (not wanted). Throws std::invalid_argument when `variant` is
// direct or winograd and the layer is outside its domain (conv2d_variant_refusal).
void conv2d_backward(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, ConvVariant variant, SimdPath path, int max_threads);

}  // namespace sinapse::cpu
