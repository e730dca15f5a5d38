// Element-wise activations, forward and backward, on the GPU. CPU twin: cpu/activation.h.
#pragma once

#include <cstdint>

#include "../common/activations.h"
#include "../common/prelu_args.h"
#include "check.h"

namespace sinapse::cuda {

void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, cudaStream_t stream);
void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         cudaStream_t stream);
// PReLU (CPU twin: cpu/activation.h); dalpha summed in double in the CPU kernel's order.
void prelu_forward(const PreluArgs& p, const float* x, const float* alpha, float* y, cudaStream_t stream);
void prelu_backward(const PreluArgs& p, const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                    cudaStream_t stream);

}  // namespace sinapse::cuda
