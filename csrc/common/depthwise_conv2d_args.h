// The geometry of a grouped 2-D convolution over NHWC images, shared by the CPU and CUDA
// depthwise_conv2d kernels. Python (sinapse/ops/depthwise_conv2d.py) computes it once.
//
// Weights are HWIO with I = C / G: KH x KW x CG x K. Output channel k belongs to group
// k / KG and reads input channels [(k / KG) * CG, (k / KG + 1) * CG) (Keras's and PyTorch's
// grouped convolution). A depthwise convolution with depth multiplier M (Keras's
// DepthwiseConv2D, weights KH x KW x C x M) is the case G = C, CG = 1, KG = M: its weights
// are the same memory as KH x KW x 1 x (C * M), and output channel c * M + m reads channel c.
#pragma once

#include <cstdint>

#include "conv_args.h"

namespace sinapse {

struct DepthwiseArgs {
  ConvArgs c;  // N, H, W, C (all input channels), KH, KW, K (all output channels), strides, ...
  int64_t G;   // groups: C and K are multiples of G
  int64_t CG;  // input channels per group, C / G
  int64_t KG;  // output channels per group, K / G
};

}  // namespace sinapse
