// ResizeArgs / CropArgs from the integer tuples sinapse.ops.resize computes (the fields of
// common/resize_args.h, in order), re-checked so a direct call into the module can never index
// outside its arrays; shared by the CPU and CUDA bindings.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/resize_args.h"
#include "checked_size.h"

namespace sinapse::bindings {

inline void check_resize_values(const int64_t* g, int count, const char* op) {
  constexpr int64_t kMax = (int64_t{1} << 31) - 1;  // as sinapse.ops checks: products fit int64
  for (int k = 0; k < count; ++k)
    if (g[k] < 0 || g[k] > kMax)
      throw std::invalid_argument(std::string(op) + ": geometry value outside [0, 2**31 - 1]");
}

inline ResizeArgs resize_args(const std::array<int64_t, 7>& g) {
  check_resize_values(g.data(), 7, "resize");
  const ResizeArgs a{g[0], g[1], g[2], g[3], g[4], g[5], g[6]};
  if (a.H < 1 || a.W < 1 || a.OH < 1 || a.OW < 1)
    throw std::invalid_argument("resize: input and output sizes must be >= 1");
  if (a.bilinear != 0 && a.bilinear != 1) throw std::invalid_argument("resize: bilinear must be 0 or 1");
  checked_product("resize", {a.N, a.H, a.W, a.C});
  checked_product("resize", {a.N, a.OH, a.OW, a.C});
  return a;
}

inline CropArgs crop_args(const std::array<int64_t, 8>& g) {
  check_resize_values(g.data(), 8, "crop");
  const CropArgs a{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]};
  if (a.top + a.OH > a.H || a.left + a.OW > a.W) throw std::invalid_argument("crop: the window leaves the image");
  checked_product("crop", {a.N, a.H, a.W, a.C});
  return a;
}

// The sizes of the input side (x; dx in the backward) and the output side (y; dy) match.
inline void check_sizes(const char* op, int64_t in, int64_t out, int64_t want_in, int64_t want_out) {
  if (in != want_in || out != want_out)
    throw std::invalid_argument(std::string(op) + ": array sizes do not match the geometry");
}

inline int64_t input_size(const ResizeArgs& a) { return a.N * a.H * a.W * a.C; }
inline int64_t output_size(const ResizeArgs& a) { return a.N * a.OH * a.OW * a.C; }
inline int64_t input_size(const CropArgs& a) { return a.N * a.H * a.W * a.C; }
inline int64_t output_size(const CropArgs& a) { return a.N * a.OH * a.OW * a.C; }

}  // namespace sinapse::bindings
