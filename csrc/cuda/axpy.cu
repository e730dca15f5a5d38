#include "axpy.h"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {
// Grid-stride loop: any n runs with a bounded grid, and consecutive threads touch
// consecutive floats, so each warp's loads and stores are coalesced.
__global__ void axpy_kernel(int64_t n, float alpha, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] += alpha * x[i];
}
}  // namespace

void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  constexpr int kBlock = 256;
  const int64_t kMaxBlocks = grid_stride_cap();  // 65535 (test_switches.cuh)
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const dim3 grid(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
  launch("axpy_kernel", axpy_kernel, grid, dim3(kBlock), 0, stream, n, alpha, x, y);
}

}  // namespace sinapse::cuda
