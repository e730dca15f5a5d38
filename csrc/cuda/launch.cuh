// The one launch helper every CUDA kernel goes through (device code only: include from .cu).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "check.h"

namespace sinapse::cuda {

// Launches `kernel<<<grid, block, shared_bytes, stream>>>(args...)` and checks the launch.
// An empty grid is a no-op (a zero-size launch is an error in CUDA, an empty op is not).
template <typename... KernelArgs, typename... Args>
void launch(const char* name, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<KernelArgs>(args)...);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("CUDA kernel ") + name + "<<<grid=" + dim3_string(grid) +
                             ", block=" + dim3_string(block) + ", shared=" + std::to_string(shared_bytes) +
                             " B>>> failed to launch: " + describe(err));
}

}  // namespace sinapse::cuda
