#include "softmax.h"

#include <algorithm>
#include <cmath>

#include "../common/threading.h"
#include "simd_run.h"
#include "vec_math.h"

namespace sinapse::cpu {

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, KernelVariant variant,
                     SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return softmax_forward_naive(rows, cols, x, y, log);
  const int nthreads = threads_for(static_cast<double>(rows) * cols, grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * cols;
    float* __restrict yr = y + r * cols;
    run_simd(path, [&]() SINAPSE_INLINE {
      float m = -INFINITY;
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
      const double sum = sum_exp_shifted(xr, cols, m);
      if (log) {  // (x - m) - log(sum): both terms small, no cancellation against a large m
        const float log_sum = static_cast<float>(std::log(sum));
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
      } else {
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < cols; ++j) yr[j] = exp_approx(xr[j] - m) * inv;
      }
    });
  }
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return softmax_backward_naive(rows, cols, y, dy, dx, log);
  const int nthreads = threads_for(static_cast<double>(rows) * cols, grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict yr = y + r * cols;
    const float* __restrict gr = dy + r * cols;
    float* __restrict dr = dx + r * cols;
    run_simd(path, [&]() SINAPSE_INLINE {
      double dot = 0.0;
      if (log) {
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < cols; ++j) dot += gr[j];
        const float d = static_cast<float>(dot);
        for (int64_t j = 0; j < cols; ++j) dr[j] = gr[j] - exp_approx(yr[j]) * d;
      } else {
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(gr[j]) * yr[j];
        const float d = static_cast<float>(dot);
        for (int64_t j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - d);
      }
    });
  }
}

}  // namespace sinapse::cpu
