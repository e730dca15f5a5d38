// PReLU on the CPU (He et al. 2015, "Delving deep into rectifiers"; Keras 3's PReLU layer).
// The element loops run row by row (a row: the last coalesced dim), so alpha is either a
// contiguous slice (not shared along the last dim) or one value (shared), and each row's loop
// vectorises. dalpha walks each alpha entry's elements in the order of common/prelu_args.h in
// double, one thread per range of entries: the same bits for any thread count, and the same
// order and precision as the CUDA kernel.
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
  const int64_t per_entry = p.alpha_size > 0 ? p.n / p.alpha_size : 0;
  const int nthreads = threads_for(static_cast<double>(p.n), grain::kElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t a = 0; a < p.alpha_size; ++a) {
    double sum = 0.0;
    for (int64_t s = 0; s < per_entry; ++s) {
      const int64_t e = prelu_element(p, a, s);
      sum += static_cast<double>(prelu_dalpha_term(x[e], dy[e]));
    }
    dalpha[a] = static_cast<float>(sum);
  }
}

}  // namespace sinapse::cpu
