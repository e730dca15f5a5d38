// The "tuned" layer / group norm variant: threads over rows, each row's passes vectorised
// (run_simd), everything for a row done while it sits in L1.
//
// Forward, per row (three reads from L1, one write):
//   1. s = sum(x - x0), x0 = the row's first element: the shift takes a large common offset
//      (x = 1e4 + small) out of the float32 sum, so mean = x0 + s / n keeps the signal.
//   2. the corrected two-pass variance (Chan, Golub & LeVeque 1983): with t = x - mean,
//      var = sum(t^2) / n - (sum(t) / n)^2; the second term removes the rounding left in mean.
//   3. y = (x - mean) * inv_std * gamma + beta.
// Backward, per row: one pass sums g = dy * gamma and g * xhat, and adds dy * xhat and dy into
// the thread's own per-channel partial dgamma / dbeta (double); a second writes dx. The
// partials are added in thread order afterwards: deterministic, no atomics.
#include <algorithm>
#include <cmath>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "layer_norm.h"
#include "simd_run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse::cpu {

namespace {

struct Stats {
  float mean, inv_std;
};

// Passes 1 and 2 over row r's runs (inlined into each SIMD path's body).
[[gnu::always_inline]] inline Stats row_stats(const LayerNormArgs& a, int64_t r, const float* __restrict x) {
  const int64_t L = a.length;
  const float n = static_cast<float>(a.row_size()), shift = x[a.run_start(r, 0)];
  float s = 0.0f;
  for (int64_t seg = 0; seg < a.segments; ++seg) {
    const float* __restrict xs = x + a.run_start(r, seg);
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < L; ++k) s += xs[k] - shift;
  }
  const float m = shift + s / n;
  float d = 0.0f, q = 0.0f;
  for (int64_t seg = 0; seg < a.segments; ++seg) {
    const float* __restrict xs = x + a.run_start(r, seg);
#pragma omp simd reduction(+ : d, q)
    for (int64_t k = 0; k < L; ++k) {
      const float t = xs[k] - m;
      d += t;
      q += t * t;
    }
  }
  d /= n;
  const float var = std::max(q / n - d * d, 0.0f);
  return {m + d, 1.0f / std::sqrt(var + a.epsilon)};
}

// Pass 3: one run of y (ys may be xs). gamma / beta (offset to the run's first channel) may be null.
[[gnu::always_inline]] inline void write_run(int64_t L, const float* xs, const float* __restrict gam,
                                             const float* __restrict bet, Stats st, float* ys) {
  const float m = st.mean, inv = st.inv_std;
  if (gam && bet)
    for (int64_t k = 0; k < L; ++k) ys[k] = (xs[k] - m) * inv * gam[k] + bet[k];
  else if (gam)
    for (int64_t k = 0; k < L; ++k) ys[k] = (xs[k] - m) * inv * gam[k];
  else if (bet)
    for (int64_t k = 0; k < L; ++k) ys[k] = (xs[k] - m) * inv + bet[k];
  else
    for (int64_t k = 0; k < L; ++k) ys[k] = (xs[k] - m) * inv;
}

// Thread t's contiguous share of the rows.
struct Share {
  int64_t begin, end;
};
Share share(int64_t rows, int t, int nt) { return {rows * t / nt, rows * (t + 1) / nt}; }

// Row r of dx, with its dgamma / dbeta contributions added to pg / pb (this thread's
// partials, indexed by channel).
[[gnu::always_inline]] inline void backward_row(const LayerNormArgs& a, int64_t r, const float* __restrict x,
                                                const float* dy, const float* __restrict gamma, float m, float inv,
                                                float* dx, double* __restrict pg, double* __restrict pb) {
  const int64_t L = a.length, c0 = r % a.groups * L;
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t seg = 0; seg < a.segments; ++seg) {
    const int64_t start = a.run_start(r, seg);
    const float* __restrict xs = x + start, * __restrict ds = dy + start;
    double* __restrict g_acc = pg + c0, * __restrict b_acc = pb + c0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t k = 0; k < L; ++k) {
      const float xh = (xs[k] - m) * inv, g = ds[k] * (gamma ? gamma[c0 + k] : 1.0f);
      sg += g;
      sgx += g * xh;
      g_acc[k] += ds[k] * xh;
      b_acc[k] += ds[k];
    }
  }
  const float n = static_cast<float>(a.row_size()), mg = sg / n, mgx = sgx / n;
  for (int64_t seg = 0; seg < a.segments; ++seg) {
    const int64_t start = a.run_start(r, seg);
    const float* __restrict xs = x + start;
    const float* ds = dy + start;  // may be dx: each element is read before it is written
    float* out = dx + start;
    if (gamma)
      for (int64_t k = 0; k < L; ++k) out[k] = inv * (ds[k] * gamma[c0 + k] - mg - (xs[k] - m) * inv * mgx);
    else
      for (int64_t k = 0; k < L; ++k) out[k] = inv * (ds[k] - mg - (xs[k] - m) * inv * mgx);
  }
}

}  // namespace

void layer_norm_forward(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                        float* mean, float* inv_std, KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return layer_norm_forward_naive(a, x, gamma, beta, y, mean, inv_std);
  if (a.row_size() == 0) return;
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
  const int64_t rows = a.rows(), L = a.length;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    run_simd(path, [&]() SINAPSE_INLINE {
      const Stats st = row_stats(a, r, x);
      mean[r] = st.mean;
      inv_std[r] = st.inv_std;
      const int64_t c0 = r % a.groups * L;
      for (int64_t seg = 0; seg < a.segments; ++seg) {
        const int64_t start = a.run_start(r, seg);
        write_run(L, x + start, gamma ? gamma + c0 : nullptr, beta ? beta + c0 : nullptr, st, y + start);
      }
    });
  }
}

void layer_norm_backward(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma, const float* mean,
                         const float* inv_std, float* dx, float* dgamma, float* dbeta, KernelVariant variant,
                         SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive)
    return layer_norm_backward_naive(a, x, dy, gamma, mean, inv_std, dx, dgamma, dbeta);
  const int64_t C = a.channels(), rows = a.rows();
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
  // Each thread's partials start on their own 64-byte line (no false sharing).
  const int64_t stride = (C + 7) / 8 * 8;
  thread_local AlignedBuffer buffer;
  double* partial = reinterpret_cast<double*>(buffer.floats(static_cast<size_t>(4 * nthreads * stride)));
  std::fill(partial, partial + 2 * nthreads * stride, 0.0);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    double *pg = partial + 2 * t * stride, *pb = pg + stride;
    const Share mine = share(rows, t, nt);
    for (int64_t r = mine.begin; r < mine.end; ++r)
      run_simd(path, [&]() SINAPSE_INLINE { backward_row(a, r, x, dy, gamma, mean[r], inv_std[r], dx, pg, pb); });
  }
  for (int64_t c = 0; c < C; ++c) {
    double g = 0.0, b = 0.0;
    for (int t = 0; t < nthreads; ++t) {
      g += partial[2 * t * stride + c];
      b += partial[(2 * t + 1) * stride + c];
    }
    dgamma[c] = static_cast<float>(g);
    dbeta[c] = static_cast<float>(b);
  }
}

}  // namespace sinapse::cpu
