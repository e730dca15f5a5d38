// Losses and their gradients with respect to the prediction, one row (sample) at a time —
// one SINAPSE_HD definition used by the CPU kernel (a loop over rows) and the CUDA kernel
// (a thread per row). Definitions follow Keras (keras.losses), including its clipping of
// probabilities to [eps, 1 - eps] with eps = 1e-7 and the normalisation of categorical
// probabilities by their sum; with logits, softmax/sigmoid is fused in and the gradient is
// the (p - y) form.
#pragma once

#include <cmath>
#include <cstdint>

#include "activations.h"
#include "macros.h"
#include "nan_rules.h"

namespace sinapse {

enum class LossKind : int {
  mse = 0,
  mae = 1,
  huber = 2,
  binary_crossentropy = 3,
  categorical_crossentropy = 4,
  sparse_categorical_crossentropy = 5
};

struct LossArgs {
  LossKind kind;
  bool from_logits;
  int64_t rows, cols;     // y_pred is rows x cols; the loss of a row averages (or sums) its cols
  const float* y_true;    // rows x cols (null for the sparse kind)
  const int32_t* labels;  // rows (sparse kind only), each in [0, cols)
  const float* y_pred;    // rows x cols: predictions, probabilities or logits
  const float* weights;   // rows, or null (all 1)
  float delta;            // huber
  float grad_scale;       // 1 / rows for the mean reduction, 1 for sum
  float* per_row;         // rows: weight * loss of each row
  float* grad;            // rows x cols, or null: d(reduced loss) / d y_pred
};

namespace loss_detail {
constexpr float kEps = 1e-7f;
// NaN in a prediction or target makes that row's loss and gradient NaN (np.sign(NaN) = NaN;
// clip keeps NaN; inside() is true for NaN, so the gradient is computed, not zeroed).
SINAPSE_HD float sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }
SINAPSE_HD float clip(float x) { return clamp_keep_nan(x, kEps, 1.0f - kEps); }
SINAPSE_HD bool inside(float x) { return !(x < kEps || x > 1.0f - kEps); }  // where clip passes the gradient

// One row's operands: prediction p, target t (null for the sparse kind: `label` instead),
// gradient g (null: not wanted) and the gradient's scale gs = weight * grad_scale.
struct Row {
  const float* p;
  const float* t;
  int32_t label;
  float* g;
  float gs;
  SINAPSE_HD float target(int64_t j) const { return t ? t[j] : (j == label ? 1.0f : 0.0f); }
  SINAPSE_HD bool has_target(int64_t j) const { return t || j == label; }  // sparse: the label's term alone
};

// The row's mean of the element losses l_j, and the gradient gs * dl_j / D;
// term(j, l, dl) computes l_j and dl_j = d l_j / d p_j.
template <class Term>
SINAPSE_HD float row_mean(const LossArgs& a, const Row& r, Term term) {
  const int64_t D = a.cols;
  float loss = 0.0f;
  for (int64_t j = 0; j < D; ++j) {
    float l, dl;
    term(j, l, dl);
    loss += l;
    if (r.g) r.g[j] = r.gs * dl / static_cast<float>(D);
  }
  return loss / static_cast<float>(D);
}

// mse, mae, huber of d = p - t.
SINAPSE_HD float regression(const LossArgs& a, const Row& r) {
  return row_mean(a, r, [&](int64_t j, float& l, float& dl) {
    const float d = r.p[j] - r.t[j], ad = fabsf(d);
    if (a.kind == LossKind::mse) {
      l = d * d;
      dl = 2.0f * d;
    } else if (a.kind == LossKind::mae) {
      l = ad;
      dl = sign(d);
    } else if (ad <= a.delta) {
      l = 0.5f * d * d;
      dl = d;
    } else {
      l = a.delta * (ad - 0.5f * a.delta);
      dl = a.delta * sign(d);
    }
  });
}

SINAPSE_HD float binary_crossentropy(const LossArgs& a, const Row& r) {
  const float* t = r.t;
  return row_mean(a, r, [&](int64_t j, float& l, float& dl) {
    if (a.from_logits) {       // z (1 - y) or -z y, + log(1 + e^-|z|): stable for any z, and at
      const float z = r.p[j];  // z = +-inf the limit (inf, or 0 when y is 1 or 0), not inf - inf
      l = (z > 0.0f ? times_vanishing(z, 1.0f - t[j]) : times_vanishing(-z, t[j])) + log1pf(expf(-fabsf(z)));
      dl = act::sigmoid(z) - t[j];
    } else {
      const float q = clip(r.p[j]);
      l = -(t[j] * logf(q) + (1.0f - t[j]) * logf(1.0f - q));
      dl = inside(r.p[j]) ? (q - t[j]) / (q * (1.0f - q)) : 0.0f;
    }
  });
}

// -sum y log softmax(z) = lse * sum(y) - sum(y z); grad = p sum(y) - y.
SINAPSE_HD float softmax_crossentropy(const LossArgs& a, const Row& r) {
  const int64_t D = a.cols;
  const float* z = r.p;
  float ysum = 0.0f;
  for (int64_t j = 0; j < D; ++j) ysum += r.target(j);
  float m = z[0];
  for (int64_t j = 1; j < D; ++j) m = fmaxf(m, z[j]);
  float s = 0.0f;
  for (int64_t j = 0; j < D; ++j) s += expf(z[j] - m);
  const float lse = m + logf(s);
  float loss = 0.0f;
  for (int64_t j = 0; j < D; ++j) {
    if (r.has_target(j)) loss += r.target(j) * (lse - z[j]);  // sparse: no 0 * inf
    if (r.g) r.g[j] = r.gs * (expf(z[j] - lse) * ysum - r.target(j));
  }
  return loss;
}

// q = p / sum(p), clipped: -sum y log q; the gradient flows through both.
SINAPSE_HD float probabilities_crossentropy(const LossArgs& a, const Row& r) {
  const int64_t D = a.cols;
  const float* p = r.p;
  // d loss / d q_j: 0 where the clip is flat, and for the sparse kind 0 off the label (a
  // gather: a NaN q elsewhere, from an inf probability, does not enter)
  auto dl_dq = [&](int64_t j, float q, float qc) { return r.has_target(j) && inside(q) ? -r.target(j) / qc : 0.0f; };
  float s = 0.0f;
  for (int64_t j = 0; j < D; ++j) s += p[j];
  float loss = 0.0f, dot = 0.0f;  // dot = sum_k g_k q_k with g_k = d loss / d q_k
  for (int64_t j = 0; j < D; ++j) {
    const float q = p[j] / s, qc = clip(q);
    if (r.has_target(j)) loss -= r.target(j) * logf(qc);  // sparse: the label's term alone (a gather)
    dot += dl_dq(j, q, qc) * q;
  }
  if (r.g)
    for (int64_t j = 0; j < D; ++j) {
      const float q = p[j] / s, qc = clip(q);
      r.g[j] = r.gs * (dl_dq(j, q, qc) - dot) / s;
    }
  return loss;
}
}  // namespace loss_detail

SINAPSE_HD void loss_row(const LossArgs& a, int64_t i) {
  using namespace loss_detail;
  const int64_t D = a.cols;
  const float w = a.weights ? a.weights[i] : 1.0f;
  const Row r{a.y_pred + i * D, a.y_true ? a.y_true + i * D : nullptr, a.labels ? a.labels[i] : -1,
              a.grad ? a.grad + i * D : nullptr, w * a.grad_scale};
  float loss = 0.0f;
  switch (a.kind) {
    case LossKind::mse:
    case LossKind::mae:
    case LossKind::huber:
      loss = regression(a, r);
      break;
    case LossKind::binary_crossentropy:
      loss = binary_crossentropy(a, r);
      break;
    case LossKind::categorical_crossentropy:
    case LossKind::sparse_categorical_crossentropy:
      loss = a.from_logits ? softmax_crossentropy(a, r) : probabilities_crossentropy(a, r);
      break;
  }
  a.per_row[i] = w * loss;
}

}  // namespace sinapse
