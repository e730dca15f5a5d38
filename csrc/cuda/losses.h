// Losses on the GPU: a thread per row (common/losses.h), then a one-block reduction of the
// per-row losses in a fixed order (deterministic, no atomics). CPU twin: cpu/losses.h.
#pragma once

#include "../common/losses.h"
#include "check.h"

namespace sinapse::cuda {

// Fills a.per_row and a.grad (device pointers) and writes the sum of a.per_row to *total
// (a device float).
void loss(const LossArgs& a, float* total, cudaStream_t stream);

}  // namespace sinapse::cuda
