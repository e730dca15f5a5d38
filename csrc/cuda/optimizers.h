// Fused optimizer updates and gradient-clipping pieces on the GPU. CPU twin: cpu/optimizers.h
// (same rules, from common/optimizers.h; all pointers are device pointers).
#pragma once

#include <cstdint>

#include "../common/optimizers.h"
#include "check.h"

namespace sinapse::cuda {

// One step over n elements: param and the state slots s0..s2 in place (slot meanings in
// cpu/optimizers.h; nullptr where unused). One kernel per optimizer, one thread per element.
void optimizer_update(const OptimizerArgs& args, int64_t n, float* param, const float* grad, float* s0, float* s1,
                      float* s2, cudaStream_t stream);

// out[0] = sum(x^2) in double: up to `max_partials` blocks each reduce a grid-stride share
// into partial[b] by a fixed tree, then one block adds the partials by a fixed tree. The
// same input gives the same bits on every run. partial holds max_partials doubles.
void sum_squares(int64_t n, const float* x, double* partial, int max_partials, double* out, cudaStream_t stream);

// y = clip(x * scale, -clipvalue, clipvalue) (no clipping when clipvalue <= 0); y may be x.
void scale_clip(int64_t n, const float* x, float* y, float scale, float clipvalue, cudaStream_t stream);

}  // namespace sinapse::cuda
