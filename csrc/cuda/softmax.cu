// softmax / log_softmax, two variants (registry.py), as llm.c's dev/cuda/softmax_forward.cu:
//   naive  one thread per row walks it three times (max, sum of exp, write): no shared
//          memory, no shuffles — but only `rows` threads, and the reads of a warp are `cols`
//          floats apart (uncoalesced). One thread per output element is not an option: with
//          out == x (allowed) a thread would overwrite x[j] while others still sum over it.
//   tuned  one block of 128 threads per row. Each thread strides over the row; the block
//          then reduces (max, then sum) with warp shuffles and one shared slot per warp —
//          the pattern every row-wise reduction (losses, batch norm) reuses.
#include "softmax.h"

#include <cfloat>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kThreads = 128;  // a multiple of 32: every warp is full
constexpr int kWarps = kThreads / 32;

struct Max {
  __device__ float operator()(float a, float b) const { return a > b ? a : b; }
  static constexpr float identity = -FLT_MAX;
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
  static constexpr float identity = 0.0f;
};

// Reduces v over the block; every thread gets the result. Ends with a barrier, so the
// shared slots can be reused by the next call. kWarpOnly: a mutant (SINAPSE_SIM only,
// test_switches.cuh) that stops at the warp: each warp gets its own partial result.
template <bool kWarpOnly = false, typename Op, typename Slots, typename Total>
__device__ float block_reduce(float v, Op op, Slots&& slots, Total&& total) {
  for (int m = 16; m > 0; m /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, m));
  if (kWarpOnly) return v;
  const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
  if (lane == 0) slots[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < kWarps ? static_cast<float>(slots[lane]) : Op::identity;
    for (int m = 16; m > 0; m /= 2) w = op(w, __shfl_xor_sync(0xffffffffu, w, m));
    if (lane == 0) total[0] = w;
  }
  __syncthreads();
  const float result = total[0];
  __syncthreads();
  return result;
}

// kMutant: 0 = correct; the mutants (SINAPSE_SIM only) leave each thread its own row maximum
// (kMaxUnreduced) or each warp its own sum (kSumWarpOnly).
enum { kMaxUnreduced = 1, kSumWarpOnly };
template <int kMutant>
__global__ void softmax_forward_kernel(int64_t cols, const float* __restrict__ x, float* __restrict__ y, bool log) {
  SINAPSE_SHARED(float, slots, [kWarps]);
  SINAPSE_SHARED(float, total, [1]);
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * cols;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * cols;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) m = m > xr[j] ? m : xr[j];
  if (kMutant != kMaxUnreduced) m = block_reduce(m, Max{}, slots, total);
  // __expf, not expf: measured to matter (H200, 64Mi floats in rows of 1024: 0.135 ms with
  // __expf, 0.144 ms with expf, 0.131 ms with all of --use_fast_math; rows of 128 and 8192 are
  // limited elsewhere). The argument is <= 0, and the sum is dominated by the terms near 0,
  // where __expf is within 2 + floor(1.173 |x|) ulp; sim/intrinsics.h models that error, so
  // the tests hold for it.
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) s += __expf(xr[j] - m);
  s = block_reduce < kMutant == kSumWarpOnly > (s, Sum{}, slots, total);
  if (log) {  // (x - m) - log(sum): both terms small, no cancellation against a large m
    const float log_sum = logf(s);
    for (int64_t j = threadIdx.x; j < cols; j += kThreads) yr[j] = (xr[j] - m) - log_sum;
  } else {
    const float inv = 1.0f / s;
    for (int64_t j = threadIdx.x; j < cols; j += kThreads) yr[j] = __expf(xr[j] - m) * inv;
  }
}

__global__ void softmax_backward_kernel(int64_t cols, const float* __restrict__ y, const float* __restrict__ dy,
                                        float* __restrict__ dx, bool log) {
  SINAPSE_SHARED(float, slots, [kWarps]);
  SINAPSE_SHARED(float, total, [1]);
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) dot += log ? dy[base + j] : dy[base + j] * y[base + j];
  dot = block_reduce(dot, Sum{}, slots, total);
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    dx[base + j] = log ? dy[base + j] - expf(y[base + j]) * dot : y[base + j] * (dy[base + j] - dot);
}

// ---- naive: one thread per row --------------------------------------------------------------

__global__ void softmax_forward_naive_kernel(int64_t rows, int64_t cols, const float* x, float* y, bool log) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* xr = x + r * cols;
  float* yr = y + r * cols;
  float m = -FLT_MAX;
  for (int64_t j = 0; j < cols; ++j) m = m > xr[j] ? m : xr[j];
  float s = 0.0f;
  for (int64_t j = 0; j < cols; ++j) s += expf(xr[j] - m);
  const float log_sum = logf(s), inv = 1.0f / s;
  for (int64_t j = 0; j < cols; ++j) yr[j] = log ? (xr[j] - m) - log_sum : expf(xr[j] - m) * inv;
}

__global__ void softmax_backward_naive_kernel(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx,
                                              bool log) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const int64_t base = r * cols;
  float dot = 0.0f;
  for (int64_t j = 0; j < cols; ++j) dot += log ? dy[base + j] : dy[base + j] * y[base + j];
  for (int64_t j = 0; j < cols; ++j)
    dx[base + j] = log ? dy[base + j] - expf(y[base + j]) * dot : y[base + j] * (dy[base + j] - dot);
}

constexpr int kNaiveBlock = 128;
dim3 naive_grid(int64_t rows) { return dim3(static_cast<unsigned>((rows + kNaiveBlock - 1) / kNaiveBlock)); }

}  // namespace

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, KernelVariant variant,
                     cudaStream_t stream) {
  if (cols == 0) return;
  if (variant == KernelVariant::naive)
    return launch("softmax_forward_naive_kernel", softmax_forward_naive_kernel, naive_grid(rows), dim3(kNaiveBlock), 0,
                  stream, rows, cols, x, y, log);
  launch("softmax_forward_kernel",
         SINAPSE_MUTANT(softmax_forward_kernel<0>, "softmax_max_unreduced", softmax_forward_kernel<kMaxUnreduced>,
                        "softmax_sum_warp_only", softmax_forward_kernel<kSumWarpOnly>),
         dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0, stream, cols, x, y, log);
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      KernelVariant variant, cudaStream_t stream) {
  if (cols == 0) return;
  if (variant == KernelVariant::naive)
    return launch("softmax_backward_naive_kernel", softmax_backward_naive_kernel, naive_grid(rows), dim3(kNaiveBlock),
                  0, stream, rows, cols, y, dy, dx, log);
  launch("softmax_backward_kernel", softmax_backward_kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0,
         stream, cols, y, dy, dx, log);
}

}  // namespace sinapse::cuda
