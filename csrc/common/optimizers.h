// The optimizer updates, one element at a time, one definition for every backend: the CPU
// loops (cpu/optimizers.cpp) and the CUDA kernels (cuda/optimizers.cu) both call these.
//
// Formulas are Keras 3's (keras/src/optimizers/*.py), in Keras's operation order; the
// derivation and where PyTorch differs are in docs/kernels/optimizers.md. Every update
// first transforms the gradient (grad_in: scale from clip-by-norm, clip-by-value, coupled
// L2) and applies Keras's decoupled weight decay to the parameter (decayed), then the
// optimizer's own rule.
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"
#include "nan_rules.h"

namespace sinapse {

enum class OptimizerKind : int { sgd = 0, adagrad = 1, adadelta = 2, rmsprop = 3, adam = 4 };

// Scalars of one update call. Which fields an optimizer reads is listed per rule below;
// `alpha` is derived on the host once per call (optimizer_alpha).
struct OptimizerArgs {
  OptimizerKind kind = OptimizerKind::sgd;
  float lr = 0.0f;
  float weight_decay = 0.0f;           // decoupled (Keras 3 / AdamW): w -= w * weight_decay * lr
  float l2 = 0.0f;                     // coupled (PyTorch's weight_decay, Keras 2's L2): g += l2 * w
  float grad_scale = 1.0f;             // clipnorm / global_clipnorm: g *= grad_scale
  float clipvalue = 0.0f;              // > 0: g = clip(g, -clipvalue, clipvalue)
  float momentum = 0.0f;               // sgd, rmsprop
  float rho = 0.0f;                    // adadelta, rmsprop
  float beta_1 = 0.0f, beta_2 = 0.0f;  // adam
  float epsilon = 0.0f;                // adagrad, adadelta, rmsprop, adam
  float alpha = 0.0f;                  // adam: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
  int64_t step = 1;                    // adam: t = iterations + 1
  bool nesterov = false;               // sgd
  bool centered = false;               // rmsprop
  bool amsgrad = false;                // adam
};

// Adam's step size, computed in float32 as Keras does in the variable's dtype.
inline float optimizer_alpha(const OptimizerArgs& a) {
  const float t = static_cast<float>(a.step);
  const float b1p = std::pow(a.beta_1, t), b2p = std::pow(a.beta_2, t);
  return a.lr * std::sqrt(1.0f - b2p) / (1.0f - b1p);
}

// Which state slots an update reads and writes (see cpu::OptimizerBuffers); nullptr when the
// slots present match, else what is wrong. The bindings check it so a direct call never
// dereferences a missing slot.
inline const char* optimizer_slots_error(const OptimizerArgs& a, bool s0, bool s1, bool s2) {
  bool need0 = true, need1 = false, need2 = false;
  switch (a.kind) {
    case OptimizerKind::sgd:
      need0 = a.momentum != 0.0f;
      break;
    case OptimizerKind::adagrad:
      break;
    case OptimizerKind::adadelta:
      need1 = true;
      break;
    case OptimizerKind::rmsprop:
      need1 = a.momentum > 0.0f;
      need2 = a.centered;
      break;
    case OptimizerKind::adam:
      need1 = true;
      need2 = a.amsgrad;
      break;
    default:
      return "unknown optimizer kind";
  }
  if (s0 != need0 || s1 != need1 || s2 != need2) return "the state arrays given do not match the optimizer's options";
  return nullptr;
}

// Per-element functions are forced inline: the CPU loops are compiled once per SIMD path
// (target attributes), and only inlined code takes the caller's instruction set.
#if defined(__CUDACC__)
#define SINAPSE_OPTIM_FN __host__ __device__ __forceinline__
#else
#define SINAPSE_OPTIM_FN inline __attribute__((always_inline))
#endif

namespace optim {

// The gradient the rule sees: scaled (clip by norm), clipped (clip by value), plus L2.
SINAPSE_OPTIM_FN float grad_in(const OptimizerArgs& a, float g, float w) {
  g *= a.grad_scale;
  // clamp_keep_nan, not fminf/fmaxf: a NaN gradient must stay NaN (np.clip, torch.clamp).
  if (a.clipvalue > 0.0f) g = clamp_keep_nan(g, -a.clipvalue, a.clipvalue);
  if (a.l2 != 0.0f) g += a.l2 * w;
  return g;
}

// Keras 3's weight decay (base_optimizer._apply_weight_decay), before the rule.
SINAPSE_OPTIM_FN float decayed(const OptimizerArgs& a, float w) {
  return a.weight_decay != 0.0f ? w - w * a.weight_decay * a.lr : w;
}

// An update variant: the optimizer and its two optional-slot flags (sgd: momentum;
// rmsprop: momentum, centered; adam: amsgrad), as a type, so each variant is its own loop.
template <OptimizerKind K, bool F1, bool F2>
struct Variant {};

// Calls fn(Variant<...>{}) for the variant `a` asks for.
template <class Fn>
void visit_variant(const OptimizerArgs& a, Fn&& fn) {
  using K = OptimizerKind;
  switch (a.kind) {
    case K::sgd:
      if (a.momentum != 0.0f)
        fn(Variant<K::sgd, true, false>{});
      else
        fn(Variant<K::sgd, false, false>{});
      break;
    case K::adagrad:
      fn(Variant<K::adagrad, false, false>{});
      break;
    case K::adadelta:
      fn(Variant<K::adadelta, false, false>{});
      break;
    case K::rmsprop:
      if (a.momentum > 0.0f && a.centered)
        fn(Variant<K::rmsprop, true, true>{});
      else if (a.momentum > 0.0f)
        fn(Variant<K::rmsprop, true, false>{});
      else if (a.centered)
        fn(Variant<K::rmsprop, false, true>{});
      else
        fn(Variant<K::rmsprop, false, false>{});
      break;
    case K::adam:
      if (a.amsgrad)
        fn(Variant<K::adam, true, false>{});
      else
        fn(Variant<K::adam, false, false>{});
      break;
  }
}

// The arrays of every update_element; a rule leaves the slots it has no use for unread.
#define SINAPSE_OPTIM_ARRAYS                                                                              \
  int64_t i, float *__restrict__ w, const float *__restrict__ g, [[maybe_unused]] float *__restrict__ s0, \
      [[maybe_unused]] float *__restrict__ s1, [[maybe_unused]] float *__restrict__ s2

// SGD, momentum == 0:  w = w - g * lr
// momentum > 0:        velocity = momentum * velocity - lr * g         (s0 = velocity)
//                      w = w + velocity                              (nesterov=False)
//                      w = w + momentum * velocity - lr * g          (nesterov=True)
template <bool kMomentum>
SINAPSE_OPTIM_FN void update_element(Variant<OptimizerKind::sgd, kMomentum, false>, const OptimizerArgs& a,
                                     SINAPSE_OPTIM_ARRAYS) {
  const float gi = grad_in(a, g[i], w[i]);
  const float wi = decayed(a, w[i]);
  if constexpr (kMomentum) {
    const float velocity = a.momentum * s0[i] - gi * a.lr;
    s0[i] = velocity;
    w[i] = a.nesterov ? wi + (a.momentum * velocity - gi * a.lr) : wi + velocity;
  } else {
    w[i] = wi - gi * a.lr;
  }
}

// Adagrad: accumulator += g^2;  w = w - lr * g / sqrt(accumulator + epsilon)   (s0 = accumulator)
template <bool F1, bool F2>
SINAPSE_OPTIM_FN void update_element(Variant<OptimizerKind::adagrad, F1, F2>, const OptimizerArgs& a,
                                     SINAPSE_OPTIM_ARRAYS) {
  const float gi = grad_in(a, g[i], w[i]);
  const float wi = decayed(a, w[i]);
  const float accumulator = s0[i] + gi * gi;
  s0[i] = accumulator;
  w[i] = wi - (a.lr * gi) / sqrtf(accumulator + a.epsilon);
}

// Adadelta (s0 = accumulated_grad, s1 = accumulated_delta):
//   accumulated_grad = rho * accumulated_grad + (1 - rho) * g^2
//   delta = -sqrt(accumulated_delta + epsilon) * g / sqrt(accumulated_grad + epsilon)
//   accumulated_delta = rho * accumulated_delta + (1 - rho) * delta^2
//   w = w + lr * delta
template <bool F1, bool F2>
SINAPSE_OPTIM_FN void update_element(Variant<OptimizerKind::adadelta, F1, F2>, const OptimizerArgs& a,
                                     SINAPSE_OPTIM_ARRAYS) {
  const float gi = grad_in(a, g[i], w[i]);
  const float wi = decayed(a, w[i]);
  const float acc_grad = a.rho * s0[i] + (1.0f - a.rho) * (gi * gi);
  const float delta = -((sqrtf(s1[i] + a.epsilon) * gi) / sqrtf(acc_grad + a.epsilon));
  s0[i] = acc_grad;
  s1[i] = a.rho * s1[i] + (1.0f - a.rho) * (delta * delta);
  w[i] = wi + a.lr * delta;
}

// RMSprop (s0 = velocity, s1 = momentum buffer, s2 = average_grad):
//   velocity = rho * velocity + (1 - rho) * g^2
//   centered: average_grad = rho * average_grad + (1 - rho) * g
//             denominator = velocity - average_grad^2 + epsilon
//   else      denominator = velocity + epsilon
//   increment = lr * g / sqrt(denominator)
//   momentum > 0: buffer = momentum * buffer + increment;  w = w - buffer
//   else          w = w - increment
template <bool kMomentum, bool kCentered>
SINAPSE_OPTIM_FN void update_element(Variant<OptimizerKind::rmsprop, kMomentum, kCentered>, const OptimizerArgs& a,
                                     SINAPSE_OPTIM_ARRAYS) {
  const float gi = grad_in(a, g[i], w[i]);
  const float wi = decayed(a, w[i]);
  const float velocity = a.rho * s0[i] + (1.0f - a.rho) * (gi * gi);
  s0[i] = velocity;
  float denominator;
  if constexpr (kCentered) {
    const float average = a.rho * s2[i] + (1.0f - a.rho) * gi;
    s2[i] = average;
    denominator = velocity - average * average + a.epsilon;
  } else {
    denominator = velocity + a.epsilon;
  }
  const float increment = (a.lr * gi) / sqrtf(denominator);
  if constexpr (kMomentum) {
    const float buffer = a.momentum * s1[i] + increment;
    s1[i] = buffer;
    w[i] = wi - buffer;
  } else {
    w[i] = wi - increment;
  }
}

// Adam / AdamW (s0 = m, s1 = v, s2 = vhat):
//   m = m + (g - m) * (1 - beta_1);  v = v + (g^2 - v) * (1 - beta_2)
//   amsgrad: vhat = max(vhat, v), and vhat replaces v below
//   w = w - m * alpha / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
template <bool kAmsgrad>
SINAPSE_OPTIM_FN void update_element(Variant<OptimizerKind::adam, kAmsgrad, false>, const OptimizerArgs& a,
                                     SINAPSE_OPTIM_ARRAYS) {
  const float gi = grad_in(a, g[i], w[i]);
  const float wi = decayed(a, w[i]);
  const float m = s0[i] + (gi - s0[i]) * (1.0f - a.beta_1);
  float v = s1[i] + (gi * gi - s1[i]) * (1.0f - a.beta_2);
  s0[i] = m;
  s1[i] = v;
  if constexpr (kAmsgrad) {
    v = max_keep_nan(s2[i], v);  // np.maximum: a NaN v (or vhat) is not dropped
    s2[i] = v;
  }
  w[i] = wi - (m * a.alpha) / (sqrtf(v) + a.epsilon);
}

#undef SINAPSE_OPTIM_ARRAYS

}  // namespace optim
}  // namespace sinapse
