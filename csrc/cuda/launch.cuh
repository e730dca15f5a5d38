// The one launch helper every CUDA kernel goes through (include from .cu files).
// Under nvcc it is a checked <<<...>>> launch; under the simulator (SINAPSE_SIM) it runs the
// grid on the CPU, one fiber per CUDA thread (sim/sim.h). Either way an error names the
// kernel and its launch configuration, and a launch past a limit of the target (check.h,
// sm90) fails in both.
#pragma once

#include <cstdint>
#include <string>

#include "check.h"
#include "compat.cuh"

namespace sinapse::cuda {

// Lets `kernel` use up to `bytes` of dynamic shared memory, as CUDA requires above 48 KiB
// (static + dynamic): cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
// bytes). The attribute belongs to the kernel and stays set; call it before the launch. The
// simulator records it and refuses a launch with more than 48 KiB without it, as a GPU does.
template <typename... KernelArgs>
void allow_dynamic_shared(void (*kernel)(KernelArgs...), size_t bytes) {
#if defined(SINAPSE_SIM)
  ::sinapse::sim::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), bytes);
#else
  SINAPSE_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
#endif
}

// The most blocks a launcher that splits its work over several launches puts along one grid
// dimension whose limit is `limit` (sm90::kMaxGridX or kMaxGridYZ). Under the simulator a test
// can lower it (sinapse._cuda_sim.set_grid_chunk) to run the splitting on small tensors.
inline int64_t grid_chunk(int64_t limit) {
#if defined(SINAPSE_SIM)
  return ::sinapse::sim::grid_chunk(limit);
#else
  return limit;
#endif
}

// go(first, count) for consecutive chunks [first, first + count) of [0, total), count <= per_chunk.
template <typename Go>
void for_each_chunk(int64_t total, int64_t per_chunk, Go&& go) {
  for (int64_t first = 0; first < total; first += per_chunk)
    go(first, total - first < per_chunk ? total - first : per_chunk);
}

// Launches `kernel<<<grid, block, shared_bytes, stream>>>(args...)` and checks the launch (and,
// with SINAPSE_CUDA_SYNC=1, the kernel's run: check.h).
// An empty grid is a no-op (a zero-size launch is an error in CUDA, an empty op is not).
template <typename... KernelArgs, typename... Args>
void launch(const char* name, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
#if defined(SINAPSE_SIM)
  (void)stream;
  // Launches here are synchronous already; the setting is still read at the first launch, as
  // on a GPU, so a SINAPSE_CUDA_SYNC the GPU build would refuse is refused here too.
  (void)sync_launches();
  ::sinapse::sim::launch(launch_string(name, grid, block, shared_bytes), kernel, grid, block, shared_bytes,
                         static_cast<KernelArgs>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(static_cast<KernelArgs>(args)...);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error("CUDA kernel " + launch_string(name, grid, block, shared_bytes) +
                             " failed to launch: " + describe(err));
  if (!sync_launches()) return;
  err = cudaStreamSynchronize(stream);  // the kernel's own errors (illegal address, ...) surface here
  if (err != cudaSuccess)
    throw std::runtime_error("CUDA kernel " + launch_string(name, grid, block, shared_bytes) +
                             " failed while running (SINAPSE_CUDA_SYNC=1): " + describe(err));
#endif
}

}  // namespace sinapse::cuda
