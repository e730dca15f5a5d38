// PoolArgs from the tuple of 12 integers sinapse.ops.pooling computes (N, H, W, C, KH, KW,
// SH, SW, pad_top, pad_left, OH, OW); shared by the CPU and CUDA bindings.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

#include "../common/pool_args.h"
#include "checked_size.h"

namespace sinapse::bindings {

inline PoolArgs pool_args(const std::array<int64_t, 12>& g) {
  const PoolArgs p{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11]};
  constexpr int64_t kMax = (int64_t{1} << 31) - 1;  // as sinapse.ops checks: products fit int64
  for (int64_t v : g)
    if (v < 0 || v > kMax) throw std::invalid_argument("pooling: geometry value outside [0, 2**31 - 1]");
  if (p.KH < 1 || p.KW < 1 || p.SH < 1 || p.SW < 1)
    throw std::invalid_argument("pooling: window and strides must be >= 1");
  checked_product("pooling", {p.N, p.H, p.W, p.C});  // array sizes must fit int64 before they are compared
  checked_product("pooling", {p.N, p.OH, p.OW, p.C});
  // Every output window must hold at least one real pixel (ops guarantees it).
  if (p.OH > 0 && ((p.OH - 1) * p.SH - p.pad_top >= p.H || (p.OW - 1) * p.SW - p.pad_left >= p.W))
    throw std::invalid_argument("pooling: an output window lies outside the image");
  return p;
}

// The input (x, or dx in the backward) and output (y, or dy) sizes match the geometry.
inline void check_pool_sizes(const PoolArgs& p, int64_t in, int64_t out, bool backward) {
  const int64_t in_size = p.N * p.H * p.W * p.C, out_size = p.N * p.OH * p.OW * p.C;
  if (in != (backward ? out_size : in_size) || out != (backward ? in_size : out_size))
    throw std::invalid_argument("pooling: array sizes do not match the geometry");
}

}  // namespace sinapse::bindings
