// AVX-512 micro-kernel, 12 x 32: the C tile is 12 rows x 2 zmm = 24 accumulators, plus 2
// registers for the B row and the broadcasts folded into the FMAs as {1to16} memory
// operands: 26-27 of the 32 zmm registers. Per k: 2 vector loads + 12 broadcasts feed
// 24 FMAs = 12 cycles on 2 FMA pipes, while the loads need only 7 of the 2-per-cycle
// load slots, so the FMA pipes, not the loads, set the pace. Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

namespace {

// The kernel body for NV = 2 zmm columns (the 12x32 kernel) or NV = 1 (its left half,
// for edge panels of at most 16 columns: half the FMAs of running the full tile). Both
// read the same packed panels, whose rows are always 32 floats apart.
template <int NV>
SINAPSE_TARGET_AVX512 inline void ukernel_12xNV(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                                float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 12, NR = 32;
  constexpr int kPrefetchK = 8;
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 16 * v), _MM_HINT_T0);

  __m512 c[MR][NV];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) c[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    // Software prefetch kPrefetchK steps ahead: the B row and the A column.
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(Bp + kPrefetchK * NR + 16 * v), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(Ap + kPrefetchK * MR), _MM_HINT_T0);
    __m512 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(Bp + 16 * v);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[i]);
      for (int v = 0; v < NV; ++v) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += MR;
    Bp += NR;
  }

  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + i * ldc + 16 * v, _mm512_mul_ps(va, c[i][v]));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        float* ci = C + i * ldc + 16 * v;
        _mm512_storeu_ps(ci, _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), _mm512_mul_ps(va, c[i][v])));
      }
  }
}

}  // namespace

void sgemm_ukernel_avx512_12x32(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                float beta) {
  ukernel_12xNV<2>(kc, Ap, Bp, C, ldc, alpha, beta);
}

void sgemm_ukernel_avx512_12x32_left16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                       float beta) {
  ukernel_12xNV<1>(kc, Ap, Bp, C, ldc, alpha, beta);
}

}  // namespace sinapse::cpu
#endif
