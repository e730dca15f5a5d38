// Element-wise activations, forward and backward, on the CPU. CUDA twin: cuda/activation.h.
// The formulas live in common/activations.h, shared with the CUDA kernels.
#pragma once

#include <cstdint>

#include "../common/activations.h"
#include "../common/cpu_features.h"
#include "../common/prelu_args.h"

namespace sinapse::cpu {

// y[i] = f(x[i]).
void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, SimdPath path, int max_threads);
// dx[i] = dy[i] * f'(x[i]).
void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         SimdPath path, int max_threads);

// PReLU (activation_prelu.cpp): y = x > 0 ? x : alpha * x, alpha broadcast over x by `p`.
void prelu_forward(const PreluArgs& p, const float* x, const float* alpha, float* y, SimdPath path, int max_threads);
// dx = dy * dy/dx; dalpha[a] = sum over a's elements of dy * min(x, 0), in double, in a fixed order.
void prelu_backward(const PreluArgs& p, const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                    SimdPath path, int max_threads);

}  // namespace sinapse::cpu
