#include "merge.h"

#include <stdexcept>
#include <string>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

// The arrays of one merge, by value in the kernel's parameters (no device copy of a pointer
// table, so nothing to allocate or synchronise).
struct MergeArrays {
  const float* in[kMaxMergeInputs];
  float* dx[kMaxMergeInputs];
  const uint8_t* mask[kMaxMergeInputs];  // Keras's row masks (nullptr: none), cpu/merge.h
  int64_t inner;                         // floats per mask flag
};

// Input k takes part at element i: no mask, or its mask marks i's row.
__device__ bool takes_part(const MergeArrays& a, int k, int64_t i) {
  return a.mask[k] == nullptr || a.mask[k][i / a.inner] != 0;
}

constexpr int kBlock = 256;

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

// Grid-stride loops: consecutive threads touch consecutive floats of every array (coalesced).
__global__ void merge_forward_kernel(int64_t n, int count, MergeArrays a, float* __restrict__ out, MergeMode mode) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float acc = 0.0f;
    int used = 0;
    for (int k = 0; k < count; ++k) {
      if (!takes_part(a, k, i)) continue;
      acc = used++ == 0 ? a.in[k][i] : merge_step(mode, acc, a.in[k][i]);
    }
    if (used == 0)  // no input marks the row (masks): multiply gives 0, maximum / minimum inputs[0]
      acc = mode == MergeMode::multiply ? 0.0f : a.in[0][i];
    out[i] = mode == MergeMode::average ? acc / static_cast<float>(count) : acc;
  }
}

// The CPU kernel's products in the CPU's order (dy times the inputs before k in order, times
// the product of those after k taken from the last one down): the same bits on both backends.
__device__ float product_of_others(const MergeArrays& a, int count, int k, int64_t i, float g) {
  float p = g, s = 1.0f;
  for (int j = 0; j < k; ++j)
    if (takes_part(a, j, i)) p *= a.in[j][i];
  for (int j = count - 1; j > k; --j)
    if (takes_part(a, j, i)) s *= a.in[j][i];
  return p * s;
}

__global__ void merge_backward_kernel(int64_t n, int count, const float* __restrict__ dy, MergeArrays a,
                                      MergeMode mode) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float g = dy[i];
    if (mode == MergeMode::maximum || mode == MergeMode::minimum) {
      float best = 0.0f;
      int winner = -1;
      for (int k = 0; k < count; ++k) {
        if (!takes_part(a, k, i)) continue;
        const float x = a.in[k][i];
        if (winner < 0 || merge_takes_over(mode, best, x)) best = x, winner = k;
      }
      if (winner < 0) winner = 0;  // no input marks the row: inputs[0] was passed on
      for (int k = 0; k < count; ++k) a.dx[k][i] = k == winner ? g : 0.0f;
    } else {
      bool any = false;
      for (int k = 0; k < count && !any; ++k) any = takes_part(a, k, i);
      for (int k = 0; k < count; ++k) {
        float d = g;
        if (!any || !takes_part(a, k, i))
          d = 0.0f;  // a masked input, or multiply's 0 where no input marks the row
        else if (mode == MergeMode::multiply)
          d = product_of_others(a, count, k, i, g);
        else if (mode == MergeMode::average)
          d = g / static_cast<float>(count);
        else if (mode == MergeMode::subtract && k == 1)
          d = -g;
        a.dx[k][i] = d;
      }
    }
  }
}

// One part of a concatenation: element i of part (outer x inner) is whole's
// [i / inner, offset + i % inner] in rows of `width`.
__global__ void concat_part_kernel(int64_t outer, int64_t inner, int64_t width, int64_t offset, float* part,
                                   float* whole, bool split) {
  const int64_t total = outer * inner, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    float* w = whole + (i / inner) * width + offset + i % inner;
    if (split)
      part[i] = *w;
    else
      *w = part[i];
  }
}

MergeArrays merge_arrays(int64_t count, const float* const* inputs, float* const* dx, int64_t inner,
                         const uint8_t* const* masks) {
  if (count < 1 || count > kMaxMergeInputs)
    throw std::invalid_argument("merge: the CUDA kernels take 1 to " + std::to_string(kMaxMergeInputs) +
                                " arrays, got " + std::to_string(count));
  MergeArrays a{};
  a.inner = inner > 0 ? inner : 1;
  for (int64_t k = 0; k < count; ++k) {
    a.in[k] = inputs[k];
    a.dx[k] = dx ? dx[k] : nullptr;
    a.mask[k] = masks ? masks[k] : nullptr;
  }
  return a;
}

}  // namespace

void merge_forward(int64_t n, int64_t count, const float* const* inputs, float* out, MergeMode mode,
                   cudaStream_t stream, int64_t inner, const uint8_t* const* masks) {
  const MergeArrays a = merge_arrays(count, inputs, nullptr, inner, masks);
  launch("merge_forward_kernel", merge_forward_kernel, grid_for(n), dim3(kBlock), 0, stream, n, static_cast<int>(count),
         a, out, mode);
}

void merge_backward(int64_t n, int64_t count, const float* dy, const float* const* inputs, float* const* dx,
                    MergeMode mode, cudaStream_t stream, int64_t inner, const uint8_t* const* masks) {
  const MergeArrays a = merge_arrays(count, inputs, dx, inner, masks);
  launch("merge_backward_kernel", merge_backward_kernel, grid_for(n), dim3(kBlock), 0, stream, n,
         static_cast<int>(count), dy, a, mode);
}

void concat_copy(int64_t outer, int64_t count, const int64_t* inner, float* const* parts, float* whole, bool split,
                 cudaStream_t stream) {
  int64_t width = 0;
  for (int64_t k = 0; k < count; ++k) width += inner[k];
  for (int64_t k = 0, offset = 0; k < count; offset += inner[k], ++k)
    launch("concat_part_kernel", concat_part_kernel, grid_for(outer * inner[k]), dim3(kBlock), 0, stream, outer,
           inner[k], width, offset, parts[k], whole, split);
}

}  // namespace sinapse::cuda
