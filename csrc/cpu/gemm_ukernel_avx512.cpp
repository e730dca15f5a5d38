// AVX-512 micro-kernels: one template, MR rows x NVP zmm columns (NR = 16 * NVP), for the
// shapes of the per-architecture table (gemm_config.cpp):
//
//   12x32  24 accumulators + 2 B registers; broadcasts folded into the FMAs as {1to16}
//          memory operands: 26-27 of the 32 zmm. Per k 24 FMAs = 12 cycles on 2 FMA pipes
//          (Intel server cores) or 24 on Zen 4's one double-pumped 512-bit pipe pair.
//   14x32  28 accumulators + 2: 30 zmm. The model's choice when 2 FMA ports make the k loop
//          short: more FMAs per broadcast (MR*NR/(MR+NR) 9.7 vs 8.7 floats per float loaded).
//   8x48   24 accumulators + 3: fewer broadcasts per FMA (8 per 24 FMAs, vs 12), for cores
//          whose load ports, not FMA pipes, are the tighter limit.
//
// Per k: NVP vector loads of B + MR broadcasts of A feed MR*NVP FMAs; the prefetch runs
// kPrefetchK steps ahead on both panels. Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

namespace {

constexpr int kPrefetchK = 8;

// Stores lanes [0, LANES) of v at p (all 16 without a mask).
template <int LANES>
SINAPSE_TARGET_AVX512 inline void store(float* p, __m512 v) {
  if constexpr (LANES >= 16)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << LANES) - 1), v);
}
template <int LANES>
SINAPSE_TARGET_AVX512 inline __m512 load(const float* p) {
  if constexpr (LANES >= 16)
    return _mm512_loadu_ps(p);
  else
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << LANES) - 1), p);
}

// MR rows, the first COLS columns of a panel NVP zmm wide. COLS = 16 * NVP is the full
// kernel; COLS = 8 * NVP its left half (edge panels), computing only ceil(COLS / 16) vectors.
template <int MR, int NVP, int COLS>
SINAPSE_TARGET_AVX512 inline void ukernel(int64_t kc, const float* __restrict Ap, const float* __restrict Bp,
                                          float* __restrict C, int64_t ldc, float alpha, float beta) {
  constexpr int NR = 16 * NVP, NV = (COLS + 15) / 16;
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 16 * v), _MM_HINT_T0);

  __m512 c[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) c[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(Bp + kPrefetchK * NR + 16 * v), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(Ap + kPrefetchK * MR), _MM_HINT_T0);
    __m512 b[NV];
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(Bp + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[i]);
      for (int v = 0; v < NV; ++v) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += MR;
    Bp += NR;
  }

  const __m512 va = _mm512_set1_ps(alpha);
  constexpr int kLastLanes = COLS - 16 * (NV - 1);
  if (beta == 0.0f) {  // C is write-only
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      for (int v = 0; v + 1 < NV; ++v) store<16>(C + i * ldc + 16 * v, _mm512_mul_ps(va, c[i][v]));
      store<kLastLanes>(C + i * ldc + 16 * (NV - 1), _mm512_mul_ps(va, c[i][NV - 1]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      for (int v = 0; v + 1 < NV; ++v) {
        float* ci = C + i * ldc + 16 * v;
        store<16>(ci, _mm512_fmadd_ps(vb, load<16>(ci), _mm512_mul_ps(va, c[i][v])));
      }
      float* ci = C + i * ldc + 16 * (NV - 1);
      store<kLastLanes>(ci, _mm512_fmadd_ps(vb, load<kLastLanes>(ci), _mm512_mul_ps(va, c[i][NV - 1])));
    }
  }
}

}  // namespace

SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_12x32, ukernel<12, 2, 32>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_12x32_left16, ukernel<12, 2, 16>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_14x32, ukernel<14, 2, 32>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_14x32_left16, ukernel<14, 2, 16>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_8x48, ukernel<8, 3, 48>)
SINAPSE_DEFINE_UKERNEL(sgemm_ukernel_avx512_8x48_left24, ukernel<8, 3, 24>)

}  // namespace sinapse::cpu
#endif
