// Image resize (nearest / bilinear, Keras 3's sampling) and crop over NHWC images, forward and
// backward, on the CPU. CUDA twin: cuda/resize.h. Geometry and sampling: common/resize_args.h.
//
// resize_forward:  y[n, o, p, c] = sum of the (up to 2 x 2) taps' weights times x.
// resize_backward: dx[n, i, j, c] = the sum over the outputs reading (i, j) of weight * dy,
//                  gathered per input pixel (outputs in increasing (row, column) order): each
//                  dx element has one writer, no atomics, the same bits for any thread count.
// crop_forward:    y[n, o, p, c] = x[n, top + o, left + p, c].
// crop_backward:   dx = fill outside the window, dy inside it (fill 0: the crop's gradient;
//                  another fill: Keras's pad_to_aspect_ratio padding).
#pragma once

#include "../common/cpu_features.h"
#include "../common/kernel_variant.h"
#include "../common/resize_args.h"

namespace sinapse::cpu {

// `variant`: tuned (resize.cpp: threads over rows, separable passes vectorised over W x C), or
// naive (resize_naive.cpp: the definition as loops, one thread).
void resize_forward(const ResizeArgs& a, const float* x, float* y, KernelVariant variant, SimdPath path,
                    int max_threads);
void resize_backward(const ResizeArgs& a, const float* dy, float* dx, KernelVariant variant, SimdPath path,
                     int max_threads);
void resize_forward_naive(const ResizeArgs& a, const float* x, float* y);
void resize_backward_naive(const ResizeArgs& a, const float* dy, float* dx);
void crop_forward(const CropArgs& a, const float* x, float* y, int max_threads);
void crop_backward(const CropArgs& a, const float* dy, float* dx, float fill, int max_threads);

}  // namespace sinapse::cpu
