// Element-wise activations and their derivatives, one definition for every backend: the CPU
// kernels (cpu/activation.cpp), the CUDA kernels (cuda/activation.cu) and the GEMM epilogue
// (gemm_args.h) all call these (SINAPSE_HD: compiled by g++ and by nvcc).
//
// Definitions follow Keras (keras.activations); `alpha` is the one parameter of
// leaky_relu (negative slope) and elu (scale of the negative part); the others ignore it.
// NaN and Inf (docs/reliability.md): f(NaN) = NaN and f'(NaN) = NaN for every kind; at +-inf
// each returns its limit (gelu/silu(-inf) = 0, not -inf * 0 = NaN; tanh(inf) = 1, ...).
#pragma once

#include <cmath>

#include "macros.h"
#include "nan_rules.h"

namespace sinapse {

// The codes 0-3 are also the GEMM epilogue's (Activation in gemm_args.h).
enum class ActKind : int {
  linear = 0,
  relu = 1,
  sigmoid = 2,
  tanh = 3,
  leaky_relu = 4,
  elu = 5,
  selu = 6,
  gelu_tanh = 7,  // the tanh approximation
  gelu = 8,       // exact: x * Phi(x)
  hard_sigmoid = 9,
  softplus = 10,
  silu = 11,  // = swish
  softsign = 12,
  exponential = 13,
  relu6 = 14,
};
constexpr int kActKinds = 15;

namespace act {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCoeff = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

SINAPSE_HD float sigmoid(float x) {  // stable on both sides: exp never overflows
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

SINAPSE_HD float forward(float x, ActKind kind, float alpha) {
  switch (kind) {
    case ActKind::relu:
      return x < 0.0f ? 0.0f : x;  // NaN stays NaN, as in NumPy/PyTorch
    case ActKind::sigmoid:
      return sigmoid(x);
    case ActKind::tanh:
      return tanhf(x);
    case ActKind::leaky_relu:
      return x < 0.0f ? alpha * x : x;
    case ActKind::elu:
      return x > 0.0f ? x : alpha * expm1f(x);
    case ActKind::selu:
      return kSeluScale * (x > 0.0f ? x : kSeluAlpha * expm1f(x));
    case ActKind::gelu_tanh:
      return times_vanishing(x, 0.5f * (1.0f + tanhf(kSqrt2OverPi * (x + kGeluCoeff * x * x * x))));
    case ActKind::gelu:
      return times_vanishing(x, 0.5f * (1.0f + erff(x * kInvSqrt2)));
    case ActKind::hard_sigmoid:
      return clamp_keep_nan(x / 6.0f + 0.5f, 0.0f, 1.0f);
    case ActKind::softplus:
      return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));  // NaN: the log1p term is NaN
    case ActKind::silu:
      return times_vanishing(x, sigmoid(x));
    case ActKind::softsign:  // x / (1 + |x|); +-inf gives its limit +-1, not inf / inf
      return fabsf(x) == INFINITY ? copysignf(1.0f, x) : x / (1.0f + fabsf(x));
    case ActKind::exponential:
      return expf(x);
    case ActKind::relu6:  // min(max(x, 0), 6); NaN stays NaN
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    default:
      return x;
  }
}

// d forward(x) / dx for a non-NaN x (derivative() below adds the NaN rule). The products
// x * (something -> 0) go through times_vanishing so the limits at +-inf stay finite.
SINAPSE_HD float slope(float x, ActKind kind, float alpha) {
  switch (kind) {
    case ActKind::relu:
      return x > 0.0f ? 1.0f : 0.0f;
    case ActKind::sigmoid: {
      const float s = sigmoid(x);
      return s * (1.0f - s);
    }
    case ActKind::tanh: {
      const float t = tanhf(x);
      return 1.0f - t * t;
    }
    case ActKind::leaky_relu:
      return x < 0.0f ? alpha : 1.0f;
    case ActKind::elu:
      return x > 0.0f ? 1.0f : alpha * expf(x);
    case ActKind::selu:
      return x > 0.0f ? kSeluScale : kSeluScale * kSeluAlpha * expf(x);
    case ActKind::gelu_tanh: {
      const float u = kSqrt2OverPi * (x + kGeluCoeff * x * x * x);
      const float t = tanhf(u);
      return 0.5f * (1.0f + t) +
             times_vanishing(x * kSqrt2OverPi * (1.0f + 3.0f * kGeluCoeff * x * x), 0.5f * (1.0f - t * t));
    }
    case ActKind::gelu:
      return 0.5f * (1.0f + erff(x * kInvSqrt2)) + times_vanishing(x, kInvSqrt2Pi * expf(-0.5f * x * x));
    case ActKind::hard_sigmoid:
      return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case ActKind::softplus:
      return sigmoid(x);
    case ActKind::silu: {  // s (1 + x (1 - s)) written so x = +-inf gives the limits 1 and 0
      const float s = sigmoid(x);
      return s + times_vanishing(x, s * (1.0f - s));
    }
    case ActKind::softsign: {
      const float d = 1.0f + fabsf(x);
      return 1.0f / (d * d);
    }
    case ActKind::exponential:
      return expf(x);
    case ActKind::relu6:  // 1 inside (0, 6), as TensorFlow's / PyTorch's relu6 gradients
      return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    default:
      return 1.0f;
  }
}

// f'(x), NaN for a NaN x: relu's and hard_sigmoid's flat pieces would otherwise turn a NaN
// input into a zero gradient (torch's threshold_backward passes dy instead; both hide it).
SINAPSE_HD float derivative(float x, ActKind kind, float alpha) {
  const float d = slope(x, kind, alpha);
  return x == x ? d : x;
}

}  // namespace act
}  // namespace sinapse
