// Inverted dropout on the GPU. CPU twin: cpu/dropout.h (identical masks for one seed/offset).
#pragma once

#include <cstdint>

#include "check.h"

namespace sinapse::cuda {

void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, cudaStream_t stream);
// Channel-wise dropout and Gaussian noise: the CPU kernels' draws (cpu/dropout.h), bit for bit.
void dropout_channels(int64_t rows, int64_t inner, int64_t channels, const float* x, float* y, float rate,
                      uint64_t seed, uint64_t offset, uint64_t lane, cudaStream_t stream);
void gaussian_noise(int64_t n, const float* x, float* y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane,
                    cudaStream_t stream);

}  // namespace sinapse::cuda
