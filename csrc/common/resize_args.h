// The geometry of an image resize and of a crop over NHWC images, and the sampling rule,
// shared by the CPU and CUDA kernels. Python (sinapse/ops/resize.py) computes the geometry.
//
// Sampling: Keras 3's keras.ops.image.resize with antialias=False (jax.image.resize, which
// Keras's JAX backend calls): half-pixel centres. Output index o of an axis of `in` -> `out`
// pixels reads the source coordinate src = (o + 0.5) * in / out - 0.5.
//   nearest:  the pixel floor((o + 0.5) * in / out), in integers: ((2o + 1) * in) / (2 * out)
//             (jax's _resize_nearest; for an integer factor f this is o / f, Keras's repeat).
//   bilinear: the triangle kernel on the two pixels around src, the weights renormalised to 1
//             (jax's compute_weight_mat): a src below 0 reads pixel 0 alone, one at or past
//             in - 1 reads pixel in - 1 alone (PyTorch's align_corners=False rule too), an
//             integer src that pixel alone. Only pixels of nonzero weight are read, so a NaN
//             or Inf reaches exactly the outputs that weigh it (jax's dense weight matrices
//             would spread it along the whole axis: 0 * NaN).
#pragma once

#include <cstdint>

#include "macros.h"

namespace sinapse {

struct ResizeArgs {
  int64_t N, H, W, C;  // input
  int64_t OH, OW;      // output
  int64_t bilinear;    // 0: nearest, 1: bilinear
};

struct CropArgs {
  int64_t N, H, W, C;  // the full image (crop's input, crop_backward's output)
  int64_t top, left;   // the window's first row and column
  int64_t OH, OW;      // the window (crop's output)
};

// The two source pixels of output index o along one axis and the weight of the second one
// (the first gets 1 - w1); i0 == i1 and w1 == 0 where one pixel is read.
struct ResizeTap {
  int64_t i0, i1;
  float w1;
};

SINAPSE_HD ResizeTap resize_tap(int64_t o, int64_t in, int64_t out, bool bilinear) {
  if (!bilinear) {
    const int64_t i = ((2 * o + 1) * in) / (2 * out);
    return {i, i, 0.0f};
  }
  // ((2o + 1) * in) / (2 * out) - 0.5 from exact integers: a sample that falls exactly on a
  // pixel comes out exact (an integer), as in the reference.
  const float src = static_cast<float>((2 * o + 1) * in) / static_cast<float>(2 * out) - 0.5f;
  if (src <= 0.0f) return {0, 0, 0.0f};
  const int64_t i0 = static_cast<int64_t>(src);  // floor: src > 0
  if (i0 >= in - 1) return {in - 1, in - 1, 0.0f};
  const float w1 = src - static_cast<float>(i0);  // exact, and < 1
  // A sample exactly on a pixel reads that pixel alone: a NaN or Inf next to it, weighed 0,
  // must not reach the output (0 * inf is NaN; docs/reliability.md, "NaN and Inf").
  return w1 == 0.0f ? ResizeTap{i0, i0, 0.0f} : ResizeTap{i0, i0 + 1, w1};
}

// (1 - w) * a + w * b, but a itself where w == 0 (b, weighed 0, never multiplies: see above).
SINAPSE_HD float resize_lerp(float a, float b, float w) { return w == 0.0f ? a : (1.0f - w) * a + w * b; }

// How much output tap t reads of source pixel i (0 when it does not read it).
SINAPSE_HD float resize_tap_weight(const ResizeTap& t, int64_t i) {
  float w = 0.0f;
  if (t.i0 == i) w += 1.0f - t.w1;
  if (t.i1 == i) w += t.w1;
  return w;
}

// A range of output indices [o0, o1) that holds every output reading source pixel i (a
// superset: the backward gathers over it and skips the zero weights). A reading output has
// src in (i - 1, i + 1), so o lies in ((i - 0.5) * out / in - 0.5, (i + 1.5) * out / in);
// the integer bounds below widen that by a margin for the float rounding of src.
SINAPSE_HD void resize_outputs_reading(int64_t i, int64_t in, int64_t out, int64_t& o0, int64_t& o1) {
  o0 = (i - 1) * out / in - 2;
  o1 = (i + 2) * out / in + 2;
  if (o0 < 0) o0 = 0;
  if (o1 > out) o1 = out;
}

}  // namespace sinapse
