// The merge ops on the GPU (CPU twin: cpu/merge.h): the element-wise merge of `count` arrays
// of n floats in device memory (common/merge_mode.h) with its backward, and concatenation along
// one axis with its backward, in the (outer, inner_k) view of cpu/merge.h.
#pragma once

#include "check.h"  // cudaStream_t (real runtime or simulator)

#include <cstdint>

#include "../common/merge_mode.h"

namespace sinapse::cuda {

// The most arrays one merge kernel takes: their pointers travel in the kernel's parameters
// (3 x 64 pointers, 1.5 KiB of the 4 KiB a launch may pass). std::invalid_argument above it.
inline constexpr int64_t kMaxMergeInputs = 64;

// masks (nullptr: none; else one per input, nullptr for an input without): Keras's row masks of
// cpu/merge.h's merge_forward_masked, one flag per `inner` floats.
void merge_forward(int64_t n, int64_t count, const float* const* inputs, float* out, MergeMode mode,
                   cudaStream_t stream, int64_t inner = 1, const uint8_t* const* masks = nullptr);
void merge_backward(int64_t n, int64_t count, const float* dy, const float* const* inputs, float* const* dx,
                    MergeMode mode, cudaStream_t stream, int64_t inner = 1, const uint8_t* const* masks = nullptr);
// split == false: whole[o, off_k + j] = parts[k][o, j]; true: the reverse. One launch per part.
void concat_copy(int64_t outer, int64_t count, const int64_t* inner, float* const* parts, float* whole, bool split,
                 cudaStream_t stream);

}  // namespace sinapse::cuda
