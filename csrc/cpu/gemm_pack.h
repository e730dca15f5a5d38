// Packing: copying a block of op(A) or op(B) into the order the micro-kernel reads it.
//
// Packing turns whatever layout the caller has (row-major, transposed, a sub-block of a
// larger matrix) into contiguous micro-panels, so the micro-kernel's loads are unit-stride,
// aligned and prefetch-friendly, and transposes cost nothing extra. Each panel is padded
// with zeros up to MR (or NR), which lets edge tiles run the same micro-kernel.
#pragma once

#include <cstdint>

namespace sinapse::cpu {

// One micro-panel: dst[k*W + w] = src[w*w_stride + k*k_stride] for k < kc, w < width,
// and dst[k*W + w] = 0 for width <= w < W.
void pack_micro_panel(int64_t kc, int64_t width, int W, const float* src, int64_t w_stride,
                      int64_t k_stride, float* dst);

}  // namespace sinapse::cpu
