// Kernels whose profile is known by hand (tests/test_cuda_profiler.py checks the profiler's
// counts against them): coalesced and strided global accesses, shared-memory bank conflicts and
// broadcasts, divergence and a known number of FMAs. Plain CUDA, through the usual conventions.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../compat.cuh"
#include "../launch.cuh"

namespace sinapse::cuda::profiler_selftest {

namespace {

__device__ int tid() { return static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); }

// One float per lane, consecutive: 128 bytes a warp = 4 sectors per request.
__global__ void copy(const float* in, float* out) { out[tid()] = in[tid()]; }

// Lane i reads in[32 i]: every lane its own sector = 32 sectors per request (ideal 4).
__global__ void gather_stride32(const float* in, float* out) { out[tid()] = in[tid() * 32]; }

// Every lane reads in[0]: 1 sector per request.
__global__ void broadcast(const float* in, float* out) { out[tid()] = in[0]; }

// float4 per lane: 512 bytes a warp = 16 sectors per request.
__global__ void copy_float4(const float* in, float* out) {
  reinterpret_cast<float4*>(out)[tid()] = reinterpret_cast<const float4*>(in)[tid()];
}

// Shared memory, one warp per block: lane i stores word (i * stride) % 1024 and reads it back.
// stride 1: no conflict; 2: 2-way (16 banks, 2 words each); 32: 32-way; 33: none (padding).
template <int kStride>
__global__ void shared_stride(const float* in, float* out) {
  SINAPSE_SHARED(float, buf, [1024 + 64]);
  const int lane = static_cast<int>(threadIdx.x);
  buf[(lane * kStride) % 1024] = in[tid()];
  __syncwarp();
  out[tid()] = buf[(lane * kStride) % 1024];
}

// Every lane reads word 5 (a broadcast: 1 wavefront) after lane 0 wrote it.
__global__ void shared_broadcast(const float* in, float* out) {
  SINAPSE_SHARED(float, buf, [32]);
  if (threadIdx.x == 0) buf[5] = in[0];
  __syncwarp();
  out[tid()] = buf[5];
}

// Lanes 0-7 of each warp take the branch: its instructions run with 8 of 32 lanes active.
__global__ void diverge_quarter(const float* in, float* out) {
  const int i = tid();
  if ((threadIdx.x & 31) < 8) out[i] = in[i] * 3.0f + 1.0f;
}

// 64 dependent FMAs per thread (an unrolled loop the compiler cannot fold).
__global__ void fma64(const float* in, float* out) {
  float a = in[tid()], acc = 0.0f;
#pragma GCC unroll 64
  for (int k = 0; k < 64; ++k) acc = fmaf(acc, a, 1.0f);
  out[tid()] = acc;
}

}  // namespace

// Runs kernel `name` with `blocks` x `threads`.
void run(const std::string& name, const float* in, float* out, unsigned blocks, unsigned threads) {
  const dim3 g(blocks), b(threads);
  if (name == "copy") return launch("copy", copy, g, b, 0, nullptr, in, out);
  if (name == "gather_stride32") return launch("gather_stride32", gather_stride32, g, b, 0, nullptr, in, out);
  if (name == "broadcast") return launch("broadcast", broadcast, g, b, 0, nullptr, in, out);
  if (name == "copy_float4") return launch("copy_float4", copy_float4, g, b, 0, nullptr, in, out);
  if (name == "shared_stride1") return launch("shared_stride1", shared_stride<1>, g, b, 0, nullptr, in, out);
  if (name == "shared_stride2") return launch("shared_stride2", shared_stride<2>, g, b, 0, nullptr, in, out);
  if (name == "shared_stride32") return launch("shared_stride32", shared_stride<32>, g, b, 0, nullptr, in, out);
  if (name == "shared_stride33") return launch("shared_stride33", shared_stride<33>, g, b, 0, nullptr, in, out);
  if (name == "shared_broadcast") return launch("shared_broadcast", shared_broadcast, g, b, 0, nullptr, in, out);
  if (name == "diverge_quarter") return launch("diverge_quarter", diverge_quarter, g, b, 0, nullptr, in, out);
  if (name == "fma64") return launch("fma64", fma64, g, b, 0, nullptr, in, out);
  throw std::invalid_argument("profiler_selftest: unknown kernel '" + name + "'");
}

}  // namespace sinapse::cuda::profiler_selftest
