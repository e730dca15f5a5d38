// Bias add and bias gradient over the channel (last) axis, on the CPU. CUDA twin: cuda/bias.h.
// x is viewed as `rows` x `channels` (NHWC images, (N, T, D) sequences, (N, D) batches).
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

// y[r, c] = x[r, c] + bias[c].
void bias_add(int64_t rows, int64_t channels, const float* x, const float* bias, float* y, SimdPath path,
              int max_threads);
// db[c] = sum_r dy[r, c], accumulated in double, in an order that depends only on the shape
// and the thread count (not on timing): repeated calls give identical bits.
void bias_backward(int64_t rows, int64_t channels, const float* dy, float* db, SimdPath path, int max_threads);

}  // namespace sinapse::cpu
