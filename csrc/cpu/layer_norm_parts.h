// What the tuned layer / group norm kernels (layer_norm.cpp: contiguous rows;
// layer_norm_groups.cpp: group norm over positions) share: the lane count of the blocked sums,
// each thread's share of the work, and the per-thread per-channel partial dgamma / dbeta.
#pragma once

#include <cstdint>
#include <vector>

#include "../common/cpu_features.h"
#include "../common/layer_norm_row.h"
#include "simd_run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse::cpu {

// Independent float accumulators per blocked sum: 2 AVX-512 vectors (4 AVX2, 8 SSE), so
// consecutive adds do not wait on each other's latency. Measured (1 thread, CPU time, AMD EPYC
// Zen 4, loaded): 16 lanes ran 3-4x slower than 32 (one AVX-512 chain), 64 lanes slower than
// 32 on rows of 256 (the lane sums cost more than they save).
inline constexpr int kLanes = 32;
// Rows (or samples' positions) a thread adds into its float partials before moving them into
// double: float speed, and no long float sums.
inline constexpr int64_t kFlushRows = 32;
// Rows whose dgamma / dbeta contributions one pass adds together (layer_norm.cpp's backward):
// 2 and 4 measured alike, 8 ran 2.5-3x slower (too many streams for the vectoriser).
inline constexpr int kBlockRows = 4;

// The sum of kLanes accumulators, by halving (independent vector adds): a sequential loop
// would be kLanes dependent scalar adds, more than the row's own sum for rows of a few hundred.
[[gnu::always_inline]] inline float lane_sum(float* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

struct ThreadShare {
  int thread;
  int64_t begin, end;
};

// Inside a parallel region: this thread's contiguous share of `items`.
inline ThreadShare thread_share(int64_t items) {
#ifdef _OPENMP
  const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
  const int t = 0, nt = 1;
#endif
  return {t, items * t / nt, items * (t + 1) / nt};
}

// Per-thread partial dgamma / dbeta: float accumulators flushed into double ones; total()
// adds the threads' doubles in thread order (deterministic for a given thread count).
class ChannelPartials {
 public:
  ChannelPartials(int threads, int64_t channels)
      : threads_(threads),
        channels_(channels),
        stride_((channels + 15) / 16 * 16),  // each thread's arrays on their own cache lines
        f_(static_cast<size_t>(2 * threads * stride_), 0.0f),
        d_(static_cast<size_t>(2 * threads * stride_), 0.0) {}

  struct Thread {
    float *g, *b;
    double *G, *B;
    int64_t n;
    void flush(SimdPath path) {
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t c = 0; c < n; ++c) {
          G[c] += g[c];
          B[c] += b[c];
          g[c] = 0.0f;
          b[c] = 0.0f;
        }
      });
    }
  };

  Thread thread(int t) {
    float* f = f_.data() + 2 * t * stride_;
    double* d = d_.data() + 2 * t * stride_;
    return {f, f + stride_, d, d + stride_, channels_};
  }

  void total(float* dgamma, float* dbeta) const {
    for (int64_t c = 0; c < channels_; ++c) {
      double g = 0.0, b = 0.0;
      for (int t = 0; t < threads_; ++t) {
        g += d_[2 * t * stride_ + c];
        b += d_[(2 * t + 1) * stride_ + c];
      }
      dgamma[c] = static_cast<float>(g);
      dbeta[c] = static_cast<float>(b);
    }
  }

 private:
  int threads_;
  int64_t channels_, stride_;
  std::vector<float> f_;
  std::vector<double> d_;
};

// Group norm over positions (a.segments > 1): layer_norm_groups.cpp.
void layer_norm_forward_groups(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                               float* mean, float* inv_std, SimdPath path, int max_threads);
void layer_norm_backward_groups(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma,
                                const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta,
                                SimdPath path, int max_threads);

}  // namespace sinapse::cpu
