// Element-wise activations: grid-stride loops over the formulas of common/activations.h.
// The kind is uniform across the grid, so the switch inside act::forward never diverges.
#include "activation.h"

#include "launch.cuh"
#include "test_switches.cuh"

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

// PReLU: one thread per element (grid-stride), alpha's entry from common/prelu_args.h.
__global__ void prelu_forward_kernel(PreluArgs p, const float* __restrict__ x, const float* __restrict__ alpha,
                                     float* __restrict__ y) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    y[i] = prelu_value(x[i], alpha[prelu_alpha_index(p, i)]);
}

__global__ void prelu_dx_kernel(PreluArgs p, const float* __restrict__ x, const float* __restrict__ alpha,
                                const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += stride)
    dx[i] = prelu_dx(x[i], alpha[prelu_alpha_index(p, i)], dy[i]);
}

// One thread per alpha entry walks its elements in the CPU kernel's order, in double (as
// bias_backward): the same bits as the CPU, whatever the launch shape.
__global__ void prelu_dalpha_kernel(PreluArgs p, const float* __restrict__ x, const float* __restrict__ dy,
                                    float* __restrict__ dalpha) {
  const int64_t per_entry = p.alpha_size > 0 ? p.n / p.alpha_size : 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t a = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; a < p.alpha_size; a += stride) {
    double sum = 0.0;
    for (int64_t s = 0; s < per_entry; ++s) {
      const int64_t e = prelu_element(p, a, s);
      sum += static_cast<double>(prelu_dalpha_term(x[e], dy[e]));
    }
    dalpha[a] = static_cast<float>(sum);
  }
}

constexpr int kBlock = 256;
dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
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

void prelu_forward(const PreluArgs& p, const float* x, const float* alpha, float* y, cudaStream_t stream) {
  if (p.n == 0) return;
  launch("prelu_forward_kernel", prelu_forward_kernel, grid_for(p.n), dim3(kBlock), 0, stream, p, x, alpha, y);
}

void prelu_backward(const PreluArgs& p, const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                    cudaStream_t stream) {
  if (p.n > 0) launch("prelu_dx_kernel", prelu_dx_kernel, grid_for(p.n), dim3(kBlock), 0, stream, p, x, alpha, dy, dx);
  if (p.alpha_size > 0)
    launch("prelu_dalpha_kernel", prelu_dalpha_kernel, grid_for(p.alpha_size), dim3(kBlock), 0, stream, p, x, dy,
           dalpha);
}

}  // namespace sinapse::cuda
