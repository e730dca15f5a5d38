// Element-wise activations: grid-stride loops over the formulas of common/activations.h.
// The kind is uniform across the grid, so the switch inside act::forward never diverges.
#include "activation.h"

#include "launch.cuh"

namespace sinapse::cuda {

namespace {

__global__ void activation_forward_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ y, int kind,
                                          float alpha) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = act::forward(x[i], static_cast<ActKind>(kind), alpha);
}

__global__ void activation_backward_kernel(int64_t n, const float* __restrict__ x, const float* __restrict__ dy,
                                           float* __restrict__ dx, int kind, float alpha) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dx[i] = dy[i] * act::derivative(x[i], static_cast<ActKind>(kind), alpha);
}

constexpr int kBlock = 256;
dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(blocks < 65535 ? blocks : 65535));
}

}  // namespace

void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, cudaStream_t stream) {
  launch("activation_forward_kernel", activation_forward_kernel, grid_for(n), dim3(kBlock), 0, stream, n, x, y,
         static_cast<int>(kind), alpha);
}

void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         cudaStream_t stream) {
  launch("activation_backward_kernel", activation_backward_kernel, grid_for(n), dim3(kBlock), 0, stream, n, x, dy, dx,
         static_cast<int>(kind), alpha);
}

}  // namespace sinapse::cuda
