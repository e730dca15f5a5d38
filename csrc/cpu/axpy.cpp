#include "axpy.h"

#include <algorithm>

#include "../common/threading.h"

namespace sinapse::cpu {

namespace {
// A streaming loop moves ~12 bytes per element; below ~64K elements the data is in cache
// and a second thread costs more to wake than it saves.
constexpr double kAxpyMinElementsPerThread = 65536;
}  // namespace

void axpy(int64_t n, float alpha, const float* __restrict x, float* __restrict y, int max_threads) {
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(n), kAxpyMinElementsPerThread));
#pragma omp parallel for simd num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace sinapse::cpu
