// One thread per group of 4 elements: one Philox call gives the group's 4 uniforms, exactly
// as on the CPU, so the masks are bit-identical.
#include "dropout.h"

#include "../common/philox.h"
#include "../common/philox_normal.h"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

__global__ void dropout_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ y, float rate, float scale,
                               uint64_t seed, uint64_t offset) {
  const int64_t groups = (n + 3) / 4;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += stride) {
    float u[4];
    philox::uniform4(seed, offset + static_cast<uint64_t>(g), u);
    const int64_t end = n - 4 * g < 4 ? n - 4 * g : 4;
    for (int64_t j = 0; j < end; ++j) y[4 * g + j] = u[j] >= rate ? x[4 * g + j] * scale : 0.0f;
  }
}

// One thread per element: its (row, channel) draw lane + r * channels + c, recomputed by each of
// the row's `inner` positions (a Philox call is ~20 integer multiplies: cheaper than a second
// pass through memory for a per-channel mask).
__global__ void dropout_channels_kernel(int64_t n, int64_t inner, int64_t channels, const float* __restrict__ x,
                                        float* __restrict__ y, float rate, float scale, uint64_t seed, uint64_t offset,
                                        uint64_t lane) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t r = i / (inner * channels), c = i % channels;
    const uint64_t d = lane + static_cast<uint64_t>(r) * static_cast<uint64_t>(channels) + static_cast<uint64_t>(c);
    float u[4];
    philox::uniform4(seed, offset + d / 4, u);
    y[i] = u[d % 4] >= rate ? x[i] * scale : 0.0f;
  }
}

// One thread per group of 4 draws (one Philox block): the normals of common/philox_normal.h.
__global__ void gaussian_noise_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ y, float stddev,
                                      uint64_t seed, uint64_t offset, uint64_t lane) {
  const int64_t first_block = static_cast<int64_t>(lane / 4), last_block = static_cast<int64_t>((lane + n + 3) / 4);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = first_block + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < last_block;
       b += stride) {
    float z[4];
    philox::normal4(seed, offset + static_cast<uint64_t>(b), z);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * b + j - static_cast<int64_t>(lane);
      if (i >= 0 && i < n) y[i] = fmaf(stddev, z[j], x[i]);
    }
  }
}

dim3 grid_for(int64_t work) {
  constexpr int kBlock = 256;
  const int64_t blocks = (work + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, grid_stride_cap())));
}

}  // namespace

void dropout_channels(int64_t rows, int64_t inner, int64_t channels, const float* x, float* y, float rate,
                      uint64_t seed, uint64_t offset, uint64_t lane, cudaStream_t stream) {
  const int64_t n = rows * inner * channels;
  if (n == 0) return;
  launch("dropout_channels_kernel", dropout_channels_kernel, grid_for(n), dim3(256), 0, stream, n, inner, channels, x,
         y, rate, 1.0f / (1.0f - rate), seed, offset, lane);
}

void gaussian_noise(int64_t n, const float* x, float* y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane,
                    cudaStream_t stream) {
  if (n == 0) return;
  launch("gaussian_noise_kernel", gaussian_noise_kernel, grid_for((n + 7) / 4), dim3(256), 0, stream, n, x, y, stddev,
         seed, offset, lane);
}

void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  constexpr int kBlock = 256;
  const int64_t groups = (n + 3) / 4;
  const int64_t blocks = (groups + kBlock - 1) / kBlock;
  launch("dropout_kernel", dropout_kernel, dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap()))),
         dim3(kBlock), 0, stream, n, x, y, rate, 1.0f / (1.0f - rate), seed, offset);
}

}  // namespace sinapse::cuda
