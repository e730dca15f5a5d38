// Packing: copying a block of op(A) or op(B) into the order the micro-kernel reads it.
//
// Packing turns whatever layout the caller has (row-major, transposed, a sub-block of a
// larger matrix) into contiguous micro-panels, so the micro-kernel's loads are unit-stride,
// aligned and prefetch-friendly, and transposes cost nothing extra. Each panel is padded
// with zeros up to MR (or NR), which lets edge tiles run the same micro-kernel.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

// One micro-panel: dst[k*W + w] = src[w*w_stride + k*k_stride] for k < kc, w < width,
// and dst[k*W + w] = 0 for width <= w < W. `path` picks the SIMD transpose for sources
// that are contiguous along k (k_stride == 1); every other case is a memcpy per k.
void pack_micro_panel(int64_t kc, int64_t width, int W, const float* src, int64_t w_stride, int64_t k_stride,
                      float* dst, SimdPath path);

#if defined(__x86_64__)
// The k-contiguous case with AVX2 8x8 / 4x4 register transposes (gemm_pack_avx2.cpp).
void pack_micro_panel_transpose_avx2(int64_t kc, int64_t width, int W, const float* src, int64_t w_stride, float* dst);
#endif

}  // namespace sinapse::cpu
