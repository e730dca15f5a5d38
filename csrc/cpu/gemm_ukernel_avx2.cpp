// AVX2 + FMA micro-kernels: one template, MR rows x NVP ymm columns (NR = 8 * NVP):
//
//   6x16  12 accumulators + 2 B registers + 1 broadcast = 15 of the 16 ymm. Per k 2 loads +
//         6 broadcasts feed 12 FMAs; with 2 FMA pipes of latency 4-5 (Haswell..Zen 4), 12
//         independent accumulators keep both pipes busy (>= 8-10 needed).
//   4x24  12 accumulators + 3 + 1 = 16 ymm: 4 broadcasts per 12 FMAs instead of 6, for
//         cores where the broadcasts' load slots, not the FMA pipes, are the limit.
//
// Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

namespace {

// Lane mask for the first LANES of 8 (maskload/maskstore read the sign bit).
template <int LANES>
SINAPSE_TARGET_AVX2 inline __m256i lane_mask() {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(LANES), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
template <int LANES>
SINAPSE_TARGET_AVX2 inline void store(float* p, __m256 v) {
  if constexpr (LANES >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, lane_mask<LANES>(), v);
}
template <int LANES>
SINAPSE_TARGET_AVX2 inline __m256 load(const float* p) {
  if constexpr (LANES >= 8)
    return _mm256_loadu_ps(p);
  else
    return _mm256_maskload_ps(p, lane_mask<LANES>());
}

// MR rows, the first COLS columns of a panel NVP ymm wide: COLS = 8 * NVP is the full
// kernel, COLS = 4 * NVP its left half (edge panels), computing ceil(COLS / 8) vectors.
template <int MR, int NVP, int COLS>
SINAPSE_TARGET_AVX2 inline void ukernel(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                        float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int NR = 8 * NVP, NV = (COLS + 7) / 8;
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);

  __m256 c[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) c[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(Bp + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + i);
      for (int v = 0; v < NV; ++v) c[i][v] = _mm256_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += MR;
    Bp += NR;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  constexpr int kLastLanes = COLS - 8 * (NV - 1);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      for (int v = 0; v + 1 < NV; ++v) store<8>(C + i * ldc + 8 * v, _mm256_mul_ps(va, c[i][v]));
      store<kLastLanes>(C + i * ldc + 8 * (NV - 1), _mm256_mul_ps(va, c[i][NV - 1]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      for (int v = 0; v + 1 < NV; ++v) {
        float* ci = C + i * ldc + 8 * v;
        store<8>(ci, _mm256_fmadd_ps(vb, load<8>(ci), _mm256_mul_ps(va, c[i][v])));
      }
      float* ci = C + i * ldc + 8 * (NV - 1);
      store<kLastLanes>(ci, _mm256_fmadd_ps(vb, load<kLastLanes>(ci), _mm256_mul_ps(va, c[i][NV - 1])));
    }
  }
}

}  // namespace

SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx2_6x16, ukernel<6, 2, 16>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx2_6x16_left8, ukernel<6, 2, 8>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx2_4x24, ukernel<4, 3, 24>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx2_4x24_left12, ukernel<4, 3, 12>)

}  // namespace sinapse::cpu
#endif
