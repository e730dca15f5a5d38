// Element-wise activations, forward and backward, on the GPU. CPU twin: cpu/activation.h.
#pragma once

#include <cstdint>

#include "../common/activations.h"
#include "check.h"

namespace sinapse::cuda {

void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, cudaStream_t stream);
void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         cudaStream_t stream);

}  // namespace sinapse::cuda
