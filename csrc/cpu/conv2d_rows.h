// The KH input rows that output row (n, oh) of a convolution reads, copied with their zero
// padding made explicit (each row wpad pixels wide), so the direct kernels' inner loops
// (conv2d_direct.cpp, conv2d_direct_filter.cpp) need no bounds checks.
#pragma once

#include <algorithm>
#include <cstring>

#include "../common/conv_args.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse::cpu {

[[gnu::always_inline]] inline void fill_padded_rows(const ConvArgs& a, const float* __restrict x, int64_t n, int64_t oh,
                                                    float* __restrict rows, int64_t wpad) {
  for (int64_t i = 0; i < a.KH; ++i) {
    float* r = rows + i * wpad * a.C;
    std::fill(r, r + wpad * a.C, 0.0f);
    const int64_t h = oh * a.SH - a.pad_top + i * a.DH;
    if (h >= 0 && h < a.H) {
      const int64_t first = std::min(a.pad_left, wpad), count = std::min(a.W, wpad - first);
      std::memcpy(r + first * a.C, x + (n * a.H + h) * a.W * a.C, sizeof(float) * count * a.C);
    }
  }
}

// Row width that covers every pixel a tile of `tile` output pixels reads, even past the
// last output (the tail tile), and the whole padded image row.
inline int64_t padded_row_width(const ConvArgs& a, int64_t tile) {
  const int64_t ow_tiles = (a.OW + tile - 1) / tile * tile;
  return std::max<int64_t>((ow_tiles - 1) * a.SW + (a.KW - 1) * a.DW + 1, a.pad_left + a.W);
}

// Whether `floats` of scratch is acceptable for a direct kernel: the scratch (padded rows or
// images) grows with the padding and strides, not with the data, and a legal geometry with
// huge padding (an extent up to 2**31 - 1) would need terabytes. Allowed: a few times the input
// and output plus 64 MiB; past that the caller takes im2col, whose workspace follows the output.
// Sizes in double: the products may exceed int64.
// This thread's index in the enclosing OpenMP team (0 without OpenMP): which slice of the
// per-thread scratch, allocated before the parallel region, it uses.
inline int team_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline bool direct_scratch_within(const ConvArgs& a, double floats) {
  return floats <= 4.0 * a.N * a.H * a.W * a.C + 4.0 * a.N * a.OH * a.OW * a.K + static_cast<double>(1 << 24);
}

}  // namespace sinapse::cpu
