// Layer and group normalization: the geometry both share, and the definition for one row
// (or one channel) as plain loops in double, written once for the CPU's naive kernels
// (cpu/layer_norm_naive.cpp) and the CUDA kernels (cuda/layer_norm.cu: the naive variant's
// one thread per row, and the deterministic per-channel dgamma / dbeta sums).
//
// A normalised row is `segments` runs of `length` contiguous floats, `channels` floats apart:
//   layer norm (trailing axes viewed as one row of `length` features): groups 1, segments 1;
//   group norm (NHWC, Keras's GroupNormalization): batch N, segments H*W, groups G,
//     length C / G: row (n, g) is channels g*L .. g*L+L-1 at every pixel of sample n.
// Element k of run s of row (n, g) is at ((n * segments + s) * channels + g * length + k), and
// uses gamma / beta of channel g * length + k (layer norm: feature k).
//
//   y = (x - mean) * inv_std * gamma + beta,  inv_std = 1 / sqrt(var + epsilon)
// with the biased variance (Keras's LayerNormalization / GroupNormalization; Ba et al. 2016).
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"

namespace sinapse {

struct LayerNormArgs {
  int64_t batch;     // N: layer norm: every row; group norm: the samples
  int64_t segments;  // runs per normalised row (group norm: H*W; layer norm: 1)
  int64_t groups;    // G (layer norm: 1)
  int64_t length;    // floats per run (layer norm: the features; group norm: C / G)
  float epsilon;

  SINAPSE_HD int64_t rows() const { return batch * groups; }       // normalised rows: one mean / inv_std each
  SINAPSE_HD int64_t channels() const { return groups * length; }  // gamma's and beta's length
  SINAPSE_HD int64_t row_size() const { return segments * length; }
  SINAPSE_HD int64_t size() const { return batch * segments * groups * length; }
  // Where run s of row r starts.
  SINAPSE_HD int64_t run_start(int64_t r, int64_t s) const {
    return (r / groups * segments + s) * channels() + r % groups * length;
  }
};

// mean[r], inv_std[r] and row r of y: two passes in double (no E[x^2] - E[x]^2 cancellation).
// gamma / beta may be null (scale 1, offset 0). y may be x: each element is read before written.
SINAPSE_HD void layer_norm_row_forward(const LayerNormArgs& a, int64_t r, const float* x, const float* gamma,
                                       const float* beta, float* y, float* mean, float* inv_std) {
  const int64_t L = a.length, c0 = r % a.groups * L;
  double sum = 0.0;
  for (int64_t s = 0; s < a.segments; ++s)
    for (int64_t k = 0; k < L; ++k) sum += x[a.run_start(r, s) + k];
  const double n = static_cast<double>(a.row_size()), m = sum / n;
  double sq = 0.0;
  for (int64_t s = 0; s < a.segments; ++s)
    for (int64_t k = 0; k < L; ++k) {
      const double d = x[a.run_start(r, s) + k] - m;
      sq += d * d;
    }
  const double inv = 1.0 / sqrt(sq / n + a.epsilon);
  mean[r] = static_cast<float>(m);
  inv_std[r] = static_cast<float>(inv);
  for (int64_t s = 0; s < a.segments; ++s)
    for (int64_t k = 0; k < L; ++k) {
      const int64_t i = a.run_start(r, s) + k;
      const double v = (x[i] - m) * inv * (gamma ? gamma[c0 + k] : 1.0f) + (beta ? beta[c0 + k] : 0.0f);
      y[i] = static_cast<float>(v);
    }
}

// Row r of dx: with xhat = (x - mean) * inv_std and g = dy * gamma,
//   dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))      (sums in double).
// dx may be dy: the row is read in full before it is written.
SINAPSE_HD void layer_norm_row_backward(const LayerNormArgs& a, int64_t r, const float* x, const float* dy,
                                        const float* gamma, const float* mean, const float* inv_std, float* dx) {
  const int64_t L = a.length, c0 = r % a.groups * L;
  const double m = mean[r], inv = inv_std[r];
  double sg = 0.0, sgx = 0.0;
  for (int64_t s = 0; s < a.segments; ++s)
    for (int64_t k = 0; k < L; ++k) {
      const int64_t i = a.run_start(r, s) + k;
      const double g = static_cast<double>(dy[i]) * (gamma ? gamma[c0 + k] : 1.0f);
      sg += g;
      sgx += g * (x[i] - m) * inv;
    }
  const double n = static_cast<double>(a.row_size()), mg = sg / n, mgx = sgx / n;
  for (int64_t s = 0; s < a.segments; ++s)
    for (int64_t k = 0; k < L; ++k) {
      const int64_t i = a.run_start(r, s) + k;
      const double g = static_cast<double>(dy[i]) * (gamma ? gamma[c0 + k] : 1.0f);
      dx[i] = static_cast<float>(inv * (g - mg - (x[i] - m) * inv * mgx));
    }
}

// dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy) over every element of channel c, in a fixed
// order (sample, then run), in double: deterministic, no atomics.
SINAPSE_HD void layer_norm_channel_grads(const LayerNormArgs& a, int64_t c, const float* x, const float* dy,
                                         const float* mean, const float* inv_std, float* dgamma, float* dbeta) {
  const int64_t C = a.channels(), g = c / a.length;
  double sb = 0.0, sgm = 0.0;
  for (int64_t n = 0; n < a.batch; ++n) {
    const int64_t r = n * a.groups + g;
    const double m = mean[r], inv = inv_std[r];
    for (int64_t s = 0; s < a.segments; ++s) {
      const int64_t i = (n * a.segments + s) * C + c;
      sb += dy[i];
      sgm += static_cast<double>(dy[i]) * (x[i] - m) * inv;
    }
  }
  dgamma[c] = static_cast<float>(sgm);
  dbeta[c] = static_cast<float>(sb);
}

}  // namespace sinapse
