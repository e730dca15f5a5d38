// The "tuned" group norm over positions (a.segments > 1: NHWC, row (n, g) is channels
// g*L .. g*L+L-1 at every position of sample n). Walking a row would touch one short run per
// position (C / G floats, C apart: a horizontal sum per run, vectors mostly empty); instead
// each pass walks the whole sample contiguously, position by position, accumulating per
// channel across the C-wide vector, and the channels are folded into their groups afterwards.
// Threads over samples.
//
// Forward, per sample: pass 1 per-channel sums of x - x0 (x0 = each group's first element,
// the shift of layer_norm.cpp), folded into each group's mean; pass 2 per-channel sums of t
// and t^2, t = x - mean, folded into the corrected two-pass variance; pass 3 writes y with
// per-channel mean, scale (inv_std * gamma) and beta vectors. Sums in double per channel
// (a sample may hold many positions).
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
  explicit Scratch(int64_t C) : s1(C), s2(C), m(C), k1(C), k2(C), k0(C) {}
  std::vector<double> s1, s2;
  std::vector<float> m, k1, k2, k0;
};

// Sums of each group's channels of v (C values) -> out[g].
void fold(const LayerNormArgs& a, const double* v, double* out) {
  for (int64_t g = 0; g < a.groups; ++g) {
    double s = 0.0;
    for (int64_t k = 0; k < a.length; ++k) s += v[g * a.length + k];
    out[g] = s;
  }
}

// Per-sample statistics (passes 1 and 2): mean / inv_std of the sample's groups, and m[c] =
// its group's mean per channel.
void sample_stats(const LayerNormArgs& a, const float* xs, Scratch& w, float* mean, float* inv_std, SimdPath path) {
  const int64_t C = a.channels(), S = a.segments, G = a.groups, L = a.length;
  const double n = static_cast<double>(S * L);
  std::vector<double> g1(G), g2(G);
  float* sh = w.k0.data();  // the shift per channel: its group's first element
  for (int64_t c = 0; c < C; ++c) sh[c] = xs[c / L * L];
  double *s1 = w.s1.data(), *s2 = w.s2.data();
  float* m = w.m.data();
  std::fill(s1, s1 + C, 0.0);
  run_simd(path, [&]() SINAPSE_INLINE {
    for (int64_t s = 0; s < S; ++s)
      for (int64_t c = 0; c < C; ++c) s1[c] += xs[s * C + c] - sh[c];
  });
  fold(a, s1, g1.data());
  for (int64_t c = 0; c < C; ++c) m[c] = static_cast<float>(sh[c] + g1[c / L] / n);
  std::fill(s1, s1 + C, 0.0);
  std::fill(s2, s2 + C, 0.0);
  run_simd(path, [&]() SINAPSE_INLINE {
    for (int64_t s = 0; s < S; ++s)
      for (int64_t c = 0; c < C; ++c) {
        const double t = xs[s * C + c] - m[c];
        s1[c] += t;
        s2[c] += t * t;
      }
  });
  fold(a, s1, g1.data());
  fold(a, s2, g2.data());
  for (int64_t g = 0; g < G; ++g) {
    const double d = g1[g] / n, var = std::max(g2[g] / n - d * d, 0.0);
    mean[g] = static_cast<float>(m[g * L] + d);
    inv_std[g] = static_cast<float>(1.0 / std::sqrt(var + a.epsilon));
  }
  for (int64_t c = 0; c < C; ++c) m[c] = mean[c / L];
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
      double *s1 = w.s1.data(), *s2 = w.s2.data();
      std::fill(s1, s1 + C, 0.0);
      std::fill(s2, s2 + C, 0.0);
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t s = 0; s < S; ++s)
          for (int64_t c = 0; c < C; ++c) {
            const float d = ds[s * C + c];
            s1[c] += d;
            s2[c] += d * ((xs[s * C + c] - m[c]) * ic[c]);
          }
      });
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
