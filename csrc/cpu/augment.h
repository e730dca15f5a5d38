// Data augmentation over whole NHWC batches on the CPU, one call per batch with per-image
// parameters (Keras 3's RandomTranslation/Rotation/Zoom/Crop, RandomFlip, RandomContrast,
// RandomBrightness). CUDA twin: cuda/augment.h. The affine sampling rule is
// common/augment_args.h; the formulas are in python/sinapse/reference/augment.py.
#pragma once

#include <cstdint>

#include "../common/augment_args.h"
#include "../common/cpu_features.h"

namespace sinapse::cpu {

// y (N, OH, OW, C) = x (N, H, W, C) sampled through transforms (N, 8).
void affine_transform(const AffineArgs& a, const float* x, const float* transforms, float* y, SimdPath path,
                      int max_threads);
// dx (N, H, W, C) = the transpose of the forward applied to dy (N, OH, OW, C): each image
// scatters its output pixels' dy in row-major order (one thread per image: deterministic).
void affine_transform_backward(const AffineArgs& a, const float* dy, const float* transforms, float* dx, SimdPath path,
                               int max_threads);

// y[n] = x[n] reversed along W where hflags[n], along H where vflags[n] (bytes 0/1). Its own
// backward (flip dy with the same flags).
void flip(int64_t N, int64_t H, int64_t W, int64_t C, const uint8_t* hflags, const uint8_t* vflags, const float* x,
          float* y, SimdPath path, int max_threads);

// y = clip((x - m) * f[n] + m, lo, hi), m the mean of image n's channel over H and W.
void adjust_contrast(int64_t N, int64_t HW, int64_t C, const float* x, const float* factors, float lo, float hi,
                     float* y, SimdPath path, int max_threads);
// dx = f g + (1 - f) mean_hw(g), g = dy where lo <= (x - m) f + m <= hi, else 0.
void adjust_contrast_backward(int64_t N, int64_t HW, int64_t C, const float* dy, const float* x, const float* factors,
                              float lo, float hi, float* dx, SimdPath path, int max_threads);

// y = clip(x + deltas[n], lo, hi) over image n's `per_image` values.
void adjust_brightness(int64_t N, int64_t per_image, const float* x, const float* deltas, float lo, float hi, float* y,
                       SimdPath path, int max_threads);
// dx = dy where lo <= x + delta <= hi, else 0.
void adjust_brightness_backward(int64_t N, int64_t per_image, const float* dy, const float* x, const float* deltas,
                                float lo, float hi, float* dx, SimdPath path, int max_threads);

}  // namespace sinapse::cpu
