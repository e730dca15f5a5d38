#include "conv2d.h"

#include "bias.h"
#include "gemm.h"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

// One thread per output element (n, oh, ow, k), k fastest: a warp reads the same input
// pixel (broadcast) and consecutive output channels of w (coalesced).
template <bool kIgnoreLeftPad>
__global__ void forward_kernel(ConvArgs a, const float* __restrict__ x, const float* __restrict__ w,
                               const float* __restrict__ bias, int act, float* __restrict__ y) {
  const int64_t total = a.N * a.OH * a.OW * a.K, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t pad_left = kIgnoreLeftPad ? 0 : a.pad_left;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t k = e % a.K, ow = (e / a.K) % a.OW, oh = (e / (a.K * a.OW)) % a.OH, n = e / (a.K * a.OW * a.OH);
    float acc = 0.0f;
    for (int64_t i = 0; i < a.KH; ++i) {
      const int64_t h = oh * a.SH - a.pad_top + i * a.DH;
      for (int64_t j = 0; j < a.KW; ++j) {
        const int64_t wc = ow * a.SW - pad_left + j * a.DW;
        const float* wp = w + (i * a.KW + j) * a.C * a.K + k;
        if (h < 0 || h >= a.H || wc < 0 || wc >= a.W) {  // padding: a multiplied zero (0 * inf = NaN), as the CPU
          for (int64_t c = 0; c < a.C; ++c) acc += 0.0f * wp[c * a.K];
          continue;
        }
        const float* xp = x + ((n * a.H + h) * a.W + wc) * a.C;
        for (int64_t c = 0; c < a.C; ++c) acc += xp[c] * wp[c * a.K];
      }
    }
    if (bias) acc += bias[k];
    y[e] = act::forward(acc, static_cast<ActKind>(act), 0.0f);
  }
}

// dx: one thread per input element (n, h, w, c) gathers from the outputs that read it.
// kIgnoreTopPad: a mutant (SINAPSE_SIM only, test_switches.cuh) that forgets the top padding.
template <bool kIgnoreTopPad>
__global__ void backward_data_kernel(ConvArgs a, const float* __restrict__ w, const float* __restrict__ dy,
                                     float* __restrict__ dx) {
  const int64_t total = a.N * a.H * a.W * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t c = e % a.C, wc = (e / a.C) % a.W, h = (e / (a.C * a.W)) % a.H, n = e / (a.C * a.W * a.H);
    float acc = 0.0f;
    for (int64_t i = 0; i < a.KH; ++i) {
      const int64_t th = h + (kIgnoreTopPad ? 0 : a.pad_top) - i * a.DH;  // = oh * SH
      if (th < 0 || th % a.SH != 0 || th / a.SH >= a.OH) continue;
      const int64_t oh = th / a.SH;
      for (int64_t j = 0; j < a.KW; ++j) {
        const int64_t tw = wc + a.pad_left - j * a.DW;
        if (tw < 0 || tw % a.SW != 0 || tw / a.SW >= a.OW) continue;
        const int64_t ow = tw / a.SW;
        const float* g = dy + ((n * a.OH + oh) * a.OW + ow) * a.K;
        const float* wp = w + ((i * a.KW + j) * a.C + c) * a.K;
        for (int64_t k = 0; k < a.K; ++k) acc += g[k] * wp[k];
      }
    }
    dx[e] = acc;
  }
}

// dw: one thread per weight (i, j, c, k) sums over every output position.
// kShortBatch: a mutant (SINAPSE_SIM only) whose sum stops one image short.
template <bool kShortBatch>
__global__ void backward_filter_kernel(ConvArgs a, const float* __restrict__ x, const float* __restrict__ dy,
                                       float* __restrict__ dw) {
  const int64_t total = a.KH * a.KW * a.C * a.K, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t k = e % a.K, c = (e / a.K) % a.C, j = (e / (a.K * a.C)) % a.KW, i = e / (a.K * a.C * a.KW);
    float acc = 0.0f;
    for (int64_t n = 0; n < a.N - (kShortBatch ? 1 : 0); ++n)
      for (int64_t oh = 0; oh < a.OH; ++oh) {
        const int64_t h = oh * a.SH - a.pad_top + i * a.DH;
        for (int64_t ow = 0; ow < a.OW; ++ow) {
          const int64_t wc = ow * a.SW - a.pad_left + j * a.DW;
          const bool in = h >= 0 && h < a.H && wc >= 0 && wc < a.W;  // padding: a multiplied zero
          acc += (in ? x[((n * a.H + h) * a.W + wc) * a.C + c] : 0.0f) * dy[((n * a.OH + oh) * a.OW + ow) * a.K + k];
        }
      }
    dw[e] = acc;
  }
}

// 1x1, stride 1, no padding: x (N*H*W x C) is already the cols matrix, y = x @ w a GEMM.
bool is_pointwise(const ConvArgs& a) {
  return a.KH == 1 && a.KW == 1 && a.SH == 1 && a.SW == 1 && a.pad_top == 0 && a.pad_left == 0 && a.OH == a.H &&
         a.OW == a.W;
}

// C (M x N) = op(A) op(B) (+ bias, act) on the tuned GEMM; all matrices dense.
void matmul(int64_t M, int64_t N, int64_t K, const float* A, bool ta, const float* B, bool tb, float* C,
            const float* bias, Activation act, cudaStream_t stream) {
  gemm(make_dense_gemm_args(M, N, K, A, ta, B, tb, C, 0.0f, bias, act), GemmVariant::tuned, stream);
}

}  // namespace

void conv2d_forward(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::tuned && is_pointwise(a))
    return matmul(a.N * a.H * a.W, a.K, a.C, x, false, w, false, y, bias, act, stream);
  const int64_t total = a.N * a.OH * a.OW * a.K;
  launch("conv2d_forward_kernel", forward_kernel<false>, grid_for(total), dim3(kBlock), 0, stream, a, x, w, bias,
         static_cast<int>(act), y);
}

void conv2d_backward(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::tuned && is_pointwise(a) && a.N * a.H * a.W > 0) {
    const int64_t rows = a.N * a.H * a.W;
    if (dx) matmul(rows, a.C, a.K, dy, false, w, true, dx, nullptr, Activation::none, stream);
    if (dw) matmul(a.C, a.K, rows, x, true, dy, false, dw, nullptr, Activation::none, stream);
    if (db) bias_backward(rows, a.K, dy, db, stream);
    return;
  }
  if (dx)
    launch("conv2d_backward_data_kernel",
           SINAPSE_MUTANT(backward_data_kernel<false>, "conv2d_dx_nopad", backward_data_kernel<true>),
           grid_for(a.N * a.H * a.W * a.C), dim3(kBlock), 0, stream, a, w, dy, dx);
  if (dw)
    launch("conv2d_backward_filter_kernel",
           SINAPSE_MUTANT(backward_filter_kernel<false>, "conv2d_dw_short_batch", backward_filter_kernel<true>),
           grid_for(a.KH * a.KW * a.C * a.K), dim3(kBlock), 0, stream, a, x, dy, dw);
  if (db) bias_backward(a.N * a.OH * a.OW, a.K, dy, db, stream);
}

#if defined(SINAPSE_SIM)
void conv2d_mutant(const ConvArgs& a, const float* x, const float* w, float* y, const std::string& which) {
  if (which != "forward_nopad") throw std::invalid_argument("conv2d_mutant: unknown mutant '" + which + "'");
  launch("conv2d_forward_kernel<nopad>", forward_kernel<true>, grid_for(a.N * a.OH * a.OW * a.K), dim3(kBlock), 0,
         nullptr, a, x, w, static_cast<const float*>(nullptr), 0, y);
}
#endif

}  // namespace sinapse::cuda
