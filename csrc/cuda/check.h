// Every CUDA API call and every kernel launch goes through these helpers, so a failure
// becomes a C++ exception (a Python RuntimeError) naming the call or the kernel and its
// launch configuration, instead of a sticky error discovered three ops later.
#pragma once

#if defined(SINAPSE_SIM)
#include "sim/sim.h"
#else
#include <cuda_runtime_api.h>
#endif

#include <stdexcept>
#include <string>

namespace sinapse::cuda {

inline std::string describe(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

// Wraps a CUDA runtime call: SINAPSE_CUDA_CHECK(cudaMemsetAsync(...)).
#define SINAPSE_CUDA_CHECK(call)                                                        \
  do {                                                                                  \
    const cudaError_t sinapse_err_ = (call);                                            \
    if (sinapse_err_ != cudaSuccess)                                                    \
      throw std::runtime_error(std::string("CUDA call `") + #call +                     \
                               "` failed: " + ::sinapse::cuda::describe(sinapse_err_)); \
  } while (0)

inline std::string dim3_string(dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

inline std::string launch_string(const char* name, dim3 grid, dim3 block, size_t shared_bytes) {
  return std::string(name) + "<<<grid=" + dim3_string(grid) + ", block=" + dim3_string(block) +
         ", shared=" + std::to_string(shared_bytes) + " B>>>";
}

}  // namespace sinapse::cuda
