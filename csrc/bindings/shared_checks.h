// The checks the CPU bindings (F32Array arguments) and the CUDA bindings (cuda/device_array.h
// DeviceArray arguments) share, written once: enum codes in range, and array sizes that match
// each other and the geometry, so a direct call into either module can never index out of
// bounds. `A` is anything with data(), size(), ndim() and shape(i); an optional argument is
// passed as a pointer (nullptr when absent). The friendly errors come earlier, from
// python/sinapse/ops; these name the op and what does not match.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "../common/enums.h"
#include "../common/gemm_args.h"
#include "../common/losses.h"
#include "../common/optimizers.h"

namespace sinapse::bindings {

inline void check(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// ---- enum codes ------------------------------------------------------------------------------
inline ActKind act_kind(int code) {
  check(enums::valid_code(enums::kActivationList, code), "activation: kind code out of range");
  return static_cast<ActKind>(code);
}
// The fused GEMM / conv2d epilogue.
inline Activation epilogue(const char* op, int code) {
  check(enums::valid_code(enums::kEpilogueList, code), std::string(op) + ": activation code out of range");
  return static_cast<Activation>(code);
}
inline LossKind loss_kind(int code) {
  check(enums::valid_code(enums::kLossList, code), "loss: kind code out of range");
  return static_cast<LossKind>(code);
}
inline OptimizerKind optimizer_kind(int code) {
  check(enums::valid_code(enums::kOptimizerList, code), "optimizer_update: kind code out of range");
  return static_cast<OptimizerKind>(code);
}

// ---- gemm ------------------------------------------------------------------------------------
// GemmArgs from out = act(alpha * op(a) @ op(b) + beta * out + bias): M, N, K and the leading
// dimensions from the arrays' shapes (row-major, contiguous).
template <class A, class O>
GemmArgs gemm_args(const A& a, const A& b, O& out, const A* bias, bool trans_a, bool trans_b, float alpha, float beta,
                   int activation) {
  check(a.ndim() == 2 && b.ndim() == 2 && out.ndim() == 2, "gemm: a, b and out must be 2-D");
  const Activation act = epilogue("gemm", activation);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t N = trans_b ? b.shape(0) : b.shape(1);
  check((trans_b ? b.shape(1) : b.shape(0)) == K, "gemm: inner dimensions of a and b differ");
  check(out.shape(0) == M && out.shape(1) == N, "gemm: out must have shape (M, N)");
  check(!bias || (bias->ndim() == 1 && bias->shape(0) == N), "gemm: bias must have shape (N,)");
  return make_gemm_args(M, N, K, a.data(), a.shape(1), trans_a, b.data(), b.shape(1), trans_b, out.mutable_data(),
                        out.shape(1), beta, bias ? bias->data() : nullptr, alpha, act);
}

// ---- element-wise and per-channel ops ----------------------------------------------------------
// rows when `size` values are rows x cols (cols == 0 only for an empty array).
inline int64_t rows_of(const char* op, int64_t size, int64_t cols) {
  check(cols >= 0 && (cols == 0 ? size == 0 : size % cols == 0), std::string(op) + ": sizes do not match");
  return cols ? size / cols : 0;
}

// batch norm: x is rows x channels, with channels > 0; every per-channel array has `channels` values.
template <class A>
int64_t batch_norm_rows(const A& x, int64_t channels) {
  check(channels > 0 && x.size() % channels == 0, "batch_norm: x does not match the channel count");
  return x.size() / channels;
}
inline void check_channels(int64_t channels, std::initializer_list<int64_t> sizes) {
  for (int64_t s : sizes) check(s == channels, "batch_norm: a per-channel array has the wrong size");
}

// ---- optimizers -------------------------------------------------------------------------------
// OptimizerArgs from the scalars of optimizer_update, in its argument order.
inline OptimizerArgs optimizer_args(int kind, float lr, float weight_decay, float l2, float grad_scale, float clipvalue,
                                    float momentum, float rho, float beta_1, float beta_2, float epsilon, int64_t step,
                                    bool nesterov, bool centered, bool amsgrad) {
  OptimizerArgs a;
  a.kind = optimizer_kind(kind);
  a.lr = lr, a.weight_decay = weight_decay, a.l2 = l2, a.grad_scale = grad_scale, a.clipvalue = clipvalue;
  a.momentum = momentum, a.rho = rho, a.beta_1 = beta_1, a.beta_2 = beta_2, a.epsilon = epsilon, a.step = step;
  a.nesterov = nesterov, a.centered = centered, a.amsgrad = amsgrad;
  return a;
}
// The state slots an update needs are given, and the others are not (common/optimizers.h).
inline void check_optimizer_slots(const OptimizerArgs& a, bool s0, bool s1, bool s2) {
  const char* err = optimizer_slots_error(a, s0, s1, s2);
  check(err == nullptr, std::string("optimizer_update: ") + (err ? err : ""));
}

// ---- losses ----------------------------------------------------------------------------------
// LossArgs from y_pred (..., cols) and the arrays that must match it: y_true (dense kinds)
// or labels (sparse), per_row and the optional weights and grad.
template <class F, class I>
LossArgs loss_args(int kind, bool from_logits, const F* y_true, const I* labels, const F& y_pred, const F* weights,
                   float delta, float grad_scale, F& per_row, F* grad) {
  const LossKind k = loss_kind(kind);
  check(y_pred.ndim() >= 1, "loss: y_pred must have at least 1 dimension");
  const int64_t cols = y_pred.shape(y_pred.ndim() - 1);
  const int64_t rows = cols ? y_pred.size() / cols : 0;
  const bool sparse = k == LossKind::sparse_categorical_crossentropy;
  check(sparse ? (labels && labels->size() == rows) : (y_true && y_true->size() == y_pred.size()),
        "loss: y_true/labels do not match y_pred");
  check(per_row.size() == rows && (!weights || weights->size() == rows) && (!grad || grad->size() == y_pred.size()),
        "loss: per_row, weights or grad have the wrong size");
  check(cols > 0 || rows == 0, "loss: y_pred has no columns");
  return LossArgs{k,
                  from_logits,
                  rows,
                  cols,
                  y_true ? y_true->data() : nullptr,
                  labels ? labels->data() : nullptr,
                  y_pred.data(),
                  weights ? weights->data() : nullptr,
                  delta,
                  grad_scale,
                  per_row.mutable_data(),
                  grad ? grad->mutable_data() : nullptr};
}

}  // namespace sinapse::bindings
