// Inverted dropout on the GPU. CPU twin: cpu/dropout.h (identical masks for one seed/offset).
#pragma once

#include <cstdint>

#include "check.h"

namespace sinapse::cuda {

void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, cudaStream_t stream);

}  // namespace sinapse::cuda
