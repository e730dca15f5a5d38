#include "activation.h"

#include <algorithm>
#include <type_traits>

#include "../common/threading.h"
#include "simd_run.h"
#include "vec_math.h"

namespace sinapse::cpu {

namespace {

// The kind is a template parameter so each loop body is one straight-line formula the
// compiler can vectorise (the cheap kinds) instead of a switch per element.
// The CPU's versions of the exp-based kinds (vec_math.h: no libm call, so the loops vectorise);
// every other kind is the definition shared with CUDA (common/activations.h).
template <ActKind K>
[[gnu::always_inline]] inline float forward_of(float x, float alpha) {
  if constexpr (K == ActKind::tanh)
    return tanh_approx(x);
  else if constexpr (K == ActKind::sigmoid)
    return sigmoid_approx(x);
  else if constexpr (K == ActKind::silu)
    return times_vanishing(x, sigmoid_approx(x));  // silu(-inf) = 0
  else
    return act::forward(x, K, alpha);
}

template <ActKind K>
[[gnu::always_inline]] inline float derivative_of(float x, float alpha) {
  if constexpr (K == ActKind::tanh) {
    const float t = tanh_approx(x);
    return 1.0f - t * t;
  } else if constexpr (K == ActKind::sigmoid) {
    const float s = sigmoid_approx(x);
    return s * (1.0f - s);
  } else if constexpr (K == ActKind::silu) {
    const float s = sigmoid_approx(x);
    return s + times_vanishing(x, s * (1.0f - s));  // as act::slope: limits 1 and 0 at +-inf
  } else {
    return act::derivative(x, K, alpha);
  }
}

// Chunks of this many elements are the unit of work of a thread, each run through
// run_simd() (simd_run.h) so the loop is vectorised for the CPU's widest SIMD path.
constexpr int64_t kChunk = 8192;

template <ActKind K>
void forward_loop(int64_t n, const float* __restrict x, float* __restrict y, float alpha, SimdPath path, int nthreads) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t i = begin; i < end; ++i) y[i] = forward_of<K>(x[i], alpha);
    });
  }
}

template <ActKind K>
void backward_loop(int64_t n, const float* __restrict x, const float* __restrict dy, float* __restrict dx, float alpha,
                   SimdPath path, int nthreads) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * derivative_of<K>(x[i], alpha);
    });
  }
}

// Calls fn(std::integral_constant<ActKind, K>{}) for the run-time kind K.
template <typename Fn>
void dispatch(ActKind kind, Fn&& fn) {
  using K = ActKind;
  switch (kind) {
    case K::linear:
      return fn(std::integral_constant<K, K::linear>{});
    case K::relu:
      return fn(std::integral_constant<K, K::relu>{});
    case K::sigmoid:
      return fn(std::integral_constant<K, K::sigmoid>{});
    case K::tanh:
      return fn(std::integral_constant<K, K::tanh>{});
    case K::leaky_relu:
      return fn(std::integral_constant<K, K::leaky_relu>{});
    case K::elu:
      return fn(std::integral_constant<K, K::elu>{});
    case K::selu:
      return fn(std::integral_constant<K, K::selu>{});
    case K::gelu_tanh:
      return fn(std::integral_constant<K, K::gelu_tanh>{});
    case K::gelu:
      return fn(std::integral_constant<K, K::gelu>{});
    case K::hard_sigmoid:
      return fn(std::integral_constant<K, K::hard_sigmoid>{});
    case K::softplus:
      return fn(std::integral_constant<K, K::softplus>{});
    case K::silu:
      return fn(std::integral_constant<K, K::silu>{});
    case K::softsign:
      return fn(std::integral_constant<K, K::softsign>{});
    case K::exponential:
      return fn(std::integral_constant<K, K::exponential>{});
    case K::relu6:
      return fn(std::integral_constant<K, K::relu6>{});
  }
}

}  // namespace

void activation_forward(int64_t n, const float* x, float* y, ActKind kind, float alpha, SimdPath path,
                        int max_threads) {
  const int nthreads = threads_for(static_cast<double>(n), grain::kElementwise, max_threads);
  dispatch(kind, [&](auto k) { forward_loop<decltype(k)::value>(n, x, y, alpha, path, nthreads); });
}

void activation_backward(int64_t n, const float* x, const float* dy, float* dx, ActKind kind, float alpha,
                         SimdPath path, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(n), grain::kElementwise, max_threads);
  dispatch(kind, [&](auto k) { backward_loop<decltype(k)::value>(n, x, dy, dx, alpha, path, nthreads); });
}

}  // namespace sinapse::cpu
