// Max and average pooling over NHWC images on the GPU. CPU twin: cpu/pooling.h (same
// window rules, tie-breaking and summation order, so both give the same bits).
#pragma once

#include "../common/kernel_variant.h"
#include "../common/pool_args.h"
#include "check.h"

namespace sinapse::cuda {

// `variant`: tuned, or naive (the backward scans every window of the image instead of only
// those covering the pixel; same bits).
void max_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, cudaStream_t stream);
void max_pool2d_backward(const PoolArgs& p, const float* x, const float* dy, float* dx, KernelVariant variant,
                         cudaStream_t stream);
void avg_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, cudaStream_t stream);
void avg_pool2d_backward(const PoolArgs& p, const float* dy, float* dx, KernelVariant variant, cudaStream_t stream);

}  // namespace sinapse::cuda
