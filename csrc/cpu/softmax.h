// softmax and log_softmax along the last axis, forward and backward, on the CPU.
// CUDA twin: cuda/softmax.h. The input is viewed as `rows` x `cols`, row-major.
#pragma once

#include <cstdint>

#include "../common/kernel_variant.h"
#include "../common/cpu_features.h"

namespace sinapse::cpu {

// y = softmax(x) (or log_softmax when `log`), per row, subtracting the row max first so exp
// never overflows. `variant`: tuned (softmax.cpp) or naive (softmax_naive.cpp: the
// definition as loops, one thread, library expf).
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, KernelVariant variant,
                     SimdPath path, int max_threads);
// dx from the forward output y and the upstream gradient dy:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      KernelVariant variant, SimdPath path, int max_threads);
void softmax_forward_naive(int64_t rows, int64_t cols, const float* x, float* y, bool log);
void softmax_backward_naive(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log);

}  // namespace sinapse::cpu
