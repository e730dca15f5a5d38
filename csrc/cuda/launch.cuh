// The one launch helper every CUDA kernel goes through (include from .cu files).
// Under nvcc it is a checked <<<...>>> launch; under the simulator (SINAPSE_SIM) it runs the
// grid on the CPU, one fiber per CUDA thread (sim/sim.h). Either way an error names the
// kernel and its launch configuration.
#pragma once

#include <string>

#include "check.h"
#include "compat.cuh"

namespace sinapse::cuda {

// Launches `kernel<<<grid, block, shared_bytes, stream>>>(args...)` and checks the launch.
// An empty grid is a no-op (a zero-size launch is an error in CUDA, an empty op is not).
template <typename... KernelArgs, typename... Args>
void launch(const char* name, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
#if defined(SINAPSE_SIM)
  (void)stream;
  ::sinapse::sim::launch(launch_string(name, grid, block, shared_bytes), kernel, grid, block, shared_bytes,
                         static_cast<KernelArgs>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<KernelArgs>(args)...);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error("CUDA kernel " + launch_string(name, grid, block, shared_bytes) +
                             " failed to launch: " + describe(err));
#endif
}

}  // namespace sinapse::cuda
