// axpy on the GPU: y = alpha * x + y over n floats in device memory. CPU twin: cpu/axpy.h.
#pragma once

#include "check.h"  // cudaStream_t (real runtime or simulator)

#include <cstdint>

namespace sinapse::cuda {

void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);

}  // namespace sinapse::cuda
