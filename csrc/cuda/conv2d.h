// conv2d on the GPU: the contract of cpu/conv2d.h (NHWC, HWIO, device pointers).
// Two variants (registry.py): naive = the direct, one-thread-per-output kernels, the
// correct, readable baseline; tuned = a pointwise convolution (1x1, stride 1, no padding)
// as one call of our tuned GEMM (x is already the cols matrix), anything else the direct
// kernels (the implicit-GEMM kernel that makes the rest fast comes with the GPU measurements).
#pragma once

#include <string>

#include "../common/conv_args.h"
#include "../common/gemm_args.h"
#include "../common/kernel_variant.h"
#include "check.h"

namespace sinapse::cuda {

void conv2d_forward(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    KernelVariant variant, cudaStream_t stream);
// Any of dx, dw, db may be null. Gathers (no atomics): deterministic.
void conv2d_backward(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, KernelVariant variant, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// A deliberately broken forward for the tests: "forward_nopad" ignores the left padding.
void conv2d_mutant(const ConvArgs& a, const float* x, const float* w, float* y, const std::string& which);
#endif

}  // namespace sinapse::cuda
