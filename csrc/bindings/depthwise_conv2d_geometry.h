// DepthwiseArgs from the 16 integers sinapse.ops.depthwise_conv2d computes: conv2d's 15
// (conv_geometry.h: N, H, W, C, KH, KW, K, SH, SW, DH, DW, pad_top, pad_left, OH, OW; C and
// K all input and output channels) and G, the groups. Shared by the CPU and CUDA bindings.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

#include "../common/depthwise_conv2d_args.h"
#include "conv_geometry.h"

namespace sinapse::bindings {

using DepthwiseGeometry = std::array<int64_t, 16>;

inline DepthwiseArgs depthwise_args(const DepthwiseGeometry& g) {
  ConvGeometry conv;
  for (std::size_t i = 0; i < conv.size(); ++i) conv[i] = g[i];
  DepthwiseArgs d{conv_args(conv), g[15], 0, 0};
  if (d.G < 1 || d.c.C % d.G || d.c.K % d.G)
    throw std::invalid_argument("depthwise_conv2d: groups must be >= 1 and divide the input and output channels");
  d.CG = d.c.C / d.G;
  d.KG = d.c.K / d.G;
  return d;
}

// x, w and y (or dy) sizes match the geometry (w: KH x KW x CG x K).
inline void check_depthwise_sizes(const DepthwiseArgs& d, int64_t x, int64_t w, int64_t y) {
  const ConvArgs& a = d.c;
  if (x != a.N * a.H * a.W * a.C || w != a.KH * a.KW * d.CG * a.K || y != a.N * a.OH * a.OW * a.K)
    throw std::invalid_argument("depthwise_conv2d: array sizes do not match the geometry");
}

}  // namespace sinapse::bindings
