// Batch norm, one channel's column of the (rows x channels) matrix at a time: the statistics
// (two passes in double, no E[x^2] - E[x]^2 cancellation) with Keras's running update, and the
// backward's two sums. Written once for the CPU's naive kernel (cpu/batch_norm_naive.cpp) and
// the CUDA kernels (cuda/batch_norm.cu), which both give one channel to one loop (or thread).
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"

namespace sinapse {

// save_mean[c], save_invstd[c] = the batch statistics; running_* updated in place.
SINAPSE_HD void batch_norm_column_stats(int64_t rows, int64_t channels, int64_t c, const float* x, float* running_mean,
                                        float* running_var, float momentum, float epsilon, float* save_mean,
                                        float* save_invstd) {
  double sum = 0.0;
  for (int64_t r = 0; r < rows; ++r) sum += x[r * channels + c];
  const double mean = rows ? sum / rows : 0.0;
  double sq = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const double d = x[r * channels + c] - mean;
    sq += d * d;
  }
  const double var = rows ? sq / rows : 0.0;
  save_mean[c] = static_cast<float>(mean);
  save_invstd[c] = static_cast<float>(1.0 / sqrt(var + epsilon));
  running_mean[c] = momentum * running_mean[c] + (1.0f - momentum) * static_cast<float>(mean);
  running_var[c] = momentum * running_var[c] + (1.0f - momentum) * static_cast<float>(var);
}

// dbeta[c] = sum(dy[:, c]), dgamma[c] = sum(dy * xhat)[:, c], in double.
SINAPSE_HD void batch_norm_column_grad_sums(int64_t rows, int64_t channels, int64_t c, const float* x, const float* dy,
                                            const float* mean, const float* invstd, float* dgamma, float* dbeta) {
  double s = 0.0, sx = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r * channels + c;
    s += dy[i];
    sx += static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - mean[c]) * invstd[c];
  }
  dbeta[c] = static_cast<float>(s);
  dgamma[c] = static_cast<float>(sx);
}

// y[:, c] = (x[:, c] - mean) * (gamma * invstd) + beta: the tuned kernels' rounding (not folded
// into x * scale + shift, where an infinite scale would give inf - inf).
SINAPSE_HD void batch_norm_column_apply(int64_t rows, int64_t channels, int64_t c, const float* x, float gamma,
                                        float beta, float mean, float invstd, float* y) {
  const float scale = gamma * invstd;
  for (int64_t r = 0; r < rows; ++r) y[r * channels + c] = (x[r * channels + c] - mean) * scale + beta;
}

}  // namespace sinapse
