// The "naive" layer / group norm variant: the definition as loops (common/layer_norm_row.h),
// one row at a time, one thread, sums in double. The baseline the tuned kernels
// (layer_norm.cpp) are measured against: SINAPSE_LAYER_NORM=naive python -m bench layer_norm
#include "layer_norm.h"

namespace sinapse::cpu {

void layer_norm_forward_naive(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                              float* mean, float* inv_std) {
  for (int64_t r = 0; r < a.rows(); ++r) layer_norm_row_forward(a, r, x, gamma, beta, y, mean, inv_std);
}

void layer_norm_backward_naive(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma,
                               const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  // The channel sums first: dx may be dy, and they read dy.
  for (int64_t c = 0; c < a.channels(); ++c) layer_norm_channel_grads(a, c, x, dy, mean, inv_std, dgamma, dbeta);
  for (int64_t r = 0; r < a.rows(); ++r) layer_norm_row_backward(a, r, x, dy, gamma, mean, inv_std, dx);
}

}  // namespace sinapse::cpu
