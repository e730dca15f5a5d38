// Auto-vectorised loops compiled once per SIMD path, for the memory-bound kernels
// (pooling, softmax, losses, batch norm) that do not deserve hand-written intrinsics.
//
// The library is built for baseline x86-64, so a plain loop vectorises only to SSE2. Wrapping
// the loop in an always-inline lambda and calling it through run_simd() inlines the same body
// into three functions compiled for AVX-512, AVX2+FMA and the baseline; the best one the CPU
// supports runs. OpenMP regions must stay OUTSIDE the lambda (GCC outlines a parallel region
// before inlining, and the outlined function would lose the target): parallelise over rows
// or chunks, and call run_simd() inside each.
//
//   #pragma omp parallel for
//   for (int64_t r = 0; r < rows; ++r)
//     run_simd([&]() SINAPSE_INLINE { for (int64_t c = 0; c < C; ++c) y[c] = ...; });
#pragma once

#include "../common/cpu_features.h"
#include "../common/macros.h"

#define SINAPSE_INLINE __attribute__((always_inline))

namespace sinapse::cpu {

namespace simd_detail {
#if SINAPSE_X86
template <typename Body>
SINAPSE_TARGET_AVX512 void run_avx512(Body& body) {
  body();
}
template <typename Body>
SINAPSE_TARGET_AVX2 void run_avx2(Body& body) {
  body();
}
#endif
template <typename Body>
void run_generic(Body& body) {
  body();
}

// The path every run_simd() call takes: the fastest this CPU supports, looked up once.
inline SimdPath active_path() {
  static const SimdPath path = best_simd_path();
  return path;
}
}  // namespace simd_detail

template <typename Body>
inline void run_simd(Body&& body) {
#if SINAPSE_X86
  switch (simd_detail::active_path()) {
    case SimdPath::avx512:
      return simd_detail::run_avx512(body);
    case SimdPath::avx2:
      return simd_detail::run_avx2(body);
    default:
      break;
  }
#endif
  simd_detail::run_generic(body);
}

}  // namespace sinapse::cpu
