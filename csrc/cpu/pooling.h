// Max and average pooling over NHWC images, forward and backward, on the CPU.
// CUDA twin: cuda/pooling.h. Geometry: common/pool_args.h.
//
// Max: the maximum over the window's real pixels (padding never wins). Ties go to the first
// pixel in row-major window order, on both backends. Backward: each input pixel receives the
// sum, over the windows whose maximum it is, of their dy — gathered per input pixel in
// increasing (oh, ow) order, so CPU and CUDA add in the same order with no atomics.
// Average: the mean of the window's real pixels (with "same" padding the divisor counts
// only pixels inside the image, as Keras). Backward: dy / count spread over the window.
#pragma once

#include "../common/kernel_variant.h"
#include "../common/cpu_features.h"
#include "../common/pool_args.h"

namespace sinapse::cpu {

// `variant`: tuned (these files), or naive (pooling_naive.cpp: the definition as loops, one thread).
void max_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, SimdPath path,
                        int max_threads);
void max_pool2d_backward(const PoolArgs& p, const float* x, const float* dy, float* dx, KernelVariant variant,
                         SimdPath path, int max_threads);
void avg_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, SimdPath path,
                        int max_threads);
void avg_pool2d_backward(const PoolArgs& p, const float* dy, float* dx, KernelVariant variant, SimdPath path,
                         int max_threads);
// Average pooling vectorised over pixels, for few channels (pooling_small_c.cpp); the tuned
// kernels call these below 16 channels.
void avg_pool2d_forward_small_c(const PoolArgs& p, const float* x, float* y, SimdPath path, int max_threads);
void avg_pool2d_backward_small_c(const PoolArgs& p, const float* dy, float* dx, SimdPath path, int max_threads);
void max_pool2d_forward_naive(const PoolArgs& p, const float* x, float* y);
void max_pool2d_backward_naive(const PoolArgs& p, const float* x, const float* dy, float* dx);
void avg_pool2d_forward_naive(const PoolArgs& p, const float* x, float* y);
void avg_pool2d_backward_naive(const PoolArgs& p, const float* dy, float* dx);

}  // namespace sinapse::cpu
