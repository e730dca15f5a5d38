// conv2d on the CPU: y[n, oh, ow, k] = sum_{i, j, c} x[n, oh*SH - pt + i*DH, ow*SW - pl + j*DW, c] * w[i, j, c, k]
// (+ bias[k], then an activation). CUDA twin: cuda/conv2d.h. Geometry: common/conv_args.h.
//
// The algorithm is im2col + the tuned GEMM: for a tile of images, each output pixel's
// receptive field is copied into one row of a (pixels x KH*KW*C) matrix, and
// y_rows = cols @ w_matrix (w is already that KH*KW*C x K matrix in HWIO), written straight
// into y (NHWC rows). Tiles over the batch keep the workspace bounded (kConvWorkspaceBytes),
// so AlexNet-size layers never allocate gigabytes. A 1x1 stride-1 unpadded convolution is
// a plain GEMM on x itself: no copy at all. The backward reuses the same machinery:
// dW = cols^T @ dy, dcols = dy @ w^T scattered back by col2im (per image: deterministic).
// Inputs with few channels (the first layer of image models) take a direct kernel instead
// of im2col in the forward (conv2d_direct.cpp).
#pragma once

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
// Inputs with at most this many channels take the direct kernel (conv2d_direct.cpp).
constexpr int64_t kDirectMaxChannels = 8;

// The variants, simplest first (registry.py: "naive", "tuned"); tuned is the default.
using ConvVariant = KernelVariant;

void conv2d_forward(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    ConvVariant variant, SimdPath path, int max_threads);
// The naive variant (conv2d_naive.cpp): the definition as loops, one thread.
void conv2d_forward_naive(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                          float* y);
void conv2d_backward_naive(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                           float* db);
// The direct kernel for few input channels (used by conv2d_forward when C <= kDirectMaxChannels).
void conv2d_forward_direct(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                           float* y, SimdPath path, int max_threads);
// The direct filter gradient for few input channels (conv2d_direct_filter.cpp), used by
// conv2d_backward when conv2d_filter_direct_applies(): C <= kDirectMaxChannels and a
// K-padded dW of at most kFilterDirectMaxBytes (it is accumulated per thread, in cache).
constexpr int64_t kFilterDirectMaxBytes = 48 << 10;
bool conv2d_filter_direct_applies(const ConvArgs& a);
void conv2d_backward_filter_direct(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                   int max_threads);
// The direct input gradient for few input channels (conv2d_direct_data.cpp), used by
// conv2d_backward when C <= kDirectMaxChannels.
void conv2d_backward_data_direct(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                 int max_threads);
// Any of dx, dw, db may be null (not wanted).
void conv2d_backward(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, ConvVariant variant, SimdPath path, int max_threads);

}  // namespace sinapse::cpu
