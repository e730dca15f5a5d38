// The "naive" batch norm variant: the definition, written as loops. One channel at a time,
// walking its column of the (rows x channels) matrix — a stride of `channels` floats between
// reads, so every read is a new cache line once the channels fill one — in one thread, no
// SIMD. The tuned kernels (batch_norm.cpp) walk the rows contiguously and reduce all channels
// at once, over threads. Baseline for: SINAPSE_BATCH_NORM=naive python -m bench batch_norm
// Same formulas and contract as batch_norm.h, with the column loops CUDA uses too
// (common/batch_norm_column.h); y may be x and dx may be dy (a channel's column is read in
// full before it is written).
#include <cmath>

#include "../common/batch_norm_column.h"
#include "batch_norm.h"

namespace sinapse::cpu {

void batch_norm_train_naive(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                            float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                            float* save_mean, float* save_invstd) {
  for (int64_t c = 0; c < channels; ++c) {
    batch_norm_column_stats(rows, channels, c, x, running_mean, running_var, momentum, epsilon, save_mean, save_invstd);
    batch_norm_column_apply(rows, channels, c, x, gamma[c], beta[c], save_mean[c], save_invstd[c], y);
  }
}

void batch_norm_infer_naive(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float epsilon, float* y,
                            float* save_invstd) {
  for (int64_t c = 0; c < channels; ++c) {
    save_invstd[c] = 1.0f / std::sqrt(running_var[c] + epsilon);
    batch_norm_column_apply(rows, channels, c, x, gamma[c], beta[c], running_mean[c], save_invstd[c], y);
  }
}

void batch_norm_backward_naive(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* invstd, bool training, float* dx, float* dgamma,
                               float* dbeta) {
  for (int64_t c = 0; c < channels; ++c) {
    batch_norm_column_grad_sums(rows, channels, c, x, dy, mean, invstd, dgamma, dbeta);
    const float k = gamma[c] * invstd[c];
    const float a = training ? dbeta[c] / static_cast<float>(rows) : 0.0f;
    const float b = training ? dgamma[c] / static_cast<float>(rows) : 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r * channels + c;
      // Inference: dx = k * dy does not depend on x (xhat * 0 would turn an inf x into NaN).
      dx[i] = training ? k * (dy[i] - a - (x[i] - mean[c]) * invstd[c] * b) : k * dy[i];
    }
  }
}

}  // namespace sinapse::cpu
