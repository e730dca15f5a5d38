// The "tuned" layer / group norm variant, contiguous rows (layer norm, and group norm without
// spatial axes): threads over rows, each row's passes vectorised (run_simd), the row staying
// in L1 between them. Group norm over positions (runs C floats apart) takes the per-sample
// path of layer_norm_groups.cpp instead.
//
// Forward, per row (three reads from L1, one write):
//   1. s = sum(x - x0), x0 = the row's first element: the shift takes a large common offset
//      (x = 1e4 + small) out of the float32 sum, so mean = x0 + s / n keeps the signal.
//   2. the corrected two-pass variance (Chan, Golub & LeVeque 1983): with t = x - mean,
//      var = sum(t^2) / n - (sum(t) / n)^2; the second term removes the rounding left in mean.
//   3. y = (x - mean) * inv_std * gamma + beta.
// The sums run in kLanes independent float lanes (several vector accumulators: a single one
// would wait on the add latency every vector), added at the end.
// Backward, per row: one pass sums g = dy * gamma and g * xhat, and adds dy * xhat and dy into
// the thread's own per-channel partial dgamma / dbeta (float over up to kFlushRows rows, then
// into double); a second writes dx. The partials are added in thread order afterwards:
// deterministic for a given thread count, no atomics.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/threading.h"
#include "layer_norm.h"
#include "layer_norm_parts.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

struct Stats {
  float mean, inv_std;
};

// Passes 1 and 2 over a contiguous row (inlined into each SIMD path's body).
[[gnu::always_inline]] inline Stats row_stats(const float* __restrict xr, int64_t L, float epsilon) {
  const float n = static_cast<float>(L), shift = xr[0];
  float acc[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= L; k += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += xr[k + j] - shift;
  float s = 0.0f;
  for (; k < L; ++k) s += xr[k] - shift;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  const float m = shift + s / n;
  float ad[kLanes] = {}, aq[kLanes] = {};
  for (k = 0; k + kLanes <= L; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float t = xr[k + j] - m;
      ad[j] += t;
      aq[j] += t * t;
    }
  float d = 0.0f, q = 0.0f;
  for (; k < L; ++k) {
    const float t = xr[k] - m;
    d += t;
    q += t * t;
  }
  for (int j = 0; j < kLanes; ++j) {
    d += ad[j];
    q += aq[j];
  }
  d /= n;
  const float var = std::max(q / n - d * d, 0.0f);
  return {m + d, 1.0f / std::sqrt(var + epsilon)};
}

// Pass 3 (yr may be xr). gamma / beta (offset to the row's first channel) may be null.
[[gnu::always_inline]] inline void write_row(int64_t L, const float* xr, const float* __restrict gam,
                                             const float* __restrict bet, Stats st, float* yr) {
  const float m = st.mean, inv = st.inv_std;
  if (gam && bet)
    for (int64_t k = 0; k < L; ++k) yr[k] = (xr[k] - m) * inv * gam[k] + bet[k];
  else if (gam)
    for (int64_t k = 0; k < L; ++k) yr[k] = (xr[k] - m) * inv * gam[k];
  else if (bet)
    for (int64_t k = 0; k < L; ++k) yr[k] = (xr[k] - m) * inv + bet[k];
  else
    for (int64_t k = 0; k < L; ++k) yr[k] = (xr[k] - m) * inv;
}

// Row r of dx (dxr may be dyr), with dy * xhat and dy added to pg / pb (this thread's float
// partials, offset to the row's first channel). gam may be null.
[[gnu::always_inline]] inline void backward_row(int64_t L, const float* __restrict xr, const float* dyr,
                                                const float* __restrict gam, float m, float inv, float* dxr,
                                                float* __restrict pg, float* __restrict pb) {
  float ag[kLanes] = {}, ax[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= L; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const int64_t i = k + j;
      const float xh = (xr[i] - m) * inv, g = dyr[i] * (gam ? gam[i] : 1.0f);
      ag[j] += g;
      ax[j] += g * xh;
      pg[i] += dyr[i] * xh;
      pb[i] += dyr[i];
    }
  float sg = 0.0f, sgx = 0.0f;
  for (; k < L; ++k) {
    const float xh = (xr[k] - m) * inv, g = dyr[k] * (gam ? gam[k] : 1.0f);
    sg += g;
    sgx += g * xh;
    pg[k] += dyr[k] * xh;
    pb[k] += dyr[k];
  }
  for (int j = 0; j < kLanes; ++j) {
    sg += ag[j];
    sgx += ax[j];
  }
  const float n = static_cast<float>(L), mg = sg / n, mgx = sgx / n;
  if (gam)
    for (k = 0; k < L; ++k) dxr[k] = inv * (dyr[k] * gam[k] - mg - (xr[k] - m) * inv * mgx);
  else
    for (k = 0; k < L; ++k) dxr[k] = inv * (dyr[k] - mg - (xr[k] - m) * inv * mgx);
}

void forward_rows(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                  float* inv_std, SimdPath path, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
  const int64_t rows = a.rows(), L = a.length;  // segments == 1: row r starts at r * L
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    run_simd(path, [&]() SINAPSE_INLINE {
      const Stats st = row_stats(x + r * L, L, a.epsilon);
      mean[r] = st.mean;
      inv_std[r] = st.inv_std;
      const int64_t c0 = r % a.groups * L;
      write_row(L, x + r * L, gamma ? gamma + c0 : nullptr, beta ? beta + c0 : nullptr, st, y + r * L);
    });
  }
}

void backward_rows(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                   const float* inv_std, float* dx, float* dgamma, float* dbeta, SimdPath path, int max_threads) {
  const int64_t C = a.channels(), L = a.length;
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
  ChannelPartials partials(nthreads, C);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const ThreadShare mine = thread_share(a.rows());
    ChannelPartials::Thread acc = partials.thread(mine.thread);
    for (int64_t r = mine.begin; r < mine.end; ++r) {
      const int64_t c0 = r % a.groups * L;
      run_simd(path, [&]() SINAPSE_INLINE {
        backward_row(L, x + r * L, dy + r * L, gamma ? gamma + c0 : nullptr, mean[r], inv_std[r], dx + r * L,
                     acc.g + c0, acc.b + c0);
      });
      if ((r - mine.begin + 1) % kFlushRows == 0) acc.flush(path);
    }
    acc.flush(path);
  }
  partials.total(dgamma, dbeta);
}

}  // namespace

void layer_norm_forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* inv_std, KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return layer_norm_forward_naive(a, x, gamma, beta, y, mean, inv_std);
  if (a.rows() == 0) return;
  if (a.segments == 1) return forward_rows(a, x, gamma, beta, y, mean, inv_std, path, max_threads);
  layer_norm_forward_groups(a, x, gamma, beta, y, mean, inv_std, path, max_threads);
}

void layer_norm_backward(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dx, float* dgamma, float* dbeta, KernelVariant variant,
                         SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive)
    return layer_norm_backward_naive(a, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta);
  if (a.segments == 1) return backward_rows(a, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, path, max_threads);
  layer_norm_backward_groups(a, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, path, max_threads);
}

}  // namespace sinapse::cpu
