#include "softmax.h"

#include <algorithm>
#include <cmath>

#include "../common/threading.h"

namespace sinapse::cpu {

namespace {
constexpr double kMinElementsPerThread = 32768;
}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, int max_threads) {
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(rows) * cols, kMinElementsPerThread));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) m = std::max(m, xr[j]);
    // Sum in double: a row of 10^5 terms keeps float accuracy.
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(xr[j] - m);
    if (log) {  // (x - m) - log(sum): both terms small, no cancellation against a large m
      const float log_sum = static_cast<float>(std::log(sum));
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
    } else {
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < cols; ++j) yr[j] = std::exp(xr[j] - m) * inv;
    }
  }
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      int max_threads) {
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(rows) * cols, kMinElementsPerThread));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    double dot = 0.0;
    if (log) {
      for (int64_t j = 0; j < cols; ++j) dot += gr[j];
      for (int64_t j = 0; j < cols; ++j) dr[j] = gr[j] - std::exp(yr[j]) * static_cast<float>(dot);
    } else {
      for (int64_t j = 0; j < cols; ++j) dot += static_cast<double>(gr[j]) * yr[j];
      for (int64_t j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - static_cast<float>(dot));
    }
  }
}

}  // namespace sinapse::cpu
