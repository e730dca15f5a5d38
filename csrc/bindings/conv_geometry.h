// ConvArgs from the tuple of 15 integers sinapse.ops.conv2d computes (N, H, W, C, KH, KW,
// K, SH, SW, DH, DW, pad_top, pad_left, OH, OW); shared by the CPU and CUDA bindings.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/conv_args.h"
#include "checked_size.h"

namespace sinapse::bindings {

using ConvGeometry = std::array<int64_t, 15>;

inline ConvArgs conv_args(const ConvGeometry& g) {
  const ConvArgs a{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14]};
  // Every value, and the dilated kernel and padded input extents, at most 2**31 - 1 (as
  // sinapse.ops checks first): products of two of them then fit int64, and the kernels'
  // scratch sizes cannot overflow, whoever calls the binding.
  constexpr int64_t kMax = (int64_t{1} << 31) - 1;
  for (int64_t v : g)
    if (v < 0 || v > kMax) throw std::invalid_argument("conv2d: geometry value outside [0, 2**31 - 1]");
  if (a.KH < 1 || a.KW < 1 || a.SH < 1 || a.SW < 1 || a.DH < 1 || a.DW < 1)
    throw std::invalid_argument("conv2d: kernel, strides and dilations must be >= 1");
  if ((a.KH - 1) * a.DH + 1 > kMax || (a.KW - 1) * a.DW + 1 > kMax || a.H + 2 * a.pad_top + a.DH * a.KH > 2 * kMax ||
      a.W + 2 * a.pad_left + a.DW * a.KW > 2 * kMax)
    throw std::invalid_argument("conv2d: dilated kernel or padded input beyond 2**31 - 1");
  // Array sizes (x, w, y, the direct kernels' rows) must fit int64 before they are compared.
  checked_product("conv2d", {a.N, a.H, a.W, a.C});
  checked_product("conv2d", {a.N, a.OH, a.OW, a.K});
  checked_product("conv2d", {a.KH, a.KW, a.C, a.K + 32});
  // (the sum is < 2**63: each term is bounded by the checks above)
  checked_product("conv2d", {a.KH, a.C, (a.OW + 32) * a.SW + a.KW * a.DW + a.pad_left + a.W});
  return a;
}

// x, w and y (or dy) sizes match the geometry.
inline void check_conv_sizes(const ConvArgs& a, int64_t x, int64_t w, int64_t y) {
  if (x != a.N * a.H * a.W * a.C || w != a.KH * a.KW * a.C * a.K || y != a.N * a.OH * a.OW * a.K)
    throw std::invalid_argument("conv2d: array sizes do not match the geometry");
}

}  // namespace sinapse::bindings
