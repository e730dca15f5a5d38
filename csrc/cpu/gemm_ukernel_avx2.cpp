// AVX2 + FMA micro-kernel, 6 x 16: the C tile is 6 rows x 2 ymm = 12 accumulators,
// plus 2 registers for the B row and 1 broadcast = 15 of the 16 ymm registers.
// Per k: 2 vector loads + 6 broadcasts feed 12 FMAs; with 2 FMA pipes of latency 4-5,
// 12 independent accumulators keep both pipes full. Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

namespace {

// The kernel body for NV = 2 ymm columns (the 6x16 kernel) or NV = 1 (its left half, for
// edge panels of at most 8 columns). Both read the same packed panels (rows 16 floats apart).
template <int NV>
SINAPSE_TARGET_AVX2 inline void ukernel_6xNV(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                             float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int MR = 6, NR = 16;
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);

  __m256 c[MR][NV];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) c[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(Bp + 8 * v);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + i);
      for (int v = 0; v < NV; ++v) c[i][v] = _mm256_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += MR;
    Bp += NR;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) _mm256_storeu_ps(C + i * ldc + 8 * v, _mm256_mul_ps(va, c[i][v]));
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        float* ci = C + i * ldc + 8 * v;
        _mm256_storeu_ps(ci, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), _mm256_mul_ps(va, c[i][v])));
      }
  }
}

}  // namespace

void sgemm_ukernel_avx2_6x16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                             float beta) {
  ukernel_6xNV<2>(kc, Ap, Bp, C, ldc, alpha, beta);
}

void sgemm_ukernel_avx2_6x16_left8(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                   float beta) {
  ukernel_6xNV<1>(kc, Ap, Bp, C, ldc, alpha, beta);
}

}  // namespace sinapse::cpu
#endif
