// Channel-wise dropout (SpatialDropout) and Gaussian noise on the CPU: the Philox draws of
// common/philox.h / philox_normal.h, the CUDA kernels' bits (cuda/dropout.cu). Draw d of a call
// is word d % 4 of counter block offset + d / 4; `lane` shifts the call's first draw (a
// distributed shard starts inside a block), so no shifted copy of the input is needed.
#include <algorithm>
#include <vector>

#include "../common/philox.h"
#include "../common/philox_normal.h"
#include "../common/threading.h"
#include "dropout.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int64_t kChunk = 1024;  // elements per unit of work of the Gaussian noise

// Calls fn(d, value) for the draws [first, first + count) of `draw4` (uniform4 or normal4).
template <typename Draw4, typename Fn>
void for_draws(Draw4 draw4, uint64_t seed, uint64_t offset, uint64_t first, int64_t count, Fn&& fn) {
  float v[4];
  uint64_t block = ~uint64_t{0};
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t d = first + static_cast<uint64_t>(i);
    if (d / 4 != block) {
      block = d / 4;
      draw4(seed, offset + block, v);
    }
    fn(i, v[d % 4]);
  }
}

}  // namespace

void dropout_channels(int64_t rows, int64_t inner, int64_t channels, const float* x, float* y, float rate,
                      uint64_t seed, uint64_t offset, uint64_t lane, SimdPath path, int max_threads) {
  const float kept = 1.0f / (1.0f - rate);
  const int nthreads = threads_for(static_cast<double>(rows * inner * channels), grain::kElementwise, max_threads);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    std::vector<float> scale(static_cast<size_t>(channels));  // 1 / (1 - rate) or 0 per channel of the row
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const uint64_t first = lane + static_cast<uint64_t>(r) * static_cast<uint64_t>(channels);
      for_draws(philox::uniform4, seed, offset, first, channels,
                [&](int64_t c, float u) { scale[c] = u >= rate ? kept : 0.0f; });
      const float* __restrict m = scale.data();
      for (int64_t p = 0; p < inner; ++p) {
        const float* __restrict xs = x + (r * inner + p) * channels;
        float* __restrict ys = y + (r * inner + p) * channels;
        run_simd(path, [&]() SINAPSE_INLINE {
          for (int64_t c = 0; c < channels; ++c) ys[c] = m[c] != 0.0f ? xs[c] * m[c] : 0.0f;  // a dropped NaN is 0
        });
      }
    }
  }
}

void gaussian_noise(int64_t n, const float* x, float* y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane,
                    SimdPath path, int max_threads) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int nthreads = threads_for(static_cast<double>(n), grain::kHeavyElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, count = std::min(n, begin + kChunk) - begin;
    run_simd(path, [&]() SINAPSE_INLINE {
      for_draws(philox::normal4, seed, offset, lane + static_cast<uint64_t>(begin), count,
                [&](int64_t i, float z) { y[begin + i] = fmaf(stddev, z, x[begin + i]); });
    });
  }
}

}  // namespace sinapse::cpu
