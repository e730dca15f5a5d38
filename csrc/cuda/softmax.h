// softmax and log_softmax along the last axis on the GPU. CPU twin: cpu/softmax.h (same
// formulas and contract; the input is `rows` x `cols`, row-major).
#pragma once

#include <cstdint>

#include "../common/kernel_variant.h"
#include "check.h"

namespace sinapse::cuda {

// `variant`: tuned (a block of 128 threads per row, warp-shuffle reductions) or naive (one
// thread per row, three plain passes: llm.c's softmax kernel 1).
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, KernelVariant variant,
                     cudaStream_t stream);
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      KernelVariant variant, cudaStream_t stream);

}  // namespace sinapse::cuda
