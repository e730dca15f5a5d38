#include "depthwise_conv2d.h"

#include <stdexcept>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kLanes = 32;        // output channels per tuned block (threadIdx.x)
constexpr int kCols = 8;          // output columns per tuned block (threadIdx.y)
constexpr int kRows = 4;          // output rows per tuned block (each thread's loop)
constexpr int kTilePixels = 360;  // input tile pixels that fit: 360 x 32 floats = 45 KiB
constexpr int kTile = kTilePixels * kLanes;
constexpr int kParts = kBlock / kLanes;  // dW / db: threads sharing one weight's sum

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

unsigned capped(int64_t n) { return static_cast<unsigned>(std::clamp<int64_t>(n, 1, grid_stride_cap())); }

// The output index o with o * stride + tap == i + pad, or -1 when there is none in [0, out).
__device__ inline int64_t source(int64_t i, int64_t pad, int64_t tap, int64_t stride, int64_t out) {
  const int64_t t = i + pad - tap;
  if (t < 0 || t % stride != 0) return -1;
  return t / stride < out ? t / stride : -1;
}

// ---- naive: one thread per value, global memory only ----------------------------------------

__global__ void forward_naive_kernel(DepthwiseArgs d, const float* __restrict__ x, const float* __restrict__ w,
                                     const float* __restrict__ bias, float* __restrict__ y) {
  const ConvArgs& a = d.c;
  const int64_t total = a.N * a.OH * a.OW * a.K, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t k = e % a.K, ow = (e / a.K) % a.OW, oh = (e / (a.K * a.OW)) % a.OH, n = e / (a.K * a.OW * a.OH);
    const int64_t c0 = (k / d.KG) * d.CG;
    float acc = bias ? bias[k] : 0.0f;
    for (int64_t kh = 0; kh < a.KH; ++kh) {
      const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH;
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
        const float* wp = w + (kh * a.KW + kw) * d.CG * a.K + k;
        if (ih < 0 || ih >= a.H || iw < 0 || iw >= a.W) {  // padding: a multiplied zero (0 * inf = NaN), as conv2d
          for (int64_t i = 0; i < d.CG; ++i) acc += 0.0f * wp[i * a.K];
          continue;
        }
        const float* xp = x + ((n * a.H + ih) * a.W + iw) * a.C + c0;
        for (int64_t i = 0; i < d.CG; ++i) acc += xp[i] * wp[i * a.K];
      }
    }
    y[e] = acc;
  }
}

// dx: one thread per input value gathers from the outputs that read it (both variants).
__global__ void dx_kernel(DepthwiseArgs d, const float* __restrict__ w, const float* __restrict__ dy,
                          float* __restrict__ dx) {
  const ConvArgs& a = d.c;
  const int64_t total = a.N * a.H * a.W * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t c = e % a.C, iw = (e / a.C) % a.W, ih = (e / (a.C * a.W)) % a.H, n = e / (a.C * a.W * a.H);
    const int64_t k0 = (c / d.CG) * d.KG, i = c % d.CG;
    float acc = 0.0f;
    for (int64_t kh = 0; kh < a.KH; ++kh) {
      const int64_t oh = source(ih, a.pad_top, kh * a.DH, a.SH, a.OH);
      if (oh < 0) continue;
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const int64_t ow = source(iw, a.pad_left, kw * a.DW, a.SW, a.OW);
        if (ow < 0) continue;
        const float* g = dy + ((n * a.OH + oh) * a.OW + ow) * a.K + k0;
        const float* wp = w + ((kh * a.KW + kw) * d.CG + i) * a.K + k0;
        for (int64_t j = 0; j < d.KG; ++j) acc += g[j] * wp[j];
      }
    }
    dx[e] = acc;
  }
}

// x's value under weight e = ((kh * KW + kw) * CG + i) * K + k at output pixel p, or 0 (padding,
// a zero multiplied like any input: 0 * inf = NaN in dW, as conv2d).
__device__ inline float tap_input(const DepthwiseArgs& d, const float* x, int64_t e, int64_t p) {
  const ConvArgs& a = d.c;
  const int64_t k = e % a.K, i = (e / a.K) % d.CG, tap = e / (a.K * d.CG), kw = tap % a.KW, kh = tap / a.KW;
  const int64_t ow = p % a.OW, oh = (p / a.OW) % a.OH, n = p / (a.OW * a.OH);
  const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH, iw = ow * a.SW - a.pad_left + kw * a.DW;
  const bool inside = ih >= 0 && ih < a.H && iw >= 0 && iw < a.W;
  return inside ? x[((n * a.H + ih) * a.W + iw) * a.C + (k / d.KG) * d.CG + i] : 0.0f;
}

// dW: one thread per weight, every output pixel in order.
__global__ void dw_naive_kernel(DepthwiseArgs d, const float* __restrict__ x, const float* __restrict__ dy,
                                float* __restrict__ dw) {
  const ConvArgs& a = d.c;
  const int64_t total = a.KH * a.KW * d.CG * a.K, pixels = a.N * a.OH * a.OW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    float acc = 0.0f;
    for (int64_t p = 0; p < pixels; ++p) {
      acc += tap_input(d, x, e, p) * dy[p * a.K + e % a.K];
    }
    dw[e] = acc;
  }
}

__global__ void db_naive_kernel(DepthwiseArgs d, const float* __restrict__ dy, float* __restrict__ db) {
  const int64_t pixels = d.c.N * d.c.OH * d.c.OW, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < d.c.K; k += stride) {
    float acc = 0.0f;
    for (int64_t p = 0; p < pixels; ++p) acc += dy[p * d.c.K + k];
    db[k] = acc;
  }
}

// ---- tuned ----------------------------------------------------------------------------------

// The input tile of a 4 x 8 output tile: rows and columns with the halo.
__host__ __device__ inline int64_t tile_rows(const ConvArgs& a) { return (kRows - 1) * a.SH + (a.KH - 1) * a.DH + 1; }
__host__ __device__ inline int64_t tile_cols(const ConvArgs& a) { return (kCols - 1) * a.SW + (a.KW - 1) * a.DW + 1; }

// Forward of depthwise layers (CG == 1). Block (32, 8): threadIdx.x an output channel of the
// block's 32, threadIdx.y an output column of the tile's 8; each thread computes the tile's 4
// rows. blockIdx.x picks the 32 channels, blockIdx.y strides over (image, tile) pairs. The 32
// channels read at most 32 input channels (k / KG), loaded once per tile into shared memory
// (zeros outside the image), then each tap reads the tile instead of global memory.
// kTurned: read the kernel turned 180 degrees (dx of a unit-stride layer, below).
template <bool kSync, bool kTurned>
__global__ void forward_tiled_kernel(DepthwiseArgs d, const float* __restrict__ x, const float* __restrict__ w,
                                     const float* __restrict__ bias, float* __restrict__ y) {
  SINAPSE_SHARED(float, tile, [kTile]);
  const ConvArgs& a = d.c;
  const int64_t rows = tile_rows(a), cols = tile_cols(a);
  const int64_t tiles_w = (a.OW + kCols - 1) / kCols, tiles = tiles_w * ((a.OH + kRows - 1) / kRows);
  const int64_t k0 = static_cast<int64_t>(blockIdx.x) * kLanes, k = k0 + threadIdx.x;
  const int64_t c_lo = k0 / d.KG, c_hi = (k0 + kLanes - 1) / d.KG + 1;  // input channels [c_lo, c_hi)
  const int tid = threadIdx.y * kLanes + threadIdx.x;
  for (int64_t job = blockIdx.y; job < a.N * tiles; job += gridDim.y) {
    const int64_t n = job / tiles, t = job % tiles;
    const int64_t oh0 = (t / tiles_w) * kRows, ow0 = (t % tiles_w) * kCols;
    const int64_t ih0 = oh0 * a.SH - a.pad_top, iw0 = ow0 * a.SW - a.pad_left;
    for (int64_t idx = tid; idx < rows * cols * kLanes; idx += kBlock) {
      const int64_t ch = idx % kLanes, pix = idx / kLanes, ih = ih0 + pix / cols, iw = iw0 + pix % cols;
      const bool inside = ih >= 0 && ih < a.H && iw >= 0 && iw < a.W && c_lo + ch < c_hi && c_lo + ch < a.C;
      tile[idx] = inside ? x[((n * a.H + ih) * a.W + iw) * a.C + c_lo + ch] : 0.0f;
    }
    if (kSync) __syncthreads();
    const int64_t ow = ow0 + threadIdx.y;
    if (k < a.K && ow < a.OW) {
      const int64_t ch = k / d.KG - c_lo;
      for (int r = 0; r < kRows; ++r) {
        const int64_t oh = oh0 + r;
        if (oh >= a.OH) break;
        float acc = bias ? bias[k] : 0.0f;
        for (int64_t kh = 0; kh < a.KH; ++kh) {
          const int64_t tr = r * a.SH + kh * a.DH, ih = ih0 + tr;
          // padding: the tile's zero, multiplied (0 * inf = NaN, as conv2d); dx (kTurned) reads
          // zeros for outputs that do not exist, which add nothing
          if (kTurned && (ih < 0 || ih >= a.H)) continue;
          for (int64_t kw = 0; kw < a.KW; ++kw) {
            const int64_t tc = threadIdx.y * a.SW + kw * a.DW, iw = iw0 + tc;
            if (kTurned && (iw < 0 || iw >= a.W)) continue;
            const int64_t tap = kTurned ? (a.KH - 1 - kh) * a.KW + (a.KW - 1 - kw) : kh * a.KW + kw;
            acc += tile[(tr * cols + tc) * kLanes + ch] * w[tap * a.K + k];
          }
        }
        y[((n * a.OH + oh) * a.OW + ow) * a.K + k] = acc;
      }
    }
    __syncthreads();  // the tile is read before the next job overwrites it
  }
}

// dW (kBias false) or db (kBias true): block (32, 8), blockIdx.x picks 32 consecutive weights
// e (or channels), blockIdx.y strides over the taps' rows of the weight array (dW). Thread
// (x, y) sums output pixels y, y + 8, ... in order; the 8 partials are added in a fixed tree.
template <bool kBias>
__global__ void reduce_tuned_kernel(DepthwiseArgs d, const float* __restrict__ x, const float* __restrict__ dy,
                                    float* __restrict__ out) {
  SINAPSE_SHARED(float, part, [kParts][kLanes]);
  const ConvArgs& a = d.c;
  const int64_t pixels = a.N * a.OH * a.OW, per_row = kBias ? a.K : d.CG * a.K, row_count = kBias ? 1 : a.KH * a.KW;
  for (int64_t row = blockIdx.y; row < row_count; row += gridDim.y) {
    const int64_t f = static_cast<int64_t>(blockIdx.x) * kLanes + threadIdx.x, e = row * per_row + f;
    float acc = 0.0f;
    if (f < per_row)
      for (int64_t p = threadIdx.y; p < pixels; p += kParts) {
        if (kBias) {
          acc += dy[p * a.K + f];
        } else {
          acc += tap_input(d, x, e, p) * dy[p * a.K + e % a.K];
        }
      }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    for (int half = kParts / 2; half > 0; half /= 2) {
      if (static_cast<int>(threadIdx.y) < half) part[threadIdx.y][threadIdx.x] += part[threadIdx.y + half][threadIdx.x];
      __syncthreads();
    }
    if (threadIdx.y == 0 && f < per_row) out[e] = part[0][threadIdx.x];
    __syncthreads();  // part is read before the next row overwrites it
  }
}

bool tiled(const DepthwiseArgs& d) { return d.CG == 1 && tile_rows(d.c) * tile_cols(d.c) <= kTilePixels; }

template <bool kSync, bool kTurned = false>
void launch_tiled(const char* name, const DepthwiseArgs& d, const float* x, const float* w, const float* bias, float* y,
                  cudaStream_t stream) {
  const ConvArgs& a = d.c;
  const int64_t tiles = ((a.OW + kCols - 1) / kCols) * ((a.OH + kRows - 1) / kRows);
  const int64_t chunks = (a.K + kLanes - 1) / kLanes;
  if (chunks > 0x7fffffff) throw std::invalid_argument("depthwise_conv2d: more than 2**31 - 1 channel blocks");
  launch(name, forward_tiled_kernel<kSync, kTurned>, dim3(static_cast<unsigned>(chunks), capped(a.N * tiles)),
         dim3(kLanes, kCols), 0, stream, d, x, w, bias, y);
}

// dx of a channel-wise unit-stride layer as a forward of dy (the CPU does the same,
// cpu/depthwise_conv2d_backward.cpp): dx[ih] = sum_kh dy[ih - pad' + kh DH] w[KH - 1 - kh] with
// pad' = (KH - 1) DH - pad, so the tiled kernel runs on dy with the kernel read turned.
DepthwiseArgs turned(const DepthwiseArgs& d) {
  DepthwiseArgs t = d;
  t.c.H = d.c.OH;
  t.c.W = d.c.OW;
  t.c.OH = d.c.H;
  t.c.OW = d.c.W;
  t.c.pad_top = (d.c.KH - 1) * d.c.DH - d.c.pad_top;
  t.c.pad_left = (d.c.KW - 1) * d.c.DW - d.c.pad_left;
  return t;
}

}  // namespace

void depthwise_conv2d_forward(const DepthwiseArgs& d, const float* x, const float* w, const float* bias, float* y,
                              KernelVariant variant, cudaStream_t stream) {
  const ConvArgs& a = d.c;
  if (a.N * a.OH * a.OW * a.K == 0) return;
  if (variant == KernelVariant::tuned && tiled(d))
    return launch_tiled<true>("depthwise_conv2d_forward_tiled_kernel", d, x, w, bias, y, stream);
  launch("depthwise_conv2d_forward_naive_kernel", forward_naive_kernel, grid_for(a.N * a.OH * a.OW * a.K), dim3(kBlock),
         0, stream, d, x, w, bias, y);
}

void depthwise_conv2d_backward(const DepthwiseArgs& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db, KernelVariant variant, cudaStream_t stream) {
  const ConvArgs& a = d.c;
  if (dx && variant == KernelVariant::tuned && d.CG == 1 && d.KG == 1 && a.SH == 1 && a.SW == 1 && tiled(turned(d))) {
    launch_tiled<true, true>("depthwise_conv2d_dx_tiled_kernel", turned(d), dy, w, nullptr, dx, stream);
  } else if (dx) {
    launch("depthwise_conv2d_dx_kernel", dx_kernel, grid_for(a.N * a.H * a.W * a.C), dim3(kBlock), 0, stream, d, w, dy,
           dx);
  }
  const int64_t wsize = a.KH * a.KW * d.CG * a.K;
  if (variant == KernelVariant::naive) {
    if (dw)
      launch("depthwise_conv2d_dw_naive_kernel", dw_naive_kernel, grid_for(wsize), dim3(kBlock), 0, stream, d, x, dy,
             dw);
    if (db)
      launch("depthwise_conv2d_db_naive_kernel", db_naive_kernel, grid_for(a.K), dim3(kBlock), 0, stream, d, dy, db);
    return;
  }
  const int64_t chunks = (d.CG * a.K + kLanes - 1) / kLanes;
  if (chunks > 0x7fffffff) throw std::invalid_argument("depthwise_conv2d: more than 2**31 - 1 weight blocks");
  if (dw)
    launch("depthwise_conv2d_dw_tuned_kernel", reduce_tuned_kernel<false>,
           dim3(static_cast<unsigned>(chunks), capped(a.KH * a.KW)), dim3(kLanes, kParts), 0, stream, d, x, dy, dw);
  if (db)
    launch("depthwise_conv2d_db_tuned_kernel", reduce_tuned_kernel<true>,
           dim3(static_cast<unsigned>((a.K + kLanes - 1) / kLanes), 1), dim3(kLanes, kParts), 0, stream, d, x, dy, db);
}

#if defined(SINAPSE_SIM)
void depthwise_conv2d_mutant(const DepthwiseArgs& d, const float* x, const float* w, float* y,
                             const std::string& which) {
  if (which != "nosync") throw std::invalid_argument("depthwise_conv2d_mutant: unknown mutant '" + which + "'");
  if (!tiled(d)) throw std::invalid_argument("depthwise_conv2d_mutant: the layer does not take the tiled kernel");
  launch_tiled<false>("depthwise_conv2d_forward_tiled_nosync_kernel", d, x, w, nullptr, y, nullptr);
}
#endif

}  // namespace sinapse::cuda
