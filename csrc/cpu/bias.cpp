#include "bias.h"

#include <algorithm>
#include <vector>

#include "../common/threading.h"
#include "column_reduce.h"

namespace sinapse::cpu {

namespace {
constexpr int64_t kChunk = 8192;  // elements per run_simd() call, as activation.cpp
}  // namespace

void bias_add(int64_t rows, int64_t channels, const float* __restrict x, const float* __restrict bias,
              float* __restrict y, SimdPath path, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(rows) * channels, grain::kElementwise, max_threads);
  // Rows in blocks of about kChunk elements, each block one run_simd() call: a call per row
  // would cost more than the row itself for narrow layers.
  const int64_t block = std::max<int64_t>(1, kChunk / std::max<int64_t>(channels, 1));
  const int64_t blocks = (rows + block - 1) / block;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * block, r1 = std::min(rows, r0 + block);
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t r = r0; r < r1; ++r) {
        const float* __restrict xr = x + r * channels;
        float* __restrict yr = y + r * channels;
        for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] + bias[c];
      }
    });
  }
}

void bias_backward(int64_t rows, int64_t channels, const float* __restrict dy, float* __restrict db, SimdPath path,
                   int max_threads) {
  std::vector<double> sums(static_cast<size_t>(channels));
  column_reduce(
      rows, channels, [dy, channels](int64_t r, int64_t c) { return double(dy[r * channels + c]); }, sums.data(), path,
      max_threads);
  for (int64_t c = 0; c < channels; ++c) db[c] = static_cast<float>(sums[c]);
}

}  // namespace sinapse::cpu
