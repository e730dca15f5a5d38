#include "bias.h"

#include <algorithm>
#include <vector>

#include "../common/threading.h"
#include "column_reduce.h"

namespace sinapse::cpu {

namespace {
constexpr double kMinElementsPerThread = 32768;
}

void bias_add(int64_t rows, int64_t channels, const float* __restrict x, const float* __restrict bias,
              float* __restrict y, int max_threads) {
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(rows) * channels, kMinElementsPerThread));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] + bias[c];
  }
}

void bias_grad(int64_t rows, int64_t channels, const float* __restrict dy, float* __restrict db, int max_threads) {
  std::vector<double> sums(static_cast<size_t>(channels));
  column_reduce(
      rows, channels, [dy, channels](int64_t r, int64_t c) { return double(dy[r * channels + c]); }, sums.data(),
      max_threads);
  for (int64_t c = 0; c < channels; ++c) db[c] = static_cast<float>(sums[c]);
}

}  // namespace sinapse::cpu
