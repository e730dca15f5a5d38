// The augment family on the GPU. The affine forward is a gather, one thread per output pixel
// (grid-stride), looping over the pixel's channels: the taps (common/augment_args.h) are
// computed once per pixel. The backward is the CPU's scatter split by (image, channel): each
// thread owns one channel plane of one image's dx, so no two threads write the same element and
// the additions happen in the CPU's order (no atomics, deterministic). Flip and brightness are
// one thread per output pixel / element; contrast one thread per (image, channel).
#include "augment.h"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;
dim3 grid_for(int64_t total) {
  const int64_t blocks = (total + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

__device__ __forceinline__ int64_t first_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
__device__ __forceinline__ float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// kMutant 1: the fourth bilinear tap dropped; 2: one write past the end of y.
template <int kMutant = 0>
__global__ void affine_forward_kernel(AffineArgs a, const float* __restrict__ x, const float* __restrict__ t,
                                      float* __restrict__ y) {
  const int64_t total = a.N * a.OH * a.OW;
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t ox = p % a.OW, oy = (p / a.OW) % a.OH, n = p / (a.OW * a.OH);
    AffineTaps taps;
    affine_taps(a, t + 8 * n, ox, oy, taps);
    const int count = kMutant == 1 && taps.count == 4 ? 3 : taps.count;
    const float* img = x + n * a.H * a.W * a.C;
    float* out = y + p * a.C + (kMutant == 2 && p == total - 1 ? a.C : 0);
    for (int64_t c = 0; c < a.C; ++c) {
      float acc = 0.0f;
      for (int k = 0; k < count; ++k) {
        const float v = taps.offset[k] >= 0 ? img[taps.offset[k] * a.C + c] : a.fill_value;
        acc = k == 0 ? taps.weight[k] * v : acc + taps.weight[k] * v;
      }
      out[c] = acc;
    }
  }
}

__global__ void affine_backward_kernel(AffineArgs a, const float* __restrict__ dy, const float* __restrict__ t,
                                       float* __restrict__ dx) {
  const int64_t planes = a.N * a.C;
  for (int64_t q = first_index(); q < planes; q += grid_stride()) {
    const int64_t n = q / a.C, c = q % a.C;
    float* d = dx + n * a.H * a.W * a.C + c;
    for (int64_t i = 0; i < a.H * a.W; ++i) d[i * a.C] = 0.0f;
    const float* g = dy + n * a.OH * a.OW * a.C + c;
    AffineTaps taps;
    for (int64_t oy = 0; oy < a.OH; ++oy)
      for (int64_t ox = 0; ox < a.OW; ++ox) {
        affine_taps(a, t + 8 * n, ox, oy, taps);
        const float v = g[(oy * a.OW + ox) * a.C];
        for (int k = 0; k < taps.count; ++k)
          if (taps.offset[k] >= 0) d[taps.offset[k] * a.C] += taps.weight[k] * v;
      }
  }
}

__global__ void flip_kernel(int64_t N, int64_t H, int64_t W, int64_t C, const uint8_t* __restrict__ hf,
                            const uint8_t* __restrict__ vf, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = N * H * W;
  for (int64_t p = first_index(); p < total; p += grid_stride()) {
    const int64_t w = p % W, h = (p / W) % H, n = p / (W * H);
    const int64_t sh = vf[n] ? H - 1 - h : h, sw = hf[n] ? W - 1 - w : w;
    const float* src = x + ((n * H + sh) * W + sw) * C;
    for (int64_t c = 0; c < C; ++c) y[p * C + c] = src[c];
  }
}

// The mean of channel c of image n (HW pixels of C), accumulated in double as on the CPU.
__device__ float channel_mean(int64_t HW, int64_t C, const float* img, int64_t c) {
  double sum = 0.0;
  for (int64_t i = 0; i < HW; ++i) sum += img[i * C + c];
  return static_cast<float>(sum / static_cast<double>(HW));
}

__global__ void contrast_kernel(int64_t N, int64_t HW, int64_t C, const float* __restrict__ x,
                                const float* __restrict__ f, float lo, float hi, float* __restrict__ y) {
  for (int64_t q = first_index(); q < N * C; q += grid_stride()) {
    const int64_t n = q / C, c = q % C;
    const float* img = x + n * HW * C;
    const float m = channel_mean(HW, C, img, c), fn = f[n];
    for (int64_t i = 0; i < HW; ++i) y[n * HW * C + i * C + c] = clip((img[i * C + c] - m) * fn + m, lo, hi);
  }
}

__global__ void contrast_backward_kernel(int64_t N, int64_t HW, int64_t C, const float* __restrict__ dy,
                                         const float* __restrict__ x, const float* __restrict__ f, float lo, float hi,
                                         float* __restrict__ dx) {
  for (int64_t q = first_index(); q < N * C; q += grid_stride()) {
    const int64_t n = q / C, c = q % C, base = n * HW * C + c;
    const float m = channel_mean(HW, C, x + n * HW * C, c), fn = f[n];
    double gsum = 0.0;
    for (int64_t i = 0; i < HW; ++i) {
      const float z = (x[base + i * C] - m) * fn + m;
      const float g = (z >= lo && z <= hi) ? dy[base + i * C] : 0.0f;
      dx[base + i * C] = g;
      gsum += g;
    }
    const float shift = static_cast<float>((1.0 - static_cast<double>(fn)) * gsum / static_cast<double>(HW));
    for (int64_t i = 0; i < HW; ++i) dx[base + i * C] = fn * dx[base + i * C] + shift;
  }
}

__global__ void brightness_kernel(int64_t N, int64_t per_image, const float* __restrict__ x,
                                  const float* __restrict__ d, float lo, float hi, float* __restrict__ y) {
  for (int64_t i = first_index(); i < N * per_image; i += grid_stride()) y[i] = clip(x[i] + d[i / per_image], lo, hi);
}

__global__ void brightness_backward_kernel(int64_t N, int64_t per_image, const float* __restrict__ dy,
                                           const float* __restrict__ x, const float* __restrict__ d, float lo, float hi,
                                           float* __restrict__ dx) {
  for (int64_t i = first_index(); i < N * per_image; i += grid_stride()) {
    const float z = x[i] + d[i / per_image];
    dx[i] = (z >= lo && z <= hi) ? dy[i] : 0.0f;
  }
}

}  // namespace

void affine_transform(const AffineArgs& a, const float* x, const float* transforms, float* y, cudaStream_t stream) {
  if (a.C == 0) return;
  launch("affine_forward_kernel", affine_forward_kernel<0>, grid_for(a.N * a.OH * a.OW), dim3(kBlock), 0, stream, a, x,
         transforms, y);
}

void affine_transform_backward(const AffineArgs& a, const float* dy, const float* transforms, float* dx,
                               cudaStream_t stream) {
  launch("affine_backward_kernel", affine_backward_kernel, grid_for(a.N * a.C), dim3(kBlock), 0, stream, a, dy,
         transforms, dx);
}

void flip(int64_t N, int64_t H, int64_t W, int64_t C, const uint8_t* hflags, const uint8_t* vflags, const float* x,
          float* y, cudaStream_t stream) {
  if (C == 0) return;
  launch("flip_kernel", flip_kernel, grid_for(N * H * W), dim3(kBlock), 0, stream, N, H, W, C, hflags, vflags, x, y);
}

void adjust_contrast(int64_t N, int64_t HW, int64_t C, const float* x, const float* factors, float lo, float hi,
                     float* y, cudaStream_t stream) {
  if (HW == 0) return;
  launch("contrast_kernel", contrast_kernel, grid_for(N * C), dim3(kBlock), 0, stream, N, HW, C, x, factors, lo, hi, y);
}

void adjust_contrast_backward(int64_t N, int64_t HW, int64_t C, const float* dy, const float* x, const float* factors,
                              float lo, float hi, float* dx, cudaStream_t stream) {
  if (HW == 0) return;
  launch("contrast_backward_kernel", contrast_backward_kernel, grid_for(N * C), dim3(kBlock), 0, stream, N, HW, C, dy,
         x, factors, lo, hi, dx);
}

void adjust_brightness(int64_t N, int64_t per_image, const float* x, const float* deltas, float lo, float hi, float* y,
                       cudaStream_t stream) {
  if (per_image == 0) return;
  launch("brightness_kernel", brightness_kernel, grid_for(N * per_image), dim3(kBlock), 0, stream, N, per_image, x,
         deltas, lo, hi, y);
}

void adjust_brightness_backward(int64_t N, int64_t per_image, const float* dy, const float* x, const float* deltas,
                                float lo, float hi, float* dx, cudaStream_t stream) {
  if (per_image == 0) return;
  launch("brightness_backward_kernel", brightness_backward_kernel, grid_for(N * per_image), dim3(kBlock), 0, stream, N,
         per_image, dy, x, deltas, lo, hi, dx);
}

#if defined(SINAPSE_SIM)
void affine_transform_mutant(const AffineArgs& a, const float* x, const float* transforms, float* y,
                             const std::string& which) {
  if (which == "last_tap")
    launch("affine_forward_kernel<1>", affine_forward_kernel<1>, grid_for(a.N * a.OH * a.OW), dim3(kBlock), 0, nullptr,
           a, x, transforms, y);
  else if (which == "row_overrun")
    launch("affine_forward_kernel<2>", affine_forward_kernel<2>, grid_for(a.N * a.OH * a.OW), dim3(kBlock), 0, nullptr,
           a, x, transforms, y);
  else
    throw std::invalid_argument("affine_transform_mutant: unknown mutant '" + which + "'");
}
#endif

}  // namespace sinapse::cuda
