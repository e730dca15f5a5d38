// The merge ops on the CPU (CUDA twin: cuda/merge.h): the element-wise merge of `count` arrays
// of n floats (common/merge_mode.h) with its backward, and the concatenation of `count` arrays
// along one axis with its backward (the split).
//
// Concatenation views every array as (outer, inner_k): outer = the product of the extents
// before the axis, inner_k = input k's extent on the axis times the extents after it, so the
// result is (outer, sum_k inner_k) and each input a run of inner_k floats in every row.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"
#include "../common/merge_mode.h"

namespace sinapse::cpu {

// out[i] = x0[i] (op) x1[i] (op) ... over `count` >= 1 inputs (average: the sum / count).
void merge_forward(int64_t n, int64_t count, const float* const* inputs, float* out, MergeMode mode, SimdPath path,
                   int max_threads);
// dx[k][i] = dL/dx_k from dy: add dy; subtract dy, -dy; average dy / count; multiply dy times
// the product of the other inputs (no division: zeros work); maximum / minimum dy to the first
// input that attains the result (merge_takes_over), 0 to the others.
void merge_backward(int64_t n, int64_t count, const float* dy, const float* const* inputs, float* const* dx,
                    MergeMode mode, SimdPath path, int max_threads);

// The same with Keras's masks (keras/src/layers/merging/base_merge.py, multiply.py) for multiply,
// maximum and minimum: the n floats are rows x inner, masks[k] (nullptr: input k has none) holds
// one flag per row, and a row merges only the inputs whose flag is set (or that have no mask):
// multiply counts a masked input as 1, maximum / minimum skip it. A row no input marks is 0
// (multiply) or inputs[0] (maximum / minimum). The backward gives masked inputs 0.
void merge_forward_masked(int64_t rows, int64_t inner, int64_t count, const float* const* inputs,
                          const uint8_t* const* masks, float* out, MergeMode mode, SimdPath path, int max_threads);
void merge_backward_masked(int64_t rows, int64_t inner, int64_t count, const float* dy, const float* const* inputs,
                           const uint8_t* const* masks, float* const* dx, MergeMode mode, SimdPath path,
                           int max_threads);

// split == false: whole[o, off_k + j] = parts[k][o, j] (concatenate); split == true: the
// reverse (concatenate's backward). inner[k] = inner_k; whole has outer x sum(inner) floats.
void concat_copy(int64_t outer, int64_t count, const int64_t* inner, float* const* parts, float* whole, bool split,
                 int max_threads);

}  // namespace sinapse::cpu
