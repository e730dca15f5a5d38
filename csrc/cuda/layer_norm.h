// Layer / group normalization on the GPU. CPU twin: cpu/layer_norm.h (same geometry,
// formulas and contract: common/layer_norm_row.h).
#pragma once

#include <cstdint>
#include <string>

#include "../common/kernel_variant.h"
#include "../common/layer_norm_row.h"
#include "check.h"

namespace sinapse::cuda {

// `variant`: tuned (a warp per row up to 1024 floats, else a block of 128; shuffle
// reductions; statistics and y in one kernel) or naive (one thread per row, sums in double).
void layer_norm_forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* inv_std, KernelVariant variant, cudaStream_t stream);
// dgamma / dbeta by one thread per channel (deterministic), then dx (one kernel).
void layer_norm_backward(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dx, float* dgamma, float* dbeta, KernelVariant variant,
                         cudaStream_t stream);

#if defined(SINAPSE_SIM)
// Deliberately broken tuned forward kernels ("no_sync": a missing barrier before the shared
// slots are reused; "short_row": the statistics skip the row's last element): the tests must
// catch them.
void layer_norm_forward_mutant(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                               float* mean, float* inv_std, const std::string& which);
#endif

}  // namespace sinapse::cuda
