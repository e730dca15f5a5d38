// How a kernel runs on the SIMD path the dispatcher chose (common/cpu_features.h): every
// kernel receives that path as an argument and goes through one of the two helpers below,
// which also record the dispatch for the tests (note_simd_path).
//
// run_simd(path, body): auto-vectorised loops compiled once per path, for the kernels that do
// not deserve hand-written intrinsics (activation, softmax, pooling, losses, batch norm,
// dropout, the column sums, the RNN gates, the direct convolution rows). The library is built
// for baseline x86-64, so a plain loop vectorises only to SSE2. Wrapping the loop in an
// always-inline lambda and calling it through run_simd() inlines the same body into three
// functions compiled for AVX-512, AVX2+FMA and the baseline; the one for `path` runs. OpenMP
// regions must stay OUTSIDE the lambda (GCC outlines a parallel region before inlining, and
// the outlined function would lose the target): parallelise over rows or chunks, and call
// run_simd() inside each, passing the path the kernel was given (never a global: the worker
// threads would not see a thread-local one).
//
//   #pragma omp parallel for
//   for (int64_t r = 0; r < rows; ++r)
//     run_simd(path, [&]() SINAPSE_INLINE { for (int64_t c = 0; c < C; ++c) y[c] = ...; });
//
// pick_simd(path, generic, avx2, avx512): the function of `path` among three written (or
// instantiated) per path, for kernels that choose once per call (GEMM, optimizers, FMA peak).
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
}  // namespace simd_detail

// Always inlined: it runs once per row or chunk, inside the kernels' loops.
template <typename Body>
[[gnu::always_inline]] inline void run_simd(SimdPath path, Body&& body) {
  note_simd_path(path);
#if SINAPSE_X86
  switch (path) {
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

// The three versions' names, for pick_simd(); a non-x86 build has only the generic one (and
// only ever chooses it: cpu_supports).
#if SINAPSE_X86
#define SINAPSE_SIMD_VERSIONS(generic, avx2, avx512) generic, avx2, avx512
#else
#define SINAPSE_SIMD_VERSIONS(generic, avx2, avx512) generic, generic, generic
#endif

template <typename Fn>
inline Fn pick_simd(SimdPath path, Fn generic, Fn avx2, Fn avx512) {
  note_simd_path(path);
  if (path == SimdPath::avx512) return avx512;
  if (path == SimdPath::avx2) return avx2;
  return generic;
}

}  // namespace sinapse::cpu
