// The augment family's option names -> enums, for the CPU and CUDA bindings (host only).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "augment_args.h"

namespace sinapse {

// AffineArgs from the geometry (N, H, W, C, OH, OW) and the options, range-checked so a direct
// call into the binding can never index out of bounds.
inline AffineArgs affine_args(const std::array<int64_t, 6>& g, const std::string& interpolation,
                              const std::string& fill_mode, float fill_value) {
  AffineArgs a{g[0], g[1], g[2], g[3], g[4], g[5], AugmentInterpolation::bilinear, AugmentFill::constant, fill_value};
  for (int64_t v : g)
    if (v < 0) throw std::invalid_argument("affine_transform: negative geometry");
  if (a.H < 1 || a.W < 1) throw std::invalid_argument("affine_transform: H and W must be >= 1");
  if (a.H * a.W >= (int64_t{1} << 31)) throw std::invalid_argument("affine_transform: H * W must be < 2**31");
  if (interpolation == "nearest")
    a.interpolation = AugmentInterpolation::nearest;
  else if (interpolation != "bilinear")
    throw std::invalid_argument("affine_transform: interpolation must be 'bilinear' or 'nearest', got '" +
                                interpolation + "'");
  if (fill_mode == "reflect")
    a.fill_mode = AugmentFill::reflect;
  else if (fill_mode == "wrap")
    a.fill_mode = AugmentFill::wrap;
  else if (fill_mode == "nearest")
    a.fill_mode = AugmentFill::nearest;
  else if (fill_mode != "constant")
    throw std::invalid_argument(
        "affine_transform: fill_mode must be 'constant', 'reflect', 'wrap' or 'nearest', got '" + fill_mode + "'");
  return a;
}

}  // namespace sinapse
