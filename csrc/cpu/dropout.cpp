#include "dropout.h"

#include <algorithm>

#include "../common/philox.h"
#include "../common/threading.h"

namespace sinapse::cpu {

void dropout(int64_t n, const float* __restrict x, float* __restrict y, float rate, uint64_t seed, uint64_t offset,
             int max_threads) {
  const float scale = 1.0f / (1.0f - rate);
  const int64_t groups = (n + 3) / 4;
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(n), 16384));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    float u[4];
    philox::uniform4(seed, offset + static_cast<uint64_t>(g), u);
    const int64_t end = std::min<int64_t>(4, n - 4 * g);
    for (int64_t j = 0; j < end; ++j) y[4 * g + j] = u[j] >= rate ? x[4 * g + j] * scale : 0.0f;
  }
}

}  // namespace sinapse::cpu
