// Kernels that exercise the simulator itself (built into sinapse._cuda_sim only, run by
// tests/test_cuda_sim.py and tests/test_cuda_math.py): warp shuffles, atomics, shared memory,
// vector types, the maths intrinsics, and the errors a GPU would hit. Written as ordinary
// CUDA, through the same conventions.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../compat.cuh"
#include "../launch.cuh"

namespace sinapse::cuda::selftest {

namespace {

__global__ void warp_sum_down(const float* in, float* out) {  // one sum per warp
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[tid];
  for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
  if ((threadIdx.x & 31) == 0) out[tid / 32] = v;
}

__global__ void warp_sum_xor(const float* in, float* out) {  // every lane gets its warp's sum
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[tid];
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
  out[tid] = v;
}

__global__ void broadcast_lane3_width8(const float* in, float* out) {
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  out[tid] = __shfl_sync(0xffffffffu, in[tid], 3, 8);
}

__global__ void scan_up(const float* in, float* out) {  // inclusive prefix sum per warp
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x & 31;
  float v = in[tid];
  for (int d = 1; d < 32; d *= 2) {
    const float u = __shfl_up_sync(0xffffffffu, v, d);
    if (lane >= d) v += u;
  }
  out[tid] = v;
}

__global__ void atomic_sums(const float* in, float* out) {  // out[0] += in[i]; out[1] += 1 (as int)
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(out, in[tid]);
  atomicAdd(reinterpret_cast<int*>(out + 1), 1);
}

__global__ void reverse_dynamic_shared(const float* in, float* out) {
  SINAPSE_DYNAMIC_SHARED(float, buf);
  const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
  buf[t] = in[base + t];
  __syncthreads();
  out[base + t] = buf[blockDim.x - 1 - t];
}

__global__ void read_shared_before_write(const float* in, float* out) {  // poison is visible
  SINAPSE_SHARED(float, buf, [64]);
  (void)in;
  out[blockIdx.x * blockDim.x + threadIdx.x] = buf[threadIdx.x];
}

__global__ void copy_float4(const float* in, float* out) {
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  reinterpret_cast<float4*>(out)[tid] = reinterpret_cast<const float4*>(in)[tid];
}

__global__ void divergent_barrier(const float* in, float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = in[threadIdx.x];
}

__global__ void barrier_after_exit(const float* in, float* out) {
  if (threadIdx.x == 0) return;
  __syncthreads();
  out[threadIdx.x] = in[threadIdx.x];
}

__global__ void lane_not_in_mask(const float* in, float* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, in[threadIdx.x], 0);  // lanes 1..31 are not in the mask
}

__global__ void warp_deadlock(const float* in, float* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0xffffffffu, in[threadIdx.x], 0);  // half the warp
}

// Relies on lockstep warps (no __syncwarp between the write and the neighbour's read):
// correct on old GPUs by accident, wrong under independent thread scheduling — and here.
__global__ void assumes_lockstep(const float* in, float* out) {
  SINAPSE_SHARED(float, buf, [32]);
  const int t = threadIdx.x;
  buf[t] = in[t];
  out[t] = buf[t ^ 1];
}

__global__ void read_past_end(const float* in, float* out) {  // the last thread reads in[n]
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  out[tid] = in[tid + 1];
}

__global__ void write_before_start(const float* in, float* out) {  // thread 0 writes out[-1]
  const int tid = blockIdx.x * blockDim.x + threadIdx.x;
  out[tid - 1] = in[tid];
}

__global__ void stack_overflow(const float* in, float* out) {  // 1 MiB of locals
  volatile float big[256 * 1024];
  for (int i = 0; i < 256 * 1024; i += 1024) big[i] = in[0];
  out[threadIdx.x] = big[threadIdx.x];
}

__global__ void shared_index_out_of_bounds(const float* in, float* out) {
  SINAPSE_SHARED(float, buf, [32]);
  buf[threadIdx.x + 1] = in[threadIdx.x];  // thread 31 writes buf[32]
  __syncthreads();
  out[threadIdx.x] = buf[threadIdx.x];
}

__global__ void throws(const float*, float*) {
  if (blockIdx.x == 1 && threadIdx.x == 5) throw std::runtime_error("thrown from a kernel");
}

// The maths intrinsics' models (sim/intrinsics.h), one value per thread: out[i] = f(in[i]),
// or __fdividef(in[i], in[n + i]) with n the number of threads.
__device__ int global_thread() { return blockIdx.x * blockDim.x + threadIdx.x; }
__global__ void intrinsic_expf(const float* in, float* out) { out[global_thread()] = __expf(in[global_thread()]); }
__global__ void intrinsic_logf(const float* in, float* out) { out[global_thread()] = __logf(in[global_thread()]); }
__global__ void intrinsic_rsqrtf(const float* in, float* out) { out[global_thread()] = rsqrtf(in[global_thread()]); }
__global__ void intrinsic_saturatef(const float* in, float* out) {
  out[global_thread()] = __saturatef(in[global_thread()]);
}
__global__ void intrinsic_fdividef(const float* in, float* out) {
  const int i = global_thread(), n = gridDim.x * blockDim.x;
  out[i] = __fdividef(in[i], in[n + i]);
}

// Launch-limit kernels (tests/test_cuda_launch_limits.py): nothing, or one float per thread
// through `kFloats` floats of static shared memory (48 KiB = 12288 floats).
__global__ void noop(const float*, float*) {}

template <int kFloats>
__global__ void static_shared(const float* in, float* out) {
  SINAPSE_SHARED(float, buf, [kFloats]);
  const int t = threadIdx.x;
  buf[t % kFloats] = in[t];
  __syncthreads();
  out[t] = buf[t % kFloats];
}

// One float per thread through dynamic shared memory (needs 4 bytes per thread of it).
__global__ void dynamic_shared_copy(const float* in, float* out) {
  SINAPSE_DYNAMIC_SHARED(float, buf);
  const int t = threadIdx.x;
  buf[t] = in[t];
  __syncthreads();
  out[t] = buf[t];
}

using Kernel = void (*)(const float*, float*);

struct Entry {
  const char* name;
  Kernel kernel;
  size_t dynamic_shared_per_thread;
};

const Entry kEntries[] = {
    {"warp_sum_down", warp_sum_down, 0},
    {"warp_sum_xor", warp_sum_xor, 0},
    {"broadcast_lane3_width8", broadcast_lane3_width8, 0},
    {"scan_up", scan_up, 0},
    {"atomic_sums", atomic_sums, 0},
    {"reverse_dynamic_shared", reverse_dynamic_shared, sizeof(float)},
    {"read_shared_before_write", read_shared_before_write, 0},
    {"copy_float4", copy_float4, 0},
    {"divergent_barrier", divergent_barrier, 0},
    {"barrier_after_exit", barrier_after_exit, 0},
    {"lane_not_in_mask", lane_not_in_mask, 0},
    {"warp_deadlock", warp_deadlock, 0},
    {"assumes_lockstep", assumes_lockstep, 0},
    {"throws", throws, 0},
    {"shared_index_out_of_bounds", shared_index_out_of_bounds, 0},
    {"read_past_end", read_past_end, 0},
    {"write_before_start", write_before_start, 0},
    {"stack_overflow", stack_overflow, 0},
    {"intrinsic_expf", intrinsic_expf, 0},
    {"intrinsic_logf", intrinsic_logf, 0},
    {"intrinsic_fdividef", intrinsic_fdividef, 0},
    {"intrinsic_rsqrtf", intrinsic_rsqrtf, 0},
    {"intrinsic_saturatef", intrinsic_saturatef, 0},
};

const Entry kShapeEntries[] = {
    {"noop", noop, 0},
    {"static_shared_16k", static_shared<4096>, 0},
    {"static_shared_48k", static_shared<12288>, 0},
    {"static_shared_over_48k", static_shared<12289>, 0},
    {"dynamic_shared_copy", dynamic_shared_copy, 0},
};

}  // namespace

// A launch of any shape, for the launch-limit tests: grid (gx, gy, gz), block (bx, by, bz),
// `dynamic` bytes of dynamic shared memory; opt_in >= 0 first sets the kernel's
// MaxDynamicSharedMemorySize (launch.cuh, allow_dynamic_shared; 0 = back to the default).
void launch_shape(const std::string& name, const float* in, float* out, dim3 grid, dim3 block, size_t dynamic,
                  int64_t opt_in) {
  for (const Entry& e : kShapeEntries)
    if (name == e.name) {
      if (opt_in >= 0) allow_dynamic_shared(e.kernel, static_cast<size_t>(opt_in));
      return launch(e.name, e.kernel, grid, block, dynamic, nullptr, in, out);
    }
  throw std::invalid_argument("selftest: unknown launch-shape kernel '" + name + "'");
}

void run(const std::string& name, const float* in, float* out, unsigned blocks, unsigned threads) {
  for (const Entry& e : kEntries)
    if (name == e.name)
      return launch(e.name, e.kernel, dim3(blocks), dim3(threads), e.dynamic_shared_per_thread * threads, nullptr, in,
                    out);
  throw std::invalid_argument("selftest: unknown kernel '" + name + "'");
}

}  // namespace sinapse::cuda::selftest
