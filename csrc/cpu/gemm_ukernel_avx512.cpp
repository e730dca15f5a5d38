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

SINAPSE_TARGET_AVX512
void sgemm_ukernel_avx512_12x32(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 12;
  constexpr int kPrefetchK = 8;
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 16), _MM_HINT_T0);
  }

  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    // Software prefetch kPrefetchK steps ahead: the B row (2 lines) and the A column.
    _mm_prefetch(reinterpret_cast<const char*>(Bp + kPrefetchK * 32), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(Bp + kPrefetchK * 32 + 16), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(Ap + kPrefetchK * MR), _MM_HINT_T0);
    const __m512 b0 = _mm512_loadu_ps(Bp);
    const __m512 b1 = _mm512_loadu_ps(Bp + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[i]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 32;
  }

  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, _mm512_mul_ps(va, c0[i]));
      _mm512_storeu_ps(C + i * ldc + 16, _mm512_mul_ps(va, c1[i]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      _mm512_storeu_ps(c, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), _mm512_mul_ps(va, c0[i])));
      _mm512_storeu_ps(c + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), _mm512_mul_ps(va, c1[i])));
    }
  }
}

}  // namespace sinapse::cpu
#endif
