// Per-channel statistics: one thread per channel walks the rows in order (consecutive
// threads read consecutive channels of a row: coalesced; a fixed order: reproducible).
// This is the simple version — a GPU with few channels would want a split reduction.
//
// Two variants (registry.py). naive: one thread per channel does everything for its column
// — statistics, then the normalised outputs (or the gradient sums, then dx) — in one
// launch: only `channels` threads, the write pass as serial as the reduction. tuned: the
// statistics kernel, then one thread per element for y (or dx): the memory-bound write pass
// gets the whole GPU.
#include "batch_norm.h"

#include "../common/batch_norm_column.h"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

// kShort: a mutant (SINAPSE_SIM only, test_switches.cuh) whose sums stop one row short.
template <bool kShort>
__global__ void stats_kernel(int64_t rows, int64_t channels, const float* __restrict__ x, float* running_mean,
                             float* running_var, float momentum, float epsilon, float* save_mean, float* save_invstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < channels)
    batch_norm_column_stats(rows - (kShort ? 1 : 0), channels, c, x, running_mean, running_var, momentum, epsilon,
                            save_mean, save_invstd);
}

__global__ void apply_kernel(int64_t total, int64_t channels, const float* __restrict__ x,
                             const float* __restrict__ gamma, const float* __restrict__ beta,
                             const float* __restrict__ mean, const float* __restrict__ invstd, float* __restrict__ y) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t c = i % channels;
    const float scale = gamma[c] * invstd[c];
    y[i] = (x[i] - mean[c]) * scale + beta[c];  // not folded: an infinite scale would give inf - inf
  }
}

template <bool kShort>
__global__ void grad_sums_kernel(int64_t rows, int64_t channels, const float* __restrict__ x,
                                 const float* __restrict__ dy, const float* __restrict__ mean,
                                 const float* __restrict__ invstd, float* dgamma, float* dbeta) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < channels)
    batch_norm_column_grad_sums(rows - (kShort ? 1 : 0), channels, c, x, dy, mean, invstd, dgamma, dbeta);
}

__global__ void dx_kernel(int64_t total, int64_t rows, int64_t channels, const float* __restrict__ x,
                          const float* __restrict__ dy, const float* __restrict__ gamma, const float* __restrict__ mean,
                          const float* __restrict__ invstd, const float* __restrict__ dgamma,
                          const float* __restrict__ dbeta, bool training, float* __restrict__ dx) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t c = i % channels;
    const float a = training ? dbeta[c] / static_cast<float>(rows) : 0.0f;
    const float b = training ? dgamma[c] / static_cast<float>(rows) : 0.0f;
    // Inference: dx = gamma * invstd * dy does not depend on x (xhat * 0 would turn an inf x into NaN).
    const float xhat = training ? (x[i] - mean[c]) * invstd[c] : 0.0f;
    dx[i] = gamma[c] * invstd[c] * (dy[i] - a - xhat * b);
  }
}

__global__ void invstd_kernel(int64_t channels, const float* __restrict__ running_var, float epsilon,
                              float* __restrict__ invstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < channels) invstd[c] = 1.0f / sqrtf(running_var[c] + epsilon);
}

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(blocks < 65535 ? blocks : 65535));
}
// The grid of the grid-stride kernels (apply, dx): the per-channel ones above need one thread per channel.
dim3 grid_stride_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

// ---- naive: one thread per channel, the whole column ---------------------------------------

__global__ void train_naive_kernel(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                   const float* beta, float* running_mean, float* running_var, float momentum,
                                   float epsilon, float* y, float* save_mean, float* save_invstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  batch_norm_column_stats(rows, channels, c, x, running_mean, running_var, momentum, epsilon, save_mean, save_invstd);
  batch_norm_column_apply(rows, channels, c, x, gamma[c], beta[c], save_mean[c], save_invstd[c], y);
}

__global__ void infer_naive_kernel(int64_t rows, int64_t channels, const float* x, const float* gamma,
                                   const float* beta, const float* running_mean, const float* running_var,
                                   float epsilon, float* y, float* save_invstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  save_invstd[c] = 1.0f / sqrtf(running_var[c] + epsilon);
  batch_norm_column_apply(rows, channels, c, x, gamma[c], beta[c], running_mean[c], save_invstd[c], y);
}

__global__ void backward_naive_kernel(int64_t rows, int64_t channels, const float* x, const float* dy,
                                      const float* gamma, const float* mean, const float* invstd, bool training,
                                      float* dx, float* dgamma, float* dbeta) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  batch_norm_column_grad_sums(rows, channels, c, x, dy, mean, invstd, dgamma, dbeta);
  const float a = training ? dbeta[c] / static_cast<float>(rows) : 0.0f;
  const float b = training ? dgamma[c] / static_cast<float>(rows) : 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r * channels + c;
    // Inference: dx = gamma * invstd * dy does not depend on x (xhat * 0 would turn an inf x into NaN).
    const float xhat = training ? (x[i] - mean[c]) * invstd[c] : 0.0f;
    dx[i] = gamma[c] * invstd[c] * (dy[i] - a - xhat * b);
  }
}

}  // namespace

void batch_norm_apply(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* mean, const float* invstd, float* y, cudaStream_t stream) {
  launch("batch_norm_apply_kernel", apply_kernel, grid_stride_for(rows * channels), dim3(kBlock), 0, stream,
         rows * channels, channels, x, gamma, beta, mean, invstd, y);
}

void batch_norm_train(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                      float* save_mean, float* save_invstd, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("batch_norm_train_naive_kernel", train_naive_kernel, grid_for(channels), dim3(kBlock), 0, stream,
                  rows, channels, x, gamma, beta, running_mean, running_var, momentum, epsilon, y, save_mean,
                  save_invstd);
  launch("batch_norm_stats_kernel", SINAPSE_MUTANT(stats_kernel<false>, "batch_norm_stats_short", stats_kernel<true>),
         grid_for(channels), dim3(kBlock), 0, stream, rows, channels, x, running_mean, running_var, momentum, epsilon,
         save_mean, save_invstd);
  batch_norm_apply(rows, channels, x, gamma, beta, save_mean, save_invstd, y, stream);
}

void batch_norm_infer(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float epsilon, float* y, float* save_invstd,
                      KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("batch_norm_infer_naive_kernel", infer_naive_kernel, grid_for(channels), dim3(kBlock), 0, stream,
                  rows, channels, x, gamma, beta, running_mean, running_var, epsilon, y, save_invstd);
  launch("batch_norm_invstd_kernel", invstd_kernel, grid_for(channels), dim3(kBlock), 0, stream, channels, running_var,
         epsilon, save_invstd);
  batch_norm_apply(rows, channels, x, gamma, beta, running_mean, save_invstd, y, stream);
}

void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                         const float* mean, const float* invstd, bool training, float* dx, float* dgamma, float* dbeta,
                         KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("batch_norm_backward_naive_kernel", backward_naive_kernel, grid_for(channels), dim3(kBlock), 0,
                  stream, rows, channels, x, dy, gamma, mean, invstd, training, dx, dgamma, dbeta);
  launch("batch_norm_grad_sums_kernel",
         SINAPSE_MUTANT(grad_sums_kernel<false>, "batch_norm_sums_short", grad_sums_kernel<true>), grid_for(channels),
         dim3(kBlock), 0, stream, rows, channels, x, dy, mean, invstd, dgamma, dbeta);
  launch("batch_norm_dx_kernel", dx_kernel, grid_stride_for(rows * channels), dim3(kBlock), 0, stream, rows * channels,
         rows, channels, x, dy, gamma, mean, invstd, dgamma, dbeta, training, dx);
}

}  // namespace sinapse::cuda
