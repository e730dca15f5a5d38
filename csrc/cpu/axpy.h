// axpy: y = alpha * x + y over n floats (the SGD update w -= lr * g is axpy(-lr, g, w)).
// CUDA twin: csrc/cuda/axpy.cu.
#pragma once

#include <cstdint>

namespace sinapse::cpu {

void axpy(int64_t n, float alpha, const float* x, float* y, int max_threads);

}  // namespace sinapse::cpu
