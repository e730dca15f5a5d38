// One thread per output element (forward) or input element (backward, a gather: no
// atomics), channel fastest, so a warp reads 32 consecutive channels of one pixel.
//
// Two variants (registry.py). naive: the definition — one thread per element, no loop over
// the grid, and the backward gathers by testing every output window of the image for
// whether it covers the pixel (O(OH*OW) per input element). tuned: grid-stride loops over a
// capped grid, and the backward visits only the windows that cover the pixel
// (pool_outputs_covering: O(KH/SH * KW/SW)). Both add in increasing (oh, ow): same bits.
#include "pooling.h"

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

__device__ __forceinline__ int64_t at(const PoolArgs& p, int64_t n, int64_t h, int64_t w, int64_t c) {
  return ((n * p.H + h) * p.W + w) * p.C + c;
}

__device__ __forceinline__ int64_t out_at(const PoolArgs& p, int64_t n, int64_t oh, int64_t ow, int64_t c) {
  return ((n * p.OH + oh) * p.OW + ow) * p.C + c;
}

// Splits a linear index over (n, a, b, c) with extents (., A, B, C).
__device__ __forceinline__ void unflatten(int64_t i, int64_t A, int64_t B, int64_t C, int64_t& n, int64_t& a,
                                          int64_t& b, int64_t& c) {
  c = i % C;
  i /= C;
  b = i % B;
  i /= B;
  a = i % A;
  n = i / A;
}

// Output element i (flat NHWC index) of max / average pooling: both variants' forward.
__device__ float window_max(const PoolArgs& p, const float* x, int64_t i) {
  int64_t n, oh, ow, c, h0, h1, w0, w1;
  unflatten(i, p.OH, p.OW, p.C, n, oh, ow, c);
  pool_window(p, oh, ow, h0, h1, w0, w1);
  float best = x[at(p, n, h0, w0, c)];
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const float v = x[at(p, n, h, w, c)];
      best = (v > best || v != v) ? v : best;  // strict: first of equal maxima wins; NaN is kept
    }
  return best;
}

__device__ float window_mean(const PoolArgs& p, const float* x, int64_t i) {
  int64_t n, oh, ow, c, h0, h1, w0, w1;
  unflatten(i, p.OH, p.OW, p.C, n, oh, ow, c);
  pool_window(p, oh, ow, h0, h1, w0, w1);
  float sum = 0.0f;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) sum += x[at(p, n, h, w, c)];
  return sum * (1.0f / static_cast<float>((h1 - h0) * (w1 - w0)));
}

__global__ void max_pool2d_forward_kernel(PoolArgs p, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = p.N * p.OH * p.OW * p.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    y[i] = window_max(p, x, i);
}

__device__ bool is_argmax(const PoolArgs& p, const float* x, int64_t n, int64_t oh, int64_t ow, int64_t c, int64_t h,
                          int64_t w) {
  int64_t h0, h1, w0, w1;
  pool_window(p, oh, ow, h0, h1, w0, w1);
  int64_t best_h = h0, best_w = w0;
  float best = x[at(p, n, h0, w0, c)];
  for (int64_t i = h0; i < h1; ++i)
    for (int64_t j = w0; j < w1; ++j) {
      const float v = x[at(p, n, i, j, c)];
      if (v > best || (v != v && best == best)) {  // the first NaN, as the CPU and np.argmax
        best = v;
        best_h = i;
        best_w = j;
      }
    }
  return best_h == h && best_w == w;
}

// kShort: a mutant (SINAPSE_SIM only, test_switches.cuh): the windows' loop stops one row short.
template <bool kShort>
__global__ void max_pool2d_backward_kernel(PoolArgs p, const float* __restrict__ x, const float* __restrict__ dy,
                                           float* __restrict__ dx) {
  const int64_t total = p.N * p.H * p.W * p.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    int64_t n, h, w, c, oh0, oh1, ow0, ow1;
    unflatten(i, p.H, p.W, p.C, n, h, w, c);
    pool_outputs_covering(h, p.KH, p.SH, p.pad_top, p.OH, oh0, oh1);
    pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
    float acc = 0.0f;
    for (int64_t oh = oh0; oh < oh1 - (kShort ? 1 : 0); ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow)
        if (is_argmax(p, x, n, oh, ow, c, h, w)) acc += dy[out_at(p, n, oh, ow, c)];
    dx[i] = acc;
  }
}

__global__ void avg_pool2d_forward_kernel(PoolArgs p, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = p.N * p.OH * p.OW * p.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    y[i] = window_mean(p, x, i);
}

// kCountPad: a mutant (SINAPSE_SIM only): divides by the whole window, padding included (Keras does not).
template <bool kCountPad>
__global__ void avg_pool2d_backward_kernel(PoolArgs p, const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t total = p.N * p.H * p.W * p.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    int64_t n, h, w, c, oh0, oh1, ow0, ow1;
    unflatten(i, p.H, p.W, p.C, n, h, w, c);
    pool_outputs_covering(h, p.KH, p.SH, p.pad_top, p.OH, oh0, oh1);
    pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
    float acc = 0.0f;
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        int64_t h0, h1, w0, w1;
        pool_window(p, oh, ow, h0, h1, w0, w1);
        const int64_t count = kCountPad ? p.KH * p.KW : (h1 - h0) * (w1 - w0);
        acc += dy[out_at(p, n, oh, ow, c)] * (1.0f / static_cast<float>(count));
      }
    dx[i] = acc;
  }
}

// ---- naive: one thread per element, every window tested ----------------------------------

// dx[i] (flat NHWC input index) = the sum, over every output window of its image in (oh, ow)
// order, of share(n, oh, ow, c, window) for the windows that contain the pixel.
template <class Share>
__device__ float gather_all_windows(const PoolArgs& p, int64_t i, Share share) {
  int64_t n, h, w, c;
  unflatten(i, p.H, p.W, p.C, n, h, w, c);
  float acc = 0.0f;
  for (int64_t oh = 0; oh < p.OH; ++oh)
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      int64_t h0, h1, w0, w1;
      pool_window(p, oh, ow, h0, h1, w0, w1);
      if (h >= h0 && h < h1 && w >= w0 && w < w1) acc += share(n, oh, ow, c, h, w, (h1 - h0) * (w1 - w0));
    }
  return acc;
}

__global__ void max_pool2d_forward_naive_kernel(PoolArgs p, const float* x, float* y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < p.N * p.OH * p.OW * p.C) y[i] = window_max(p, x, i);
}

__global__ void max_pool2d_backward_naive_kernel(PoolArgs p, const float* x, const float* dy, float* dx) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.N * p.H * p.W * p.C) return;
  dx[i] = gather_all_windows(p, i, [&](int64_t n, int64_t oh, int64_t ow, int64_t c, int64_t h, int64_t w, int64_t) {
    return is_argmax(p, x, n, oh, ow, c, h, w) ? dy[out_at(p, n, oh, ow, c)] : 0.0f;
  });
}

__global__ void avg_pool2d_forward_naive_kernel(PoolArgs p, const float* x, float* y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < p.N * p.OH * p.OW * p.C) y[i] = window_mean(p, x, i);
}

__global__ void avg_pool2d_backward_naive_kernel(PoolArgs p, const float* dy, float* dx) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.N * p.H * p.W * p.C) return;
  dx[i] = gather_all_windows(p, i, [&](int64_t n, int64_t oh, int64_t ow, int64_t c, int64_t, int64_t, int64_t count) {
    return dy[out_at(p, n, oh, ow, c)] * (1.0f / static_cast<float>(count));
  });
}

constexpr int kBlock = 256;
dim3 grid_for(int64_t total) {
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}
// The naive kernels' grid: one thread per element, no grid-stride loop.
dim3 grid_all(int64_t total) {
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  if (blocks > 0x7fffffff) throw std::invalid_argument("pooling (naive): more than 2**31 - 1 blocks");
  return dim3(static_cast<unsigned>(blocks));
}

}  // namespace

void max_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("max_pool2d_forward_naive_kernel", max_pool2d_forward_naive_kernel, grid_all(p.N * p.OH * p.OW * p.C),
                  dim3(kBlock), 0, stream, p, x, y);
  launch("max_pool2d_forward_kernel", max_pool2d_forward_kernel, grid_for(p.N * p.OH * p.OW * p.C), dim3(kBlock), 0,
         stream, p, x, y);
}

void max_pool2d_backward(const PoolArgs& p, const float* x, const float* dy, float* dx, KernelVariant variant,
                         cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("max_pool2d_backward_naive_kernel", max_pool2d_backward_naive_kernel, grid_all(p.N * p.H * p.W * p.C),
                  dim3(kBlock), 0, stream, p, x, dy, dx);
  launch("max_pool2d_backward_kernel",
         SINAPSE_MUTANT(max_pool2d_backward_kernel<false>, "max_pool2d_dx_short", max_pool2d_backward_kernel<true>),
         grid_for(p.N * p.H * p.W * p.C), dim3(kBlock), 0, stream, p, x, dy, dx);
}

void avg_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("avg_pool2d_forward_naive_kernel", avg_pool2d_forward_naive_kernel, grid_all(p.N * p.OH * p.OW * p.C),
                  dim3(kBlock), 0, stream, p, x, y);
  launch("avg_pool2d_forward_kernel", avg_pool2d_forward_kernel, grid_for(p.N * p.OH * p.OW * p.C), dim3(kBlock), 0,
         stream, p, x, y);
}

void avg_pool2d_backward(const PoolArgs& p, const float* dy, float* dx, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    return launch("avg_pool2d_backward_naive_kernel", avg_pool2d_backward_naive_kernel, grid_all(p.N * p.H * p.W * p.C),
                  dim3(kBlock), 0, stream, p, dy, dx);
  launch("avg_pool2d_backward_kernel",
         SINAPSE_MUTANT(avg_pool2d_backward_kernel<false>, "avg_pool2d_dx_count_pad", avg_pool2d_backward_kernel<true>),
         grid_for(p.N * p.H * p.W * p.C), dim3(kBlock), 0, stream, p, dy, dx);
}

}  // namespace sinapse::cuda
