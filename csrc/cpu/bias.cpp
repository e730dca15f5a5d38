#include "bias.h"

#include <algorithm>
#include <vector>

#include "../common/threading.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(rows) * channels, kMinElementsPerThread));
  // Each thread sums a fixed, contiguous range of rows into its own row of partial sums;
  // the partials are then added in thread order: deterministic for a given thread count.
  std::vector<double> partial(static_cast<size_t>(nthreads) * channels, 0.0);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    double* acc = partial.data() + static_cast<size_t>(t) * channels;
    for (int64_t r = rows * t / nt; r < rows * (t + 1) / nt; ++r) {
      const float* g = dy + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) acc[c] += g[c];
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0.0;
    for (int t = 0; t < nthreads; ++t) s += partial[static_cast<size_t>(t) * channels + c];
    db[c] = static_cast<float>(s);
  }
}

}  // namespace sinapse::cpu
