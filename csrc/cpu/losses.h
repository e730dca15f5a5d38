// Losses on the CPU: per-row losses (common/losses.h) in parallel, then their sum in row
// order in double (deterministic). CUDA twin: cuda/losses.h.
#pragma once

#include "../common/cpu_features.h"
#include "../common/losses.h"

namespace sinapse::cpu {

// Fills a.per_row (and a.grad when not null); returns the sum of a.per_row.
double loss(const LossArgs& a, SimdPath path, int max_threads);

}  // namespace sinapse::cpu
