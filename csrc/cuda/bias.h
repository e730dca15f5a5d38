// Bias add and bias gradient over the channel (last) axis on the GPU. CPU twin: cpu/bias.h.
#pragma once

#include <cstdint>

#include "check.h"

namespace sinapse::cuda {

void bias_add(int64_t rows, int64_t channels, const float* x, const float* bias, float* y, cudaStream_t stream);
// Deterministic: each channel's sum is one thread's loop over rows in order (no atomics).
void bias_backward(int64_t rows, int64_t channels, const float* dy, float* db, cudaStream_t stream);

}  // namespace sinapse::cuda
