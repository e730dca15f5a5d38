// Fused optimizer updates over a flat float32 buffer, in place, on the CPU; and the pieces of
// gradient clipping (sum of squares, scale-and-clip). CUDA twin: cuda/optimizers.h.
// The per-element rules are shared with CUDA in common/optimizers.h.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"
#include "../common/optimizers.h"

namespace sinapse::cpu {

// The arrays of one update: param and the state slots are read and written, grad is read.
// Slots by optimizer (nullptr where the option is off):
//   sgd      s0 velocity (momentum > 0)
//   adagrad  s0 accumulator
//   adadelta s0 accumulated_grad, s1 accumulated_delta
//   rmsprop  s0 velocity, s1 momentum buffer (momentum > 0), s2 average_grad (centered)
//   adam     s0 m, s1 v, s2 vhat (amsgrad)
struct OptimizerBuffers {
  int64_t n = 0;
  float* param = nullptr;
  const float* grad = nullptr;
  float* s0 = nullptr;
  float* s1 = nullptr;
  float* s2 = nullptr;
};

void optimizer_update(const OptimizerArgs& args, const OptimizerBuffers& buffers, SimdPath path, int max_threads);

// sum(x^2) in double, in blocks of a fixed size combined in a fixed order: the same bits
// whatever the thread count.
double sum_squares(int64_t n, const float* x, SimdPath path, int max_threads);

// y = clip(x * scale, -clipvalue, clipvalue) (no clipping when clipvalue <= 0); y may be x.
void scale_clip(int64_t n, const float* x, float* y, float scale, float clipvalue, int max_threads);

}  // namespace sinapse::cpu
