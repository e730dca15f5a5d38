// The geometry of a 2-D convolution over NHWC images with HWIO weights, shared by the CPU
// and CUDA kernels. Python (sinapse/ops/conv2d.py) computes it once (Keras's "valid" and
// "same", or explicit padding).
#pragma once

#include <cstdint>

namespace sinapse {

struct ConvArgs {
  int64_t N, H, W, C;         // input
  int64_t KH, KW, K;          // kernel rows, columns, output channels (weights KH x KW x C x K)
  int64_t SH, SW;             // strides
  int64_t DH, DW;             // dilations
  int64_t pad_top, pad_left;  // zero padding before the first row / column
  int64_t OH, OW;             // output
};

}  // namespace sinapse
