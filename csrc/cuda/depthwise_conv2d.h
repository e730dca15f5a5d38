// depthwise_conv2d on the GPU: the contract of cpu/depthwise_conv2d.h (NHWC, grouped HWIO
// weights KH x KW x CG x K, device pointers). Two variants (registry.py):
//   naive  one thread per output value (forward), per input value (dx), per weight (dW: a
//          serial loop over every output pixel) and per channel (db); global memory only
//   tuned  forward: a block computes a tile of 4 x 8 output pixels x 32 channels, its input
//          tile (with the halo) loaded once into shared memory and read by every tap, when
//          each output channel reads one input channel (depthwise) and the tile fits; other
//          layers (groups with several input channels) run the naive forward. dx of a depthwise
//          unit-stride layer: the same tiled kernel on dy with the kernel turned 180 degrees
//          (a forward convolution); other layers the naive gather. dW and db: a block per 32 weights, 8
//          threads each summing a strided share of the output pixels, the 8 partials added
//          in a fixed tree in shared memory.
// Every reduction has a fixed order: the same bits on every run (no atomics).
#pragma once

#include <string>

#include "../common/depthwise_conv2d_args.h"
#include "../common/kernel_variant.h"
#include "check.h"

namespace sinapse::cuda {

void depthwise_conv2d_forward(const DepthwiseArgs& d, const float* x, const float* w, const float* bias, float* y,
                              KernelVariant variant, cudaStream_t stream);
// Any of dx, dw, db may be null.
void depthwise_conv2d_backward(const DepthwiseArgs& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db, KernelVariant variant, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// A deliberately broken tuned forward for the tests: "nosync" drops the barrier between
// loading the input tile and reading it.
void depthwise_conv2d_mutant(const DepthwiseArgs& d, const float* x, const float* w, float* y,
                             const std::string& which);
#endif

}  // namespace sinapse::cuda
