// Batch normalization over the channel (last) axis on the GPU. CPU twin: cpu/batch_norm.h
// (same formulas and contract; all pointers are device pointers).
#pragma once

#include <cstdint>

#include "../common/kernel_variant.h"
#include "check.h"

namespace sinapse::cuda {

// `variant` (train, infer, backward): tuned (statistics per channel, then one thread per
// element) or naive (one thread per channel does all of its column, statistics and output).
void batch_norm_train(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                      float* save_mean, float* save_invstd, KernelVariant variant, cudaStream_t stream);
void batch_norm_apply(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* mean, const float* invstd, float* y, cudaStream_t stream);
void batch_norm_infer(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float epsilon, float* y, float* save_invstd,
                      KernelVariant variant, cudaStream_t stream);
// dgamma/dbeta are written by one thread per channel; dx element-wise.
void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                         const float* mean, const float* invstd, bool training, float* dx, float* dgamma, float* dbeta,
                         KernelVariant variant, cudaStream_t stream);

}  // namespace sinapse::cuda
