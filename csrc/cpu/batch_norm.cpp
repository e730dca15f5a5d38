#include "batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/threading.h"
#include "column_reduce.h"

namespace sinapse::cpu {

void batch_norm_apply(int64_t rows, int64_t channels, const float* __restrict x, const float* __restrict gamma,
                      const float* __restrict beta, const float* __restrict mean, const float* __restrict invstd,
                      float* __restrict y, SimdPath path, int max_threads) {
  // y = (x - mean) * scale + beta, scale = gamma * invstd per channel. Not folded into
  // x * scale + (beta - mean * scale): with an infinite scale the fold computes inf - inf
  // (NaN) where the formula gives +-inf; the extra subtraction costs nothing here (memory-bound).
  std::vector<float> scale(channels);
  for (int64_t c = 0; c < channels; ++c) scale[c] = gamma[c] * invstd[c];
  const float* sc = scale.data();
  const int nthreads = threads_for(static_cast<double>(rows) * channels, grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * channels;
    float* __restrict yr = y + r * channels;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t c = 0; c < channels; ++c) yr[c] = (xr[c] - mean[c]) * sc[c] + beta[c];
    });
  }
}

void batch_norm_train(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                      float* save_mean, float* save_invstd, KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive)
    return batch_norm_train_naive(rows, channels, x, gamma, beta, running_mean, running_var, momentum, epsilon, y,
                                  save_mean, save_invstd);
  std::vector<double> sum(channels), sq(channels);
  // Two passes (mean, then squared deviations): no catastrophic cancellation of E[x^2] - E[x]^2.
  column_reduce(
      rows, channels, [x, channels](int64_t r, int64_t c) { return double(x[r * channels + c]); }, sum.data(), path,
      max_threads);
  std::vector<double> mean(channels);
  for (int64_t c = 0; c < channels; ++c) mean[c] = rows ? sum[c] / rows : 0.0;
  const double* m = mean.data();
  column_reduce(
      rows, channels,
      [x, m, channels](int64_t r, int64_t c) {
        const double d = x[r * channels + c] - m[c];
        return d * d;
      },
      sq.data(), path, max_threads);
  for (int64_t c = 0; c < channels; ++c) {
    const double var = rows ? sq[c] / rows : 0.0;
    save_mean[c] = static_cast<float>(mean[c]);
    save_invstd[c] = static_cast<float>(1.0 / std::sqrt(var + epsilon));
    running_mean[c] = momentum * running_mean[c] + (1.0f - momentum) * static_cast<float>(mean[c]);
    running_var[c] = momentum * running_var[c] + (1.0f - momentum) * static_cast<float>(var);
  }
  batch_norm_apply(rows, channels, x, gamma, beta, save_mean, save_invstd, y, path, max_threads);
}

void batch_norm_infer(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float epsilon, float* y, float* save_invstd,
                      KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive)
    return batch_norm_infer_naive(rows, channels, x, gamma, beta, running_mean, running_var, epsilon, y, save_invstd);
  for (int64_t c = 0; c < channels; ++c) save_invstd[c] = 1.0f / std::sqrt(running_var[c] + epsilon);
  batch_norm_apply(rows, channels, x, gamma, beta, running_mean, save_invstd, y, path, max_threads);
}

void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                         const float* mean, const float* invstd, bool training, float* dx, float* dgamma, float* dbeta,
                         KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive)
    return batch_norm_backward_naive(rows, channels, x, dy, gamma, mean, invstd, training, dx, dgamma, dbeta);
  std::vector<double> sum_dy(channels), sum_dy_xhat(channels);
  column_reduce(
      rows, channels, [dy, channels](int64_t r, int64_t c) { return double(dy[r * channels + c]); }, sum_dy.data(),
      path, max_threads);
  column_reduce(
      rows, channels,
      [x, dy, mean, invstd, channels](int64_t r, int64_t c) {
        const int64_t i = r * channels + c;
        return double(dy[i]) * (double(x[i]) - mean[c]) * invstd[c];
      },
      sum_dy_xhat.data(), path, max_threads);
  std::vector<float> a(channels), b(channels), k(channels);  // dx = k * (dy - a - xhat * b)
  for (int64_t c = 0; c < channels; ++c) {
    dbeta[c] = static_cast<float>(sum_dy[c]);
    dgamma[c] = static_cast<float>(sum_dy_xhat[c]);
    k[c] = gamma[c] * invstd[c];
    a[c] = training && rows ? static_cast<float>(sum_dy[c] / rows) : 0.0f;
    b[c] = training && rows ? static_cast<float>(sum_dy_xhat[c] / rows) : 0.0f;
  }
  const int nthreads = threads_for(static_cast<double>(rows) * channels, grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * channels;
    const float* __restrict dyr = dy + r * channels;
    float* __restrict dxr = dx + r * channels;
    const float *kp = k.data(), *ap = a.data(), *bp = b.data();
    run_simd(path, [&]() SINAPSE_INLINE {
      // Inference: dx = k * dy does not depend on x (xhat * 0 would turn an inf x into NaN).
      if (training)
        for (int64_t c = 0; c < channels; ++c) {
          const float xhat = (xr[c] - mean[c]) * invstd[c];
          dxr[c] = kp[c] * (dyr[c] - ap[c] - xhat * bp[c]);
        }
      else
        for (int64_t c = 0; c < channels; ++c) dxr[c] = kp[c] * dyr[c];
    });
  }
}

}  // namespace sinapse::cpu
