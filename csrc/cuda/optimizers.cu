// Optimizer updates are element-wise and memory-bound: one thread per element (grid-stride),
// the rule from common/optimizers.h, every array read and written once. The sum of squares
// for gradient clipping is a two-level fixed-order reduction in double (no atomics), so a
// global norm — and every step that depends on it — is reproducible.
#include "optimizers.h"

#include <algorithm>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

template <class V>
__global__ void update_kernel(OptimizerArgs a, int64_t n, float* __restrict__ w, const float* __restrict__ g,
                              float* __restrict__ s0, float* __restrict__ s1, float* __restrict__ s2) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    optim::update_element(V{}, a, i, w, g, s0, s1, s2);
}

// Sums the block's kBlock values of `partial` by a fixed tree; thread 0 gets the total.
// kShortTree: a mutant (SINAPSE_SIM only, test_switches.cuh): the tree stops one step early.
template <bool kShortTree = false, typename Shared>
__device__ double block_sum(Shared& partial) {
  __syncthreads();
  for (int width = kBlock / 2; width > (kShortTree ? 1 : 0); width /= 2) {
    if (static_cast<int>(threadIdx.x) < width)
      partial[threadIdx.x] = partial[threadIdx.x] + partial[threadIdx.x + width];
    __syncthreads();
  }
  return partial[0];
}

template <bool kShortTree>
__global__ void sum_squares_partial_kernel(int64_t n, const float* __restrict__ x, double* __restrict__ partial) {
  SINAPSE_SHARED(double, sums, [kBlock]);
  double s = 0.0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    s += static_cast<double>(x[i]) * x[i];
  sums[threadIdx.x] = s;
  const double total = block_sum<kShortTree>(sums);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// kShort: a mutant (SINAPSE_SIM only) that leaves out the last block's partial sum.
template <bool kShort>
__global__ void sum_squares_finish_kernel(int count, const double* __restrict__ partial, double* __restrict__ out) {
  SINAPSE_SHARED(double, sums, [kBlock]);
  double s = 0.0;
  for (int i = threadIdx.x; i < count - (kShort ? 1 : 0); i += kBlock) s += partial[i];
  sums[threadIdx.x] = s;
  const double total = block_sum(sums);
  if (threadIdx.x == 0) out[0] = total;
}

__global__ void scale_clip_kernel(int64_t n, const float* x, float* y, OptimizerArgs a) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = optim::grad_in(a, x[i], 0.0f);
}

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

const char* kernel_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd:
      return "sgd_update_kernel";
    case OptimizerKind::adagrad:
      return "adagrad_update_kernel";
    case OptimizerKind::adadelta:
      return "adadelta_update_kernel";
    case OptimizerKind::rmsprop:
      return "rmsprop_update_kernel";
    case OptimizerKind::adam:
      return "adam_update_kernel";
  }
  return "optimizer_update_kernel";
}

}  // namespace

void optimizer_update(const OptimizerArgs& args, int64_t n, float* param, const float* grad, float* s0, float* s1,
                      float* s2, cudaStream_t stream) {
  OptimizerArgs a = args;
  if (a.kind == OptimizerKind::adam) a.alpha = optimizer_alpha(a);
  optim::visit_variant(a, [&](auto variant) {
    using V = decltype(variant);
    launch(kernel_name(a.kind), update_kernel<V>, grid_for(n), dim3(kBlock), 0, stream, a, n, param, grad, s0, s1, s2);
  });
}

void sum_squares(int64_t n, const float* x, double* partial, int max_partials, double* out, cudaStream_t stream) {
  // Enough blocks to fill a GPU with 8 elements per thread, at most max_partials.
  const int64_t wanted = (n + kBlock * 8 - 1) / (kBlock * 8);
  const int blocks = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(wanted, max_partials)));
  launch("sum_squares_partial_kernel",
         SINAPSE_MUTANT(sum_squares_partial_kernel<false>, "sum_squares_short_tree", sum_squares_partial_kernel<true>),
         dim3(blocks), dim3(kBlock), 0, stream, n, x, partial);
  launch("sum_squares_finish_kernel",
         SINAPSE_MUTANT(sum_squares_finish_kernel<false>, "sum_squares_finish_short", sum_squares_finish_kernel<true>),
         dim3(1), dim3(kBlock), 0, stream, blocks, partial, out);
}

void scale_clip(int64_t n, const float* x, float* y, float scale, float clipvalue, cudaStream_t stream) {
  OptimizerArgs a;
  a.grad_scale = scale;
  a.clipvalue = clipvalue;
  launch("scale_clip_kernel", scale_clip_kernel, grid_for(n), dim3(kBlock), 0, stream, n, x, y, a);
}

}  // namespace sinapse::cuda
