// Data augmentation over NHWC batches on the GPU. CPU twin: cpu/augment.h (same arguments,
// the same sampling rule, common/augment_args.h, and the same summation orders).
#pragma once

#include <cstdint>
#include <string>

#include "../common/augment_args.h"
#include "check.h"

namespace sinapse::cuda {

// One thread per output pixel, the channel loop inside.
void affine_transform(const AffineArgs& a, const float* x, const float* transforms, float* y, cudaStream_t stream);
// One thread per (image, channel): it zeroes its plane of dx, then scatters the image's output
// pixels in row-major order (deterministic, no atomics: the CPU's order).
void affine_transform_backward(const AffineArgs& a, const float* dy, const float* transforms, float* dx,
                               cudaStream_t stream);
void flip(int64_t N, int64_t H, int64_t W, int64_t C, const uint8_t* hflags, const uint8_t* vflags, const float* x,
          float* y, cudaStream_t stream);
// One thread per (image, channel): the channel's mean, then its pixels.
void adjust_contrast(int64_t N, int64_t HW, int64_t C, const float* x, const float* factors, float lo, float hi,
                     float* y, cudaStream_t stream);
void adjust_contrast_backward(int64_t N, int64_t HW, int64_t C, const float* dy, const float* x, const float* factors,
                              float lo, float hi, float* dx, cudaStream_t stream);
void adjust_brightness(int64_t N, int64_t per_image, const float* x, const float* deltas, float lo, float hi, float* y,
                       cudaStream_t stream);
void adjust_brightness_backward(int64_t N, int64_t per_image, const float* dy, const float* x, const float* deltas,
                                float lo, float hi, float* dx, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// Deliberately broken forwards (the tests prove they catch them): "last_tap" drops the fourth
// bilinear tap; "row_overrun" lets the last thread of the grid write one pixel past the output.
void affine_transform_mutant(const AffineArgs& a, const float* x, const float* transforms, float* y,
                             const std::string& which);
#endif

}  // namespace sinapse::cuda
