#include "gemm_pack.h"

#include <cstring>

namespace sinapse::cpu {

void pack_micro_panel(int64_t kc, int64_t width, int W, const float* __restrict src, int64_t w_stride, int64_t k_stride,
                      float* __restrict dst, SimdPath path) {
  if (w_stride == 1) {
    // The panel's rows are contiguous in the source (B not transposed, or A transposed):
    // one memcpy of `width` floats per k.
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * W;
      std::memcpy(d, src + k * k_stride, sizeof(float) * width);
      for (int64_t w = width; w < W; ++w) d[w] = 0.0f;
    }
    return;
  }
#if defined(__x86_64__)
  if (k_stride == 1 && path != SimdPath::generic)
    return pack_micro_panel_transpose_avx2(kc, width, W, src, w_stride, dst);
#else
  (void)path;
#endif
  // Contiguous along k (A not transposed, or B transposed): read each source row once,
  // scatter it with stride W. Blocks of 8 k keep the writes within a few cache lines.
  constexpr int64_t KB = 8;
  for (int64_t k0 = 0; k0 < kc; k0 += KB) {
    const int64_t k1 = k0 + KB < kc ? k0 + KB : kc;
    for (int64_t w = 0; w < width; ++w) {
      const float* s = src + w * w_stride;
      for (int64_t k = k0; k < k1; ++k) dst[k * W + w] = s[k * k_stride];
    }
    for (int64_t w = width; w < W; ++w)
      for (int64_t k = k0; k < k1; ++k) dst[k * W + w] = 0.0f;
  }
}

}  // namespace sinapse::cpu
