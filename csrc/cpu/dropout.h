// Inverted dropout on the CPU: y = x * mask, mask = (u >= rate) / (1 - rate), with u the
// Philox uniform of the element (common/philox.h). CUDA twin: cuda/dropout.h — same mask
// bits for the same (seed, offset). The backward is the same product applied to dy.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

// Element i uses the uniform (i % 4) of Philox counter block offset + i / 4.
void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, SimdPath path,
             int max_threads);

// dropout_noise.cpp. Channel-wise dropout (Keras's SpatialDropout): x is (rows, inner, channels);
// element (r, p, c) uses the uniform of draw lane + r * channels + c (one per row and channel,
// shared by the `inner` positions), draw d being lane d % 4 of block offset + d / 4.
void dropout_channels(int64_t rows, int64_t inner, int64_t channels, const float* x, float* y, float rate,
                      uint64_t seed, uint64_t offset, uint64_t lane, SimdPath path, int max_threads);
// y = x + stddev * z, z the standard normal of draw lane + i (common/philox_normal.h).
void gaussian_noise(int64_t n, const float* x, float* y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane,
                    SimdPath path, int max_threads);

}  // namespace sinapse::cpu
