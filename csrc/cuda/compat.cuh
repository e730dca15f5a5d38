// What every .cu file includes first. It selects the real CUDA runtime (nvcc) or the SIMT
// simulator (host C++ compiler, -DSINAPSE_SIM), and defines the few conventions that keep
// a kernel compilable by both — see docs/ARCHITECTURE.md, "Writing a CUDA kernel here":
//
//   SINAPSE_SHARED(float, tile, [32][33]);   instead of  __shared__ float tile[32][33];
//   SINAPSE_DYNAMIC_SHARED(float, smem);     instead of  extern __shared__ float smem[];
//   launch("name", kernel, grid, block, shared_bytes, stream, args...)   (launch.cuh)
//                                            instead of  kernel<<<grid, block, ...>>>(args...)
//
// Everything else is plain CUDA C++: threadIdx, blockIdx, blockDim, gridDim, __syncthreads,
// __syncwarp, __shfl_*_sync, atomicAdd, float4, __restrict__. Maths is exact on both sides
// (expf, tanhf, x / y: no fast math in either build); an approximate intrinsic (__expf,
// __fdividef, ...) is called by name where measured to matter, and the simulator models it
// with the GPU's error (sim/intrinsics.h).
#pragma once

#if defined(SINAPSE_SIM)
#include "sim/sim.h"
// Under the simulator a checked view (bounds, and races with simulate(racecheck=True)).
#define SINAPSE_SHARED(T, name, dims)                                                                              \
  static char sinapse_shared_key_##name;                                                                           \
  const ::sinapse::sim::SharedView<T dims> name(::sinapse::sim::shared_static<T dims>(&sinapse_shared_key_##name), \
                                                #name)
#define SINAPSE_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::sinapse::sim::shared_dynamic())
#else
#include <cuda_runtime.h>
#define SINAPSE_SHARED(T, name, dims) __shared__ T name dims
#define SINAPSE_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif
