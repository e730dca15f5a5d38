#include "fma_peak.h"

#include <chrono>

#include "../common/macros.h"
#include "simd_run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if SINAPSE_X86
#include <immintrin.h>
#endif

namespace sinapse::cpu {

namespace {

// Independent accumulator chains: 2 FMA pipes x 4 cycles of latency need 8 in flight on
// Zen and Intel cores; more leaves headroom. AVX2 has only 16 ymm registers, so it gets
// 12 chains (12 + 2 constants fit without spilling); AVX-512 has 32 zmm and gets 16.
// The generic loop is plain C++: the compiler packs 4 scalar chains per SSE register, so it
// gets 48 chains (12 registers) to be throughput-bound like the others.
constexpr int kChains = 16;
constexpr int kChainsAvx2 = 12;
constexpr int kChainsGeneric = 48;

float run_generic(int64_t iters) {
  float acc[kChainsGeneric];
  for (int c = 0; c < kChainsGeneric; ++c) acc[c] = 0.01f * c;
  const float a = 0.999999f, b = 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int c = 0; c < kChainsGeneric; ++c) acc[c] = acc[c] * a + b;
  float s = 0;
  for (float v : acc) s += v;
  return s;
}

#if SINAPSE_X86
SINAPSE_TARGET_AVX2 float run_avx2(int64_t iters) {
  __m256 acc[kChainsAvx2];
  for (int c = 0; c < kChainsAvx2; ++c) acc[c] = _mm256_set1_ps(0.01f * c);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int c = 0; c < kChainsAvx2; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 s = acc[0];
  for (int c = 1; c < kChainsAvx2; ++c) s = _mm256_add_ps(s, acc[c]);
  return _mm256_cvtss_f32(s);
}

SINAPSE_TARGET_AVX512 float run_avx512(int64_t iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.01f * c);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}
#endif

int chains_of(SimdPath path) {
  switch (path) {
    case SimdPath::avx512:
      return kChains;
    case SimdPath::avx2:
      return kChainsAvx2;
    default:
      return kChainsGeneric;
  }
}

int lanes_of(SimdPath path) {
  switch (path) {
    case SimdPath::avx512:
      return 16;
    case SimdPath::avx2:
      return 8;
    default:
      return 1;  // the generic loop is counted as scalar FMAs
  }
}

float run(SimdPath path, int64_t iters) {
  return pick_simd<float (*)(int64_t)>(path, SINAPSE_SIMD_VERSIONS(run_generic, run_avx2, run_avx512))(iters);
}

}  // namespace

FmaPeak measure_fma_peak(SimdPath path, int threads, int64_t iterations) {
  volatile float sink = 0;         // keeps the result alive so the loop cannot be removed
  run(path, iterations / 16 + 1);  // warm-up: wake the cores and let clocks settle
  int team = 1;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  {
    const float r = run(path, iterations);
#pragma omp critical
    {
      sink = sink + r;
#ifdef _OPENMP
      team = omp_get_num_threads();
#endif
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)sink;
  const double flops = 2.0 * chains_of(path) * lanes_of(path) * static_cast<double>(iterations) * team;
  return {flops / secs / 1e9, secs, team, lanes_of(path), chains_of(path), iterations};
}

}  // namespace sinapse::cpu
