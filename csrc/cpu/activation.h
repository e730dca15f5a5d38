// Element-wise activations, forward and backward, on the CPU. CUDA twin: cuda/activation.h.
// The formulas live in common/activations.h, shared with the CUDA kernels.
#pragma once

#include <cstdint>

#include "../common/activations.h"
#include "../common/cpu_features.h"

namespace sinapse::cpu {

// y[i] = f(x[i]).
void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, SimdPath path, int max_threads);
// dx[i] = dy[i] * f'(x[i]).
void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         SimdPath path, int max_threads);

}  // namespace sinapse::cpu
