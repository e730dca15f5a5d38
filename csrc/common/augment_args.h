// The sampling rule of the augment family's affine transform, shared by the CPU kernels
// (cpu/augment.cpp) and their CUDA twins (cuda/augment.cu): one definition, so both take
// the same taps. It is keras.ops.image.affine_transform as Keras 3's JAX backend computes it
// (jax.scipy.ndimage.map_coordinates, order 0/1): python/sinapse/reference/augment.py.
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"

namespace sinapse {

enum class AugmentInterpolation : int32_t { bilinear = 0, nearest = 1 };
enum class AugmentFill : int32_t { constant = 0, reflect = 1, wrap = 2, nearest = 3 };

// An affine transform of N images (H, W, C) into (OH, OW, C), one transform of 8 numbers
// per image: output (x, y) samples input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
// k = c0 x + c1 y + 1.
struct AffineArgs {
  int64_t N, H, W, C;
  int64_t OH, OW;
  AugmentInterpolation interpolation;
  AugmentFill fill_mode;
  float fill_value;
};

// The taps of one output pixel: `count` (1 or 4) pixels of the image (offset = row * W +
// column, or -1: fill_value, a "constant" tap outside the image) and their weights.
struct AffineTaps {
  int64_t offset[4];
  float weight[4];
  int count;
};

// Coordinates are clamped to +-2**30 (NaN to the low end) before becoming integers, so any
// transform gives valid indices.
SINAPSE_HD_INLINE float clamp_coordinate(float s) {
  constexpr float kLimit = 1073741824.0f;
  return s >= -kLimit ? (s <= kLimit ? s : kLimit) : -kLimit;  // NaN fails the first test
}

// Tap index `i` of an axis of `size` pixels after fill_mode (JAX's index fixers); -1 for a
// "constant" tap outside the image.
SINAPSE_HD_INLINE int64_t fix_index(int64_t i, int64_t size, AugmentFill mode) {
  if (i >= 0 && i < size) return i;  // most taps: no division
  switch (mode) {
    case AugmentFill::constant:
      return -1;
    case AugmentFill::nearest:
      return i < 0 ? 0 : size - 1;
    case AugmentFill::wrap: {
      const int64_t m = i % size;
      return m < 0 ? m + size : m;
    }
    default: {  // reflect: d c b a | a b c d | d c b a, period 2 * size
      int64_t m = i % (2 * size);
      if (m < 0) m += 2 * size;
      return m >= size ? 2 * size - 1 - m : m;
    }
  }
}

// The taps of output pixel (ox, oy) under transform t[0..7].
SINAPSE_HD_INLINE void affine_taps(const AffineArgs& a, const float* t, int64_t ox, int64_t oy, AffineTaps& taps) {
  const float x = static_cast<float>(ox), y = static_cast<float>(oy);
  const float k = t[6] * x + t[7] * y + 1.0f;
  float px = t[0] * x + t[1] * y + t[2], py = t[3] * x + t[4] * y + t[5];
  if (k != 1.0f) {  // projective only: the layers' affine transforms have k = 1 (and p / 1 == p exactly)
    px /= k;
    py /= k;
  }
  const float sx = clamp_coordinate(px);
  const float sy = clamp_coordinate(py);
  if (a.interpolation == AugmentInterpolation::nearest) {
    const int64_t r = fix_index(static_cast<int64_t>(roundf(sy)), a.H, a.fill_mode);  // halves away from 0
    const int64_t c = fix_index(static_cast<int64_t>(roundf(sx)), a.W, a.fill_mode);
    taps.count = 1;
    taps.offset[0] = (r < 0 || c < 0) ? -1 : r * a.W + c;
    taps.weight[0] = 1.0f;
    return;
  }
  const float fy = floorf(sy), fx = floorf(sx);
  const float wy1 = sy - fy, wx1 = sx - fx;
  const float wy[2] = {1.0f - wy1, wy1}, wx[2] = {1.0f - wx1, wx1};
  const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
  taps.count = 4;
  for (int i = 0; i < 2; ++i) {
    const int64_t r = fix_index(y0 + i, a.H, a.fill_mode);
    for (int j = 0; j < 2; ++j) {
      const int64_t c = fix_index(x0 + j, a.W, a.fill_mode);
      taps.offset[2 * i + j] = (r < 0 || c < 0) ? -1 : r * a.W + c;
      taps.weight[2 * i + j] = wy[i] * wx[j];
    }
  }
}

}  // namespace sinapse
