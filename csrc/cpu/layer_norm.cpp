// The "tuned" layer / group norm variant, contiguous rows (layer norm, and group norm without
// spatial axes): threads over rows, each row's passes vectorised (run_simd), the row staying
// in L1 between them. Group norm over positions (runs C floats apart) takes the per-sample
// path of layer_norm_groups.cpp instead.
//
// Forward, per row (one read for the statistics, one read and write for y):
//   1. sums of t = x - x0 and t^2, x0 = the row's first element: the shift takes a large
//      common offset (x = 1e4 + small) out of the float32 sums, so mean = x0 + sum(t) / n and
//      var = sum(t^2) / n - (mean - x0)^2 keep the signal. When x0 lies more than 8 standard
//      deviations from the mean (the subtraction would cancel bits), the sums again around
//      the mean: the corrected two-pass variance (Chan, Golub & LeVeque 1983).
//   2. y = (x - mean) * inv_std * gamma + beta.
// The sums run in kLanes independent float lanes (several vector accumulators: a single one
// would wait on the add latency every vector), added at the end.
// Backward, per block of kBlockRows rows: a pass per row sums g = dy * gamma and g * xhat;
// one pass over the block writes dx and adds dy * xhat and dy into the thread's own
// per-channel partial dgamma / dbeta (float over about kFlushRows rows, then into double),
// loaded and stored once per block. The partials are added in thread order afterwards:
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

struct Moments {
  float sum, sum_sq;  // of x - c
};

// sum(x - c) and sum((x - c)^2) over a contiguous row, in kLanes independent lanes.
[[gnu::always_inline]] inline Moments shifted_moments(const float* __restrict xr, int64_t L, float c) {
  float as[kLanes] = {}, aq[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= L; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float t = xr[k + j] - c;
      as[j] += t;
      aq[j] += t * t;
    }
  float s = 0.0f, q = 0.0f;
  for (; k < L; ++k) {
    const float t = xr[k] - c;
    s += t;
    q += t * t;
  }
  return {s + lane_sum(as), q + lane_sum(aq)};
}

// A row's statistics from one read, shifted by its first element x0 (inlined into each SIMD
// path's body). var = sum((x - x0)^2) / n - d^2, d = mean - x0, cancels log2(1 + d^2 / var)
// bits; past 8 standard deviations (x0 an outlier, possible in rows of over 64) a second read
// shifted by the mean itself gives the corrected two-pass variance (Chan, Golub & LeVeque).
[[gnu::always_inline]] inline Stats row_stats(const float* __restrict xr, int64_t L, float epsilon) {
  const float n = static_cast<float>(L);
  float c = xr[0];
  Moments mo = shifted_moments(xr, L, c);
  float d = mo.sum / n, var = mo.sum_sq / n - d * d;
  if (!(d * d <= 64.0f * var)) {  // NaN too: the careful path costs nothing extra there
    c += d;
    mo = shifted_moments(xr, L, c);
    d = mo.sum / n;
    var = mo.sum_sq / n - d * d;
  }
  return {c + d, 1.0f / std::sqrt(std::max(var, 0.0f) + epsilon)};
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

// sum(g) and sum(g * xhat) over a row, g = dy * gamma (kGamma: else g = dy; gam unused), in
// kLanes lanes. kGamma is a template argument: a run-time "gam ? gam[k] : 1" kept loops scalar.
template <bool kGamma>
[[gnu::always_inline]] inline Moments grad_sums(int64_t L, const float* __restrict xr, const float* __restrict dyr,
                                                const float* __restrict gam, float m, float inv) {
  float ag[kLanes] = {}, ax[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= L; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float g = dyr[k + j] * (kGamma ? gam[k + j] : 1.0f);
      ag[j] += g;
      ax[j] += g * ((xr[k + j] - m) * inv);
    }
  float sg = 0.0f, sgx = 0.0f;
  for (; k < L; ++k) {
    const float g = dyr[k] * (kGamma ? gam[k] : 1.0f);
    sg += g;
    sgx += g * ((xr[k] - m) * inv);
  }
  return {sg + lane_sum(ag), sgx + lane_sum(ax)};
}

// R consecutive rows sharing their channels (L apart; x, dy, dx at the first): each row's
// sums, then one pass over the channels writing the R rows' dx and adding their dy * xhat and
// dy to pg / pb (this thread's float partials) — loaded and stored once per R rows.
// dx may be dy (each element is read before it is written: __restrict as softmax.cpp).
template <int R, bool kGamma>
[[gnu::always_inline]] inline void backward_block(int64_t L, const float* __restrict x, const float* __restrict dy,
                                                  const float* __restrict gam, const float* mean, const float* inv_std,
                                                  float* __restrict dx, float* __restrict pg, float* __restrict pb) {
  float m[R], inv[R], mg[R], mgx[R];
  const float n = static_cast<float>(L);
  for (int i = 0; i < R; ++i) {
    m[i] = mean[i];
    inv[i] = inv_std[i];
    const Moments s = grad_sums<kGamma>(L, x + i * L, dy + i * L, gam, m[i], inv[i]);
    mg[i] = s.sum / n;
    mgx[i] = s.sum_sq / n;
  }
  for (int64_t k = 0; k < L; ++k) {
    const float gk = kGamma ? gam[k] : 1.0f;
    float sg = pg[k], sb = pb[k];
    for (int i = 0; i < R; ++i) {
      const float xh = (x[i * L + k] - m[i]) * inv[i], d = dy[i * L + k];
      sg += d * xh;
      sb += d;
      dx[i * L + k] = inv[i] * (d * gk - mg[i] - xh * mgx[i]);
    }
    pg[k] = sg;
    pb[k] = sb;
  }
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
    // Blocks of kBlockRows rows when they share their channels (groups == 1), else single rows.
    const int64_t step = a.groups == 1 ? kBlockRows : 1;
    int64_t since_flush = 0;
    for (int64_t r = mine.begin; r < mine.end;) {
      const int64_t c0 = r % a.groups * L, i = r * L;
      const float* gam = gamma ? gamma + c0 : nullptr;
      const bool block = step > 1 && r + step <= mine.end;
      run_simd(path, [&]() SINAPSE_INLINE {
        const float *xi = x + i, *di = dy + i, *mi = mean + r, *si = inv_std + r;
        float *dxi = dx + i, *pg = acc.g + c0, *pb = acc.b + c0;
        if (block && gam)
          backward_block<kBlockRows, true>(L, xi, di, gam, mi, si, dxi, pg, pb);
        else if (block)
          backward_block<kBlockRows, false>(L, xi, di, gam, mi, si, dxi, pg, pb);
        else if (gam)
          backward_block<1, true>(L, xi, di, gam, mi, si, dxi, pg, pb);
        else
          backward_block<1, false>(L, xi, di, gam, mi, si, dxi, pg, pb);
      });
      const int64_t done = block ? step : 1;
      r += done;
      if ((since_flush += done) >= kFlushRows) {
        acc.flush(path);
        since_flush = 0;
      }
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
