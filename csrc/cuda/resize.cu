// One thread per element, channel fastest (a warp reads 32 consecutive channels of a pixel:
// coalesced), grid-stride loops over a capped grid. Forward: one thread per output element
// reads its (up to 2 x 2) taps. Backward: one thread per input element gathers weight * dy
// over the outputs reading it (resize_outputs_reading gives a short superset of rows and
// columns; the zero weights are skipped), in increasing (row, column) order: each dx element
// has one writer, so no atomics and the same bits run after run. Crop: a copy per element;
// its backward writes every dx element once (dy inside the window, fill outside).
#include "resize.h"

#include <algorithm>
#include <stdexcept>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

__global__ void resize_forward_kernel(ResizeArgs a, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = a.N * a.OH * a.OW * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const bool bilinear = a.bilinear != 0;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    int64_t i = e;
    const int64_t c = i % a.C;
    i /= a.C;
    const int64_t p = i % a.OW;
    i /= a.OW;
    const int64_t o = i % a.OH, n = i / a.OH;
    const ResizeTap ty = resize_tap(o, a.H, a.OH, bilinear), tx = resize_tap(p, a.W, a.OW, bilinear);
    const float* x0 = x + (n * a.H + ty.i0) * a.W * a.C + c;
    const float* x1 = x + (n * a.H + ty.i1) * a.W * a.C + c;
    const float top = resize_lerp(x0[tx.i0 * a.C], x0[tx.i1 * a.C], tx.w1);
    y[e] = ty.w1 == 0.0f ? top : resize_lerp(top, resize_lerp(x1[tx.i0 * a.C], x1[tx.i1 * a.C], tx.w1), ty.w1);
  }
}

// Mutants (simulator tests only): 1 keeps only the first output reading each pixel per axis,
// 2 drops the bilinear weight of the last input row. kNaive: every output row and column is
// tested (O(OH + OW · rows reading) per element) instead of resize_outputs_reading's range.
template <int kMutant = 0, bool kNaive = false>
__global__ void resize_backward_kernel(ResizeArgs a, const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t total = a.N * a.H * a.W * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const bool bilinear = a.bilinear != 0;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    int64_t i = e;
    const int64_t c = i % a.C;
    i /= a.C;
    const int64_t j = i % a.W;
    i /= a.W;
    const int64_t h = i % a.H, n = i / a.H;
    int64_t o0, o1, p0, p1;
    if constexpr (kNaive) {
      o0 = p0 = 0;
      o1 = a.OH;
      p1 = a.OW;
    } else {
      resize_outputs_reading(h, a.H, a.OH, o0, o1);
      resize_outputs_reading(j, a.W, a.OW, p0, p1);
    }
    float sum = 0.0f;
    for (int64_t o = o0; o < o1; ++o) {
      float wy = resize_tap_weight(resize_tap(o, a.H, a.OH, bilinear), h);
      if constexpr (kMutant == 2)
        if (h == a.H - 1) wy = 0.0f;
      if (wy == 0.0f) continue;
      const float* row = dy + (n * a.OH + o) * a.OW * a.C + c;
      for (int64_t p = p0; p < p1; ++p) {
        const float wx = resize_tap_weight(resize_tap(p, a.W, a.OW, bilinear), j);
        if (wx == 0.0f) continue;
        sum += wy * wx * row[p * a.C];
        if constexpr (kMutant == 1) break;
      }
      if constexpr (kMutant == 1) break;
    }
    dx[e] = sum;
  }
}

__global__ void crop_forward_kernel(CropArgs a, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = a.N * a.OH * a.OW * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    int64_t i = e;
    const int64_t c = i % a.C;
    i /= a.C;
    const int64_t p = i % a.OW;
    i /= a.OW;
    const int64_t o = i % a.OH, n = i / a.OH;
    y[e] = x[((n * a.H + a.top + o) * a.W + a.left + p) * a.C + c];
  }
}

__global__ void crop_backward_kernel(CropArgs a, const float* __restrict__ dy, float* __restrict__ dx, float fill) {
  const int64_t total = a.N * a.H * a.W * a.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    int64_t i = e;
    const int64_t c = i % a.C;
    i /= a.C;
    const int64_t w = i % a.W;
    i /= a.W;
    const int64_t h = i % a.H, n = i / a.H;
    const int64_t o = h - a.top, p = w - a.left;
    const bool inside = o >= 0 && o < a.OH && p >= 0 && p < a.OW;
    dx[e] = inside ? dy[((n * a.OH + o) * a.OW + p) * a.C + c] : fill;
  }
}

template <int kMutant = 0, bool kNaive = false>
void backward(const ResizeArgs& a, const float* dy, float* dx, cudaStream_t stream) {
  launch("resize_backward_kernel", resize_backward_kernel<kMutant, kNaive>, grid_for(a.N * a.H * a.W * a.C),
         dim3(kBlock), 0, stream, a, dy, dx);
}

}  // namespace

void resize_forward(const ResizeArgs& a, const float* x, float* y, KernelVariant, cudaStream_t stream) {
  launch("resize_forward_kernel", resize_forward_kernel, grid_for(a.N * a.OH * a.OW * a.C), dim3(kBlock), 0, stream, a,
         x, y);
}

void resize_backward(const ResizeArgs& a, const float* dy, float* dx, KernelVariant variant, cudaStream_t stream) {
  if (variant == KernelVariant::naive)
    backward<0, true>(a, dy, dx, stream);
  else
    backward(a, dy, dx, stream);
}

void crop_forward(const CropArgs& a, const float* x, float* y, cudaStream_t stream) {
  launch("crop_forward_kernel", crop_forward_kernel, grid_for(a.N * a.OH * a.OW * a.C), dim3(kBlock), 0, stream, a, x,
         y);
}

void crop_backward(const CropArgs& a, const float* dy, float* dx, float fill, cudaStream_t stream) {
  launch("crop_backward_kernel", crop_backward_kernel, grid_for(a.N * a.H * a.W * a.C), dim3(kBlock), 0, stream, a, dy,
         dx, fill);
}

#if defined(SINAPSE_SIM)
void resize_backward_mutant(const ResizeArgs& a, const float* dy, float* dx, const std::string& which) {
  if (which == "first_tap_only")
    backward<1>(a, dy, dx, nullptr);
  else if (which == "edge_clamp")
    backward<2>(a, dy, dx, nullptr);
  else
    throw std::invalid_argument("resize_backward_mutant: unknown mutant '" + which + "'");
}
#endif

}  // namespace sinapse::cuda
