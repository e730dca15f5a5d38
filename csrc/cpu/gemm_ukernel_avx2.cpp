// AVX2 + FMA micro-kernel, 6 x 16: the C tile is 6 rows x 2 ymm = 12 accumulators,
// plus 2 registers for the B row and 1 broadcast = 15 of the 16 ymm registers.
// Per k: 2 vector loads + 6 broadcasts feed 12 FMAs; with 2 FMA pipes of latency 4-5,
// 12 independent accumulators keep both pipes full. Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

SINAPSE_TARGET_AVX2
void sgemm_ukernel_avx2_6x16(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                             float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 6;
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);

  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(Bp);
    const __m256 b1 = _mm256_loadu_ps(Bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + i);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
    Ap += MR;
    Bp += 16;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, _mm256_mul_ps(va, c0[i]));
      _mm256_storeu_ps(C + i * ldc + 8, _mm256_mul_ps(va, c1[i]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      _mm256_storeu_ps(c, _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), _mm256_mul_ps(va, c0[i])));
      _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), _mm256_mul_ps(va, c1[i])));
    }
  }
}

}  // namespace sinapse::cpu
#endif
