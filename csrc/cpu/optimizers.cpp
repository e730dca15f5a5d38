// Each optimizer is one pass over its buffers: per element, read param, grad and the state,
// write param and the state — no temporaries, so an Adam step moves 28 bytes per parameter
// (docs/kernels/optimizers.md). The per-element rules live in common/optimizers.h; here are
// the loops, compiled three times (generic, AVX2, AVX-512 through target attributes, the
// compiler vectorising the same source) and split over threads in fixed-size chunks.
#include "optimizers.h"

#include <algorithm>
#include <vector>

#include "../common/macros.h"
#include "../common/threading.h"
#include "simd_run.h"

#define SINAPSE_ALWAYS_INLINE inline __attribute__((always_inline))

namespace sinapse::cpu {

namespace {

// 16K floats = 64 KiB per array: big enough that a chunk amortises its scheduling, small
// enough that two threads split a 1M-parameter buffer evenly.
constexpr int64_t kChunk = int64_t{1} << 14;

// One loop per update variant V: w and the state are read and written at i only, so the
// iterations are independent and the restrict-qualified pointers let the compiler vectorise.
template <class V>
SINAPSE_ALWAYS_INLINE void update_range(const OptimizerArgs& args, const OptimizerBuffers& b, int64_t lo, int64_t hi) {
  const OptimizerArgs a = args;  // a local copy: the scalars are provably not stored to
  float* __restrict w = b.param;
  const float* __restrict g = b.grad;
  float* __restrict s0 = b.s0;
  float* __restrict s1 = b.s1;
  float* __restrict s2 = b.s2;
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) optim::update_element(V{}, a, i, w, g, s0, s1, s2);
}

SINAPSE_ALWAYS_INLINE double sum_squares_range(const float* __restrict x, int64_t lo, int64_t hi) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = lo; i < hi; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

using UpdateFn = void (*)(const OptimizerArgs&, const OptimizerBuffers&, int64_t, int64_t);
using SumFn = double (*)(const float*, int64_t, int64_t);

template <class V>
void update_generic(const OptimizerArgs& a, const OptimizerBuffers& b, int64_t lo, int64_t hi) {
  update_range<V>(a, b, lo, hi);
}
double sum_generic(const float* x, int64_t lo, int64_t hi) { return sum_squares_range(x, lo, hi); }
#if SINAPSE_X86
template <class V>
SINAPSE_TARGET_AVX2 void update_avx2(const OptimizerArgs& a, const OptimizerBuffers& b, int64_t lo, int64_t hi) {
  update_range<V>(a, b, lo, hi);
}
template <class V>
SINAPSE_TARGET_AVX512 void update_avx512(const OptimizerArgs& a, const OptimizerBuffers& b, int64_t lo, int64_t hi) {
  update_range<V>(a, b, lo, hi);
}
SINAPSE_TARGET_AVX2 double sum_avx2(const float* x, int64_t lo, int64_t hi) { return sum_squares_range(x, lo, hi); }
SINAPSE_TARGET_AVX512 double sum_avx512(const float* x, int64_t lo, int64_t hi) { return sum_squares_range(x, lo, hi); }
#endif

// The loop of the variant `a` asks for, compiled for `path`.
UpdateFn update_for(const OptimizerArgs& a, SimdPath path) {
  UpdateFn fn = nullptr;
  optim::visit_variant(a, [&](auto variant) {
    using V = decltype(variant);
    fn = pick_simd<UpdateFn>(path, SINAPSE_SIMD_VERSIONS(update_generic<V>, update_avx2<V>, update_avx512<V>));
  });
  return fn;
}

SumFn sum_for(SimdPath path) {
  return pick_simd<SumFn>(path, SINAPSE_SIMD_VERSIONS(sum_generic, sum_avx2, sum_avx512));
}

}  // namespace

void optimizer_update(const OptimizerArgs& args, const OptimizerBuffers& buffers, SimdPath path, int max_threads) {
  OptimizerArgs a = args;
  if (a.kind == OptimizerKind::adam) a.alpha = optimizer_alpha(a);
  const UpdateFn fn = update_for(a, path);
  const int64_t n = buffers.n, chunks = (n + kChunk - 1) / kChunk;
  const int nthreads = threads_for(static_cast<double>(n), grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(a, buffers, c * kChunk, std::min(n, (c + 1) * kChunk));
}

double sum_squares(int64_t n, const float* x, SimdPath path, int max_threads) {
  const SumFn fn = sum_for(path);
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
  const int nthreads = threads_for(static_cast<double>(n), grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) partial[c] = fn(x, c * kChunk, std::min(n, (c + 1) * kChunk));
  double total = 0.0;
  for (const double p : partial) total += p;  // in chunk order: independent of the thread count
  return total;
}

void scale_clip(int64_t n, const float* x, float* y, float scale, float clipvalue, int max_threads) {
  OptimizerArgs a;
  a.grad_scale = scale;
  a.clipvalue = clipvalue;
  const int nthreads = threads_for(static_cast<double>(n), grain::kCopy, max_threads);
#pragma omp parallel for simd num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = optim::grad_in(a, x[i], 0.0f);
}

}  // namespace sinapse::cpu
