#include "losses.h"

#include <algorithm>
#include <cmath>

#include "../common/threading.h"
#include "simd_run.h"
#include "vec_math.h"

namespace sinapse::cpu {

namespace {

// Softmax cross-entropy from logits (categorical and sparse), the same formulas as
// loss_row() in common/losses.h, vectorised: exp_approx instead of libm's expf, and the
// sparse target handled as one index instead of a per-element comparison. This is the
// loss every classifier trains with, so it gets its own loop; the other losses use the
// shared row function.
void softmax_cross_entropy_row(const LossArgs& a, int64_t i, SimdPath path) {
  const int64_t D = a.cols;
  const float* __restrict z = a.y_pred + i * D;
  const float* __restrict t = a.y_true ? a.y_true + i * D : nullptr;
  float* __restrict g = a.grad ? a.grad + i * D : nullptr;
  const float w = a.weights ? a.weights[i] : 1.0f;
  const float gs = w * a.grad_scale;
  run_simd(path, [&]() SINAPSE_INLINE {
    float m = z[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 1; j < D; ++j) m = z[j] > m ? z[j] : m;
    const double s = sum_exp_shifted(z, D, m);
    const float lse = m + static_cast<float>(std::log(s));
    float loss = 0.0f, ysum = 1.0f;
    if (t) {  // -sum y log softmax(z) = sum y (lse - z), term by term as the reference and the
      // CUDA twin: lse * sum(y) - sum(y z) would also cancel, and give inf - inf for infinite y
      ysum = 0.0f;
#pragma omp simd reduction(+ : ysum, loss)
      for (int64_t j = 0; j < D; ++j) {
        ysum += t[j];
        loss += t[j] * (lse - z[j]);
      }
    } else {
      loss = lse - z[a.labels[i]];
    }
    if (g) {  // grad = p * sum(y) - y
      const float scale = gs * ysum;
      for (int64_t j = 0; j < D; ++j) g[j] = scale * exp_approx(z[j] - lse);
      if (t)
        for (int64_t j = 0; j < D; ++j) g[j] -= gs * t[j];
      else
        g[a.labels[i]] -= gs;
    }
    a.per_row[i] = w * loss;
  });
}

// A loss element costs a log or an exp and a few divisions: about 8 activation elements.
constexpr double kCostPerElement = 8;

}  // namespace

double loss(const LossArgs& a, SimdPath path, int max_threads) {
  const int nthreads =
      threads_for(static_cast<double>(a.rows) * a.cols * kCostPerElement, grain::kElementwise, max_threads);
  const bool softmax_xent = a.from_logits && (a.kind == LossKind::categorical_crossentropy ||
                                              a.kind == LossKind::sparse_categorical_crossentropy);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < a.rows; ++i) {
    if (softmax_xent)
      softmax_cross_entropy_row(a, i, path);
    else
      loss_row(a, i);
  }
  double total = 0.0;
  for (int64_t i = 0; i < a.rows; ++i) total += a.per_row[i];
  return total;
}

}  // namespace sinapse::cpu
