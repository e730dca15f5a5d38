// The "tuned" group norm over positions (a.segments > 1: NHWC, row (n, g) is channels
// g*L .. g*L+L-1 at every position of sample n). Walking a row would touch one short run per
// position (C / G floats, C apart: a horizontal sum per run, vectors mostly empty); instead
// each pass walks the whole sample contiguously, position by position, accumulating per
// channel across the C-wide vector, and the channels are folded into their groups afterwards.
// Threads over samples.
//
// Forward, per sample: one read sums t = x - x0 and t^2 per channel (x0 = each group's first
// element, the shift of layer_norm.cpp; a second read around the means when a shift lies more
// than 8 standard deviations away), folded into each group's statistics; a second pass writes
// y with per-channel mean, scale (inv_std * gamma) and beta vectors. Sums in float over blocks
// of kFlushRows positions, then in double (a sample may hold many positions).
// Backward, per sample: one pass sums dy and dy * xhat per channel (dbeta's and dgamma's
// contributions, and, times gamma and folded per group, the row sums of g and g * xhat); a
// second writes dx = k1 * dy - k0 - (x - mean) * k2 with per-channel vectors.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/threading.h"
#include "layer_norm.h"
#include "layer_norm_parts.h"

namespace sinapse::cpu {

namespace {

// Per-thread per-channel scratch.
struct Scratch {
  explicit Scratch(int64_t C) : s1(C), s2(C), m(C), k1(C), k2(C), k0(C), f1(C), f2(C) {}
  std::vector<double> s1, s2;
  std::vector<float> m, k1, k2, k0, f1, f2;
};

// Sums of each group's channels of v (C values) -> out[g].
void fold(const LayerNormArgs& a, const double* v, double* out) {
  for (int64_t g = 0; g < a.groups; ++g) {
    double s = 0.0;
    for (int64_t k = 0; k < a.length; ++k) s += v[g * a.length + k];
    out[g] = s;
  }
}

// w.s1[c] = sum over positions of u, w.s2[c] of v, with (u, v) = terms(i, c) for element
// i = s * C + c: float over blocks of kFlushRows positions (vector speed), then into double.
template <typename Terms>
void channel_sums(int64_t S, int64_t C, Scratch& w, SimdPath path, Terms terms) {
  double *s1 = w.s1.data(), *s2 = w.s2.data();
  float *f1 = w.f1.data(), *f2 = w.f2.data();
  std::fill(s1, s1 + C, 0.0);
  std::fill(s2, s2 + C, 0.0);
  for (int64_t s0 = 0; s0 < S; s0 += kFlushRows) {
    const int64_t s_end = std::min(S, s0 + kFlushRows);
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t c = 0; c < C; ++c) f1[c] = f2[c] = 0.0f;
      for (int64_t s = s0; s < s_end; ++s)
        for (int64_t c = 0; c < C; ++c) {
          const auto [u, v] = terms(s * C + c, c);
          f1[c] += u;
          f2[c] += v;
        }
      for (int64_t c = 0; c < C; ++c) {
        s1[c] += f1[c];
        s2[c] += f2[c];
      }
    });
  }
}

struct Terms {
  float u, v;
};

// Per-sample statistics from one read: per-channel sums of t = x - shift and t^2, shift the
// group's first element, folded per group (layer_norm.cpp's shifted statistics); a group whose
// shift lies more than 8 standard deviations from its mean sends the sample through a second
// read around the means. Writes mean / inv_std of the sample's groups, and m[c] = its group's
// mean per channel.
void sample_stats(const LayerNormArgs& a, const float* xs, Scratch& w, float* mean, float* inv_std, SimdPath path) {
  const int64_t C = a.channels(), S = a.segments, G = a.groups, L = a.length;
  const double n = static_cast<double>(S * L);
  std::vector<double> g1(G), g2(G), d(G), var(G);
  float* m = w.m.data();  // the shift per channel: first its group's first element
  for (int64_t c = 0; c < C; ++c) m[c] = xs[c / L * L];
  for (int attempt = 0; attempt < 2; ++attempt) {
    channel_sums(S, C, w, path, [xs, m](int64_t i, int64_t c) SINAPSE_INLINE {
      const float t = xs[i] - m[c];
      return Terms{t, t * t};
    });
    fold(a, w.s1.data(), g1.data());
    fold(a, w.s2.data(), g2.data());
    bool careful = true;
    for (int64_t g = 0; g < G; ++g) {
      d[g] = g1[g] / n;
      var[g] = g2[g] / n - d[g] * d[g];
      careful = careful && d[g] * d[g] <= 64.0 * var[g];
    }
    for (int64_t g = 0; g < G; ++g) mean[g] = static_cast<float>(m[g * L] + d[g]);
    for (int64_t c = 0; c < C; ++c) m[c] = mean[c / L];
    if (careful) break;
  }
  for (int64_t g = 0; g < G; ++g) inv_std[g] = static_cast<float>(1.0 / std::sqrt(std::max(var[g], 0.0) + a.epsilon));
}

}  // namespace

void layer_norm_forward_groups(const LayerNormArgs& a, const float* x, const float* gamma, const float* beta, float* y,
                               float* mean, float* inv_std, SimdPath path, int max_threads) {
  const int64_t C = a.channels(), S = a.segments, G = a.groups, L = a.length;
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const ThreadShare mine = thread_share(a.batch);
    Scratch w(C);
    for (int64_t n = mine.begin; n < mine.end; ++n) {
      const float* xs = x + n * S * C;
      float* ys = y + n * S * C;
      sample_stats(a, xs, w, mean + n * G, inv_std + n * G, path);
      const float *m = w.m.data(), *sc = w.k1.data(), *bc = w.k2.data();
      for (int64_t c = 0; c < C; ++c) {
        w.k1[c] = inv_std[n * G + c / L] * (gamma ? gamma[c] : 1.0f);
        w.k2[c] = beta ? beta[c] : 0.0f;
      }
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t s = 0; s < S; ++s)
          for (int64_t c = 0; c < C; ++c) ys[s * C + c] = (xs[s * C + c] - m[c]) * sc[c] + bc[c];
      });
    }
  }
}

void layer_norm_backward_groups(const LayerNormArgs& a, const float* x, const float* dy, const float* gamma,
                                const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta,
                                SimdPath path, int max_threads) {
  const int64_t C = a.channels(), S = a.segments, G = a.groups, L = a.length;
  const double n_row = static_cast<double>(S * L);
  const int nthreads = threads_for(static_cast<double>(a.size()), grain::kElementwise, max_threads);
  ChannelPartials partials(nthreads, C);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const ThreadShare mine = thread_share(a.batch);
    ChannelPartials::Thread acc = partials.thread(mine.thread);
    Scratch w(C);
    std::vector<double> sg(G), sgx(G), gs1(C), gs2(C);
    for (int64_t n = mine.begin; n < mine.end; ++n) {
      const float *xs = x + n * S * C, *ds = dy + n * S * C;
      float* dxs = dx + n * S * C;
      float *m = w.m.data(), *ic = w.k0.data();
      for (int64_t c = 0; c < C; ++c) {
        m[c] = mean[n * G + c / L];
        ic[c] = inv_std[n * G + c / L];
      }
      channel_sums(S, C, w, path, [xs, ds, m, ic](int64_t i, int64_t c) SINAPSE_INLINE {
        const float d = ds[i];
        return Terms{d, d * ((xs[i] - m[c]) * ic[c])};
      });
      const double *s1 = w.s1.data(), *s2 = w.s2.data();
      for (int64_t c = 0; c < C; ++c) {  // dbeta, dgamma; the row sums of g = dy * gamma and g * xhat
        acc.B[c] += s1[c];
        acc.G[c] += s2[c];
        gs1[c] = s1[c] * (gamma ? gamma[c] : 1.0f);
        gs2[c] = s2[c] * (gamma ? gamma[c] : 1.0f);
      }
      fold(a, gs1.data(), sg.data());
      fold(a, gs2.data(), sgx.data());
      float *k1 = w.k1.data(), *k2 = w.k2.data(), *k0 = ic;
      for (int64_t c = 0; c < C; ++c) {  // dx = inv * (dy * gamma - mean(g) - xhat * mean(g * xhat))
        const float inv = ic[c];
        const int64_t g = c / L;
        k1[c] = inv * (gamma ? gamma[c] : 1.0f);
        k2[c] = static_cast<float>(inv * inv * (sgx[g] / n_row));
        k0[c] = static_cast<float>(inv * (sg[g] / n_row));
      }
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t s = 0; s < S; ++s)
          for (int64_t c = 0; c < C; ++c) {
            const int64_t i = s * C + c;
            dxs[i] = k1[c] * ds[i] - k0[c] - (xs[i] - m[c]) * k2[c];
          }
      });
    }
  }
  partials.total(dgamma, dbeta);
}

}  // namespace sinapse::cpu
