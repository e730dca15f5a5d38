// Image resize (nearest / bilinear) and crop over NHWC images on the GPU. CPU twin:
// cpu/resize.h (same contract; all pointers are device pointers). Geometry and sampling:
// common/resize_args.h.
#pragma once

#include <string>

#include "../common/kernel_variant.h"
#include "../common/resize_args.h"
#include "check.h"

namespace sinapse::cuda {

// The forward is one kernel for both variants. The backward is a gather per input element
// (deterministic, no atomics): tuned visits the short range of outputs that can read it
// (resize_outputs_reading), naive tests every output row and column of the image.
void resize_forward(const ResizeArgs& a, const float* x, float* y, KernelVariant variant, cudaStream_t stream);
void resize_backward(const ResizeArgs& a, const float* dy, float* dx, KernelVariant variant, cudaStream_t stream);
void crop_forward(const CropArgs& a, const float* x, float* y, cudaStream_t stream);
// dx = fill outside the window, dy inside it.
void crop_backward(const CropArgs& a, const float* dy, float* dx, float fill, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// Deliberately broken backward kernels ("first_tap_only": the gather drops every output but
// the first reading a pixel; "edge_clamp": the bilinear weight on the last row is lost):
// the tests must catch them.
void resize_backward_mutant(const ResizeArgs& a, const float* dy, float* dx, const std::string& which);
#endif

}  // namespace sinapse::cuda
