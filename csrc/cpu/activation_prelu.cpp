// PReLU on the CPU (He et al. 2015, "Delving deep into rectifiers"; Keras 3's PReLU layer).
// The element loops run row by row (a row: the last coalesced dim), so alpha is either a
// contiguous slice (not shared along the last dim) or one value (shared), and each row's loop
// vectorises. dalpha sums each alpha entry's elements in the order of common/prelu_args.h in
// double (dalpha_sums): the same bits for any thread count, and the same order and precision as
// the CUDA kernel.
#include <algorithm>

#include "../common/threading.h"
#include "activation.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

// fn(row_begin, a, a_step) for each row: `a` is alpha at the row's first element and a_step
// 1 or 0 (alpha shared along the row).
template <typename Fn>
void for_rows(const PreluArgs& p, const float* alpha, int max_threads, Fn&& fn) {
  const int64_t inner = p.rank > 0 ? p.dim[p.rank - 1] : 1;
  const int64_t rows = inner > 0 ? p.n / inner : 0;
  const bool contiguous = p.rank > 0 && p.astride[p.rank - 1] != 0;
  const int nthreads = threads_for(static_cast<double>(p.n), grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) fn(r * inner, inner, alpha + prelu_alpha_index(p, r * inner), contiguous);
}

constexpr int64_t kEntries = 256;  // alpha entries summed together (one row of the last kept dim at most)

// dalpha[a] = sum over s of term(element(a, s)), s in increasing order, in double: each entry's
// additions happen in that order whatever the grouping, so the bits match the CUDA kernel's one
// thread per entry. When alpha varies along the last dim, up to kEntries consecutive entries are
// summed together, reading their elements as one contiguous run per s (not one strided walk per
// entry); otherwise each entry's elements are contiguous already.
void dalpha_sums(const PreluArgs& p, const float* x, const float* dy, float* dalpha, int max_threads) {
  if (p.alpha_size == 0) return;
  const int64_t per_entry = p.n / p.alpha_size;
  const bool last_kept = p.rank > 0 && p.astride[p.rank - 1] == 1;
  const int64_t run = last_kept ? p.dim[p.rank - 1] : 1;  // consecutive entries with consecutive elements
  const int64_t per_run = (run + kEntries - 1) / kEntries, groups = p.alpha_size / run * per_run;
  const int nthreads = threads_for(static_cast<double>(p.n), grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(dynamic)
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t a0 = g / per_run * run + g % per_run * kEntries,
                  len = std::min(kEntries, run - g % per_run * kEntries);
    double acc[kEntries] = {};
    for (int64_t s = 0; s < per_entry; ++s) {
      const int64_t e0 = prelu_element(p, a0, s);
      for (int64_t j = 0; j < len; ++j) acc[j] += static_cast<double>(prelu_dalpha_term(x[e0 + j], dy[e0 + j]));
    }
    for (int64_t j = 0; j < len; ++j) dalpha[a0 + j] = static_cast<float>(acc[j]);
  }
}

}  // namespace

void prelu_forward(const PreluArgs& p, const float* x, const float* alpha, float* y, SimdPath path, int max_threads) {
  for_rows(p, alpha, max_threads, [&](int64_t begin, int64_t len, const float* a, bool contiguous) {
    const float* __restrict xs = x + begin;
    float* __restrict ys = y + begin;
    run_simd(path, [&]() SINAPSE_INLINE {
      if (contiguous) {
        for (int64_t i = 0; i < len; ++i) ys[i] = prelu_value(xs[i], a[i]);
      } else {
        const float a0 = a[0];
        for (int64_t i = 0; i < len; ++i) ys[i] = prelu_value(xs[i], a0);
      }
    });
  });
}

void prelu_backward(const PreluArgs& p, const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                    SimdPath path, int max_threads) {
  for_rows(p, alpha, max_threads, [&](int64_t begin, int64_t len, const float* a, bool contiguous) {
    const float* __restrict xs = x + begin;
    const float* __restrict gs = dy + begin;
    float* __restrict ds = dx + begin;
    run_simd(path, [&]() SINAPSE_INLINE {
      if (contiguous) {
        for (int64_t i = 0; i < len; ++i) ds[i] = prelu_dx(xs[i], a[i], gs[i]);
      } else {
        const float a0 = a[0];
        for (int64_t i = 0; i < len; ++i) ds[i] = prelu_dx(xs[i], a0, gs[i]);
      }
    });
  });
  dalpha_sums(p, x, dy, dalpha, max_threads);
}

}  // namespace sinapse::cpu
