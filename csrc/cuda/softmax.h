// softmax and log_softmax along the last axis on the GPU. CPU twin: cpu/softmax.h (same
// formulas and contract; the input is `rows` x `cols`, row-major).
#pragma once

#include <cstdint>

#include "check.h"

namespace sinapse::cuda {

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y, bool log, cudaStream_t stream);
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx, bool log,
                      cudaStream_t stream);

}  // namespace sinapse::cuda
