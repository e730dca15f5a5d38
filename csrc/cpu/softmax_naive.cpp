// The "naive" softmax variant: the definition, written as loops. One row at a time, one
// thread, the C library's expf/logf (scalar: the loops do not vectorise), no blocking — the
// baseline the tuned kernels (softmax.cpp: SIMD exp, threads over rows) are measured against:
//   SINAPSE_SOFTMAX=naive python -m bench softmax --quick
// Same formulas and contract as softmax.h (the row max subtracted first; sums in double;
// `y` may be `x` and `dx` may be `dy`: every element is read before it is written).
#include <cmath>

#include "softmax.h"

namespace sinapse::cpu {

void softmax_forward_naive(int64_t rows, int64_t cols, const float* x, float* y, bool log) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(xr[j] - m);
    if (log) {
      const float log_sum = static_cast<float>(std::log(sum));
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
    } else {
      for (int64_t j = 0; j < cols; ++j) yr[j] = static_cast<float>(std::exp(xr[j] - m) / sum);
    }
  }
}

void softmax_backward_naive(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    double dot = 0.0;  // log_softmax: sum(dy); softmax: sum(dy * y)
    for (int64_t j = 0; j < cols; ++j) dot += log ? static_cast<double>(gr[j]) : static_cast<double>(gr[j]) * yr[j];
    const float d = static_cast<float>(dot);
    for (int64_t j = 0; j < cols; ++j) dr[j] = log ? gr[j] - std::exp(yr[j]) * d : yr[j] * (gr[j] - d);
  }
}

}  // namespace sinapse::cpu
