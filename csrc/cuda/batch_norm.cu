// Per-channel statistics: one thread per channel walks the rows in order (consecutive
// threads read consecutive channels of a row: coalesced; a fixed order: reproducible).
// This is the simple version — a GPU with few channels would want a split reduction.
#include "batch_norm.h"

#include "launch.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

__global__ void stats_kernel(int64_t rows, int64_t channels, const float* __restrict__ x, float* running_mean,
                             float* running_var, float momentum, float epsilon, float* save_mean, float* save_invstd) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  double sum = 0.0;
  for (int64_t r = 0; r < rows; ++r) sum += x[r * channels + c];
  const double mean = rows ? sum / rows : 0.0;
  double sq = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const double d = x[r * channels + c] - mean;
    sq += d * d;
  }
  const double var = rows ? sq / rows : 0.0;
  save_mean[c] = static_cast<float>(mean);
  save_invstd[c] = static_cast<float>(1.0 / sqrt(var + epsilon));
  running_mean[c] = momentum * running_mean[c] + (1.0f - momentum) * static_cast<float>(mean);
  running_var[c] = momentum * running_var[c] + (1.0f - momentum) * static_cast<float>(var);
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

__global__ void grad_sums_kernel(int64_t rows, int64_t channels, const float* __restrict__ x,
                                 const float* __restrict__ dy, const float* __restrict__ mean,
                                 const float* __restrict__ invstd, float* dgamma, float* dbeta) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  double s = 0.0, sx = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r * channels + c;
    s += dy[i];
    sx += static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - mean[c]) * invstd[c];
  }
  dbeta[c] = static_cast<float>(s);
  dgamma[c] = static_cast<float>(sx);
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

}  // namespace

void batch_norm_apply(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* mean, const float* invstd, float* y, cudaStream_t stream) {
  launch("batch_norm_apply_kernel", apply_kernel, grid_for(rows * channels), dim3(kBlock), 0, stream, rows * channels,
         channels, x, gamma, beta, mean, invstd, y);
}

void batch_norm_train(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      float* running_mean, float* running_var, float momentum, float epsilon, float* y,
                      float* save_mean, float* save_invstd, cudaStream_t stream) {
  launch("batch_norm_stats_kernel", stats_kernel, grid_for(channels), dim3(kBlock), 0, stream, rows, channels, x,
         running_mean, running_var, momentum, epsilon, save_mean, save_invstd);
  batch_norm_apply(rows, channels, x, gamma, beta, save_mean, save_invstd, y, stream);
}

void batch_norm_infer(int64_t rows, int64_t channels, const float* x, const float* gamma, const float* beta,
                      const float* running_mean, const float* running_var, float epsilon, float* y, float* save_invstd,
                      cudaStream_t stream) {
  launch("batch_norm_invstd_kernel", invstd_kernel, grid_for(channels), dim3(kBlock), 0, stream, channels, running_var,
         epsilon, save_invstd);
  batch_norm_apply(rows, channels, x, gamma, beta, running_mean, save_invstd, y, stream);
}

void batch_norm_backward(int64_t rows, int64_t channels, const float* x, const float* dy, const float* gamma,
                         const float* mean, const float* invstd, bool training, float* dx, float* dgamma, float* dbeta,
                         cudaStream_t stream) {
  launch("batch_norm_grad_sums_kernel", grad_sums_kernel, grid_for(channels), dim3(kBlock), 0, stream, rows, channels,
         x, dy, mean, invstd, dgamma, dbeta);
  launch("batch_norm_dx_kernel", dx_kernel, grid_for(rows * channels), dim3(kBlock), 0, stream, rows * channels, rows,
         channels, x, dy, gamma, mean, invstd, dgamma, dbeta, training, dx);
}

}  // namespace sinapse::cuda
