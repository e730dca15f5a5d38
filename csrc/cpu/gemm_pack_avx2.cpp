// Packing a panel whose source is contiguous along k (A not transposed, B transposed) is a
// transpose: source rows w become destination columns. The portable loop moves one float
// at a time; this version moves 8x8 (and 4x4) blocks through registers with AVX2 shuffles,
// 8 loads + 24 shuffles + 8 stores per 64 floats. Used by the avx2 and avx512 paths.
#include "gemm_pack.h"

#include "../common/macros.h"

#if SINAPSE_X86
#include <immintrin.h>

namespace sinapse::cpu {

namespace {

// dst[k*W + w] = src[w*lds + k] for w < 8, k < 8.
SINAPSE_TARGET_AVX2 inline void transpose_8x8(const float* src, int64_t lds, float* dst, int64_t W) {
  const __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
  const __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
  const __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
  const __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * W, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * W, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * W, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * W, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * W, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * W, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * W, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * W, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// dst[k*W + w] = src[w*lds + k] for w < 4, k < 4.
SINAPSE_TARGET_AVX2 inline void transpose_4x4(const float* src, int64_t lds, float* dst, int64_t W) {
  __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + lds);
  __m128 r2 = _mm_loadu_ps(src + 2 * lds), r3 = _mm_loadu_ps(src + 3 * lds);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(dst, r0);
  _mm_storeu_ps(dst + W, r1);
  _mm_storeu_ps(dst + 2 * W, r2);
  _mm_storeu_ps(dst + 3 * W, r3);
}

}  // namespace

SINAPSE_TARGET_AVX2
void pack_micro_panel_transpose_avx2(int64_t kc, int64_t width, int W, const float* __restrict src, int64_t w_stride,
                                     float* __restrict dst) {
  int64_t w = 0;
  for (; w + 8 <= width; w += 8) {  // 8 source rows at a time
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) transpose_8x8(src + w * w_stride + k, w_stride, dst + k * W + w, W);
    for (; k < kc; ++k)
      for (int64_t x = 0; x < 8; ++x) dst[k * W + w + x] = src[(w + x) * w_stride + k];
  }
  for (; w + 4 <= width; w += 4) {  // then 4
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) transpose_4x4(src + w * w_stride + k, w_stride, dst + k * W + w, W);
    for (; k < kc; ++k)
      for (int64_t x = 0; x < 4; ++x) dst[k * W + w + x] = src[(w + x) * w_stride + k];
  }
  for (; w < width; ++w)  // then one at a time
    for (int64_t k = 0; k < kc; ++k) dst[k * W + w] = src[w * w_stride + k];
  if (width < W)  // zero padding up to the micro-kernel's width
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t x = width; x < W; ++x) dst[k * W + x] = 0.0f;
}

}  // namespace sinapse::cpu
#endif
