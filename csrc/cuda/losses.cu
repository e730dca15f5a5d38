#include "losses.h"

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

__global__ void loss_rows_kernel(LossArgs a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < a.rows) loss_row(a, i);
}

constexpr int kReduceThreads = 256;

// One block: thread t sums rows t, t + 256, ... in order, then a fixed tree over the 256
// partial sums. The same input always gives the same bits. kShortTree: a mutant (SINAPSE_SIM
// only, test_switches.cuh) whose tree stops one step early (partial[1] never reaches the total).
template <bool kShortTree>
__global__ void sum_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ total) {
  SINAPSE_SHARED(float, partial, [kReduceThreads]);
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += kReduceThreads) s += x[i];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int width = kReduceThreads / 2; width > (kShortTree ? 1 : 0); width /= 2) {
    if (static_cast<int>(threadIdx.x) < width)
      partial[threadIdx.x] = partial[threadIdx.x] + partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) total[0] = partial[0];
}

}  // namespace

void loss(const LossArgs& a, float* total, cudaStream_t stream) {
  constexpr int kBlock = 128;
  launch("loss_rows_kernel", loss_rows_kernel, dim3(static_cast<unsigned>((a.rows + kBlock - 1) / kBlock)),
         dim3(kBlock), 0, stream, a);
  launch("sum_kernel", SINAPSE_MUTANT(sum_kernel<false>, "loss_total_short_tree", sum_kernel<true>), dim3(1),
         dim3(kReduceThreads), 0, stream, a.rows, a.per_row, total);
}

}  // namespace sinapse::cuda
