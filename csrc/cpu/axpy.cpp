#include "axpy.h"

#include <algorithm>

#include "../common/threading.h"

namespace sinapse::cpu {

void axpy(int64_t n, float alpha, const float* __restrict x, float* __restrict y, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(n), grain::kCopy, max_threads);
#pragma omp parallel for simd num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace sinapse::cpu
