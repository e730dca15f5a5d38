// Inverted dropout on the CPU: y = x * mask, mask = (u >= rate) / (1 - rate), with u the
// Philox uniform of the element (common/philox.h). CUDA twin: cuda/dropout.h — same mask
// bits for the same (seed, offset). The backward is the same product applied to dy.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

// Element i uses the uniform (i % 4) of Philox counter block offset + i / 4.
void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, SimdPath path,
             int max_threads);

}  // namespace sinapse::cpu
