// Batch normalization over the channel (last) axis of NHWC tensors, on the CPU.
// CUDA twin: cuda/batch_norm.h. x is viewed as rows (N*H*W) x channels.
//
//   training:  mean, var = batch statistics per channel (biased variance, as Keras);
//              running = momentum * running + (1 - momentum) * batch   (Keras's update)
//   inference: mean, var = the running statistics
//   y = gamma * (x - mean) * invstd + beta,   invstd = 1 / sqrt(var + epsilon)
#pragma once

#include <cstdint>

#include "../common/kernel_variant.h"
#include "../common/cpu_features.h"

namespace sinapse::cpu {

// `variant` (train, infer, backward): tuned (batch_norm.cpp) or naive (batch_norm_naive.cpp:
// the definition as loops, one channel at a time, one thread).
//
// Training forward: writes y, the batch mean and invstd (saved for the backward), and
// updates running_mean / running_var in place.
void batch_norm_train(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                      float* save_mean, float* save_invstd, KernelVariant variant, SimdPath path, int max_threads);

// y = gamma * (x - mean) * invstd + beta for given per-channel mean and invstd (inference
// uses the running statistics).
void batch_norm_apply(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* mean, const float* invstd, float* y, SimdPath path, int max_threads);

// Inference forward: invstd = 1 / sqrt(running_var + epsilon) (written to save_invstd for a
// backward), then batch_norm_apply with the running mean.
void batch_norm_infer(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float epsilon, float* y, float* save_invstd,
                      KernelVariant variant, SimdPath path, int max_threads);

// Backward. training: the statistics depended on x, so
//   dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat));
// otherwise dx = gamma * invstd * dy. Both: dgamma = sum(dy * xhat), dbeta = sum(dy).
void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                         const float* mean, const float* invstd, bool training, float* dx, float* dgamma, float* dbeta,
                         KernelVariant variant, SimdPath path, int max_threads);

void batch_norm_train_naive(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                            float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                            float* save_mean, float* save_invstd);
void batch_norm_infer_naive(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float epsilon, float* y,
                            float* save_invstd);
void batch_norm_backward_naive(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* invstd, bool training, float* dx, float* dgamma,
                               float* dbeta);

}  // namespace sinapse::cpu
