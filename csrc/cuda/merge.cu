#include "merge.h"

#include <stdexcept>
#include <string>

#include "launch.cuh"

namespace sinapse::cuda {

namespace {

// The arrays of one merge, by value in the kernel's parameters (no device copy of a pointer
// table, so nothing to allocate or synchronise).
struct MergeArrays {
  const float* in[kMaxMergeInputs];
  float* dx[kMaxMergeInputs];
};

constexpr int kBlock = 256;
constexpr int64_t kMaxBlocks = 65535;

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

// Grid-stride loops: consecutive threads touch consecutive floats of every array (coalesced).
__global__ void merge_forward_kernel(int64_t n, int count, MergeArrays a, float* __restrict__ out, MergeMode mode) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float acc = a.in[0][i];
    for (int k = 1; k < count; ++k) acc = merge_step(mode, acc, a.in[k][i]);
    out[i] = mode == MergeMode::average ? acc / static_cast<float>(count) : acc;
  }
}

// The CPU kernel's products in the CPU's order (dy times the inputs before k in order, times
// the product of those after k taken from the last one down): the same bits on both backends.
__device__ float product_of_others(const MergeArrays& a, int count, int k, int64_t i, float g) {
  float p = g, s = 1.0f;
  for (int j = 0; j < k; ++j) p *= a.in[j][i];
  for (int j = count - 1; j > k; --j) s *= a.in[j][i];
  return p * s;
}

__global__ void merge_backward_kernel(int64_t n, int count, const float* __restrict__ dy, MergeArrays a,
                                      MergeMode mode) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float g = dy[i];
    if (mode == MergeMode::maximum || mode == MergeMode::minimum) {
      float best = a.in[0][i];
      int winner = 0;
      for (int k = 1; k < count; ++k) {
        const float x = a.in[k][i];
        if (merge_takes_over(mode, best, x)) best = x, winner = k;
      }
      for (int k = 0; k < count; ++k) a.dx[k][i] = k == winner ? g : 0.0f;
    } else {
      for (int k = 0; k < count; ++k) {
        float d = g;
        if (mode == MergeMode::multiply)
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

MergeArrays merge_arrays(int64_t count, const float* const* inputs, float* const* dx) {
  if (count < 1 || count > kMaxMergeInputs)
    throw std::invalid_argument("merge: the CUDA kernels take 1 to " + std::to_string(kMaxMergeInputs) +
                                " arrays, got " + std::to_string(count));
  MergeArrays a{};
  for (int64_t k = 0; k < count; ++k) {
    a.in[k] = inputs[k];
    a.dx[k] = dx ? dx[k] : nullptr;
  }
  return a;
}

}  // namespace

void merge_forward(int64_t n, int64_t count, const float* const* inputs, float* out, MergeMode mode,
                   cudaStream_t stream) {
  const MergeArrays a = merge_arrays(count, inputs, nullptr);
  launch("merge_forward_kernel", merge_forward_kernel, grid_for(n), dim3(kBlock), 0, stream, n, static_cast<int>(count),
         a, out, mode);
}

void merge_backward(int64_t n, int64_t count, const float* dy, const float* const* inputs, float* const* dx,
                    MergeMode mode, cudaStream_t stream) {
  const MergeArrays a = merge_arrays(count, inputs, dx);
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
