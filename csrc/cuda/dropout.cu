// One thread per group of 4 elements: one Philox call gives the group's 4 uniforms, exactly
// as on the CPU, so the masks are bit-identical.
#include "dropout.h"

#include "../common/philox.h"
#include "launch.cuh"

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

}  // namespace

void dropout(int64_t n, const float* x, float* y, float rate, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  constexpr int kBlock = 256;
  const int64_t groups = (n + 3) / 4;
  const int64_t blocks = (groups + kBlock - 1) / kBlock;
  launch("dropout_kernel", dropout_kernel, dim3(static_cast<unsigned>(blocks < 65535 ? blocks : 65535)), dim3(kBlock),
         0, stream, n, x, y, rate, 1.0f / (1.0f - rate), seed, offset);
}

}  // namespace sinapse::cuda
