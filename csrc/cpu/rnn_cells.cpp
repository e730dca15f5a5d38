// The fused gate kernels of one recurrent step on the CPU (forward and backward of every
// cell), called by the time loop in rnn.cpp. One row of the batch is a few contiguous runs of
// H floats per gate, so each row is a plain loop over units that the compiler vectorises;
// it is compiled once per SIMD path (target attributes) with a branch-free polynomial exp,
// since the C library's expf/tanhf calls would keep the loop scalar. Rows are split over
// threads when the step is large enough to pay for the parallel region.
#include <algorithm>
#include <cstring>
#include <limits>

#include "../common/macros.h"
#include "../common/threading.h"
#include "rnn.h"

namespace sinapse::cpu {

namespace {

[[gnu::always_inline]] inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
[[gnu::always_inline]] inline int32_t float_to_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

// exp, sigmoid and tanh without branches or library calls (vectorisable). exp: Cephes's
// expf (x = k ln2 + r, |r| <= ln2 / 2, degree-6 polynomial, 2^k assembled in the exponent
// bits), about 2 ulp; the input is clamped so 2^k stays a normal float. tanh from
// e = exp(-2|x|): (1 - e) / (1 + e) with x's sign (absolute error ~1e-7 near 0).
struct FastMath {
  [[gnu::always_inline]] static inline float exp(float x_in) {
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    float x = std::min(std::max(x_in, -87.0f), 88.0f);
    const float kf = x * 1.44269504088896341f + kMagic;
    const int32_t k = float_to_bits(kf) - float_to_bits(kMagic);
    const float kr = kf - kMagic;
    const float r = (x - kr * 0.693359375f) + kr * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // (2^k built in unsigned arithmetic: for a NaN x, k is garbage and a signed shift would
    // be undefined behaviour; the NaN still comes through p.)
    // Beyond the clamp: 0 and +inf, as expf, so sigmoid(+-inf) is exactly 1 / 0 and its
    // derivative exactly 0 (an inf input then gives inf * 0 = NaN in dW, as the reference).
    const float e =
        x_in < -87.0f ? 0.0f : p * bits_to_float(static_cast<int32_t>((static_cast<uint32_t>(k) + 127u) << 23));
    return x_in > 88.72283f ? std::numeric_limits<float>::infinity() : e;
  }
  [[gnu::always_inline]] static inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }
  [[gnu::always_inline]] static inline float tanh(float x) {
    const float e = exp(-2.0f * std::abs(x));
    const float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
  }
};
using M = FastMath;

// Rows [n0, n1), units [j0, j1) of a step (the small-batch path splits the units over threads).
[[gnu::always_inline]] inline void forward_rows(RnnCell cell, const RnnStep& s, int phase, int64_t n0, int64_t n1,
                                                int64_t j0, int64_t j1) {
  const int64_t H = s.H;
  const bool relu = cell == RnnCell::simple_relu;
  for (int64_t n = n0; n < n1; ++n) {
    float* __restrict g = s.g + n * s.g_ld;
    const float* __restrict hp = s.h_prev + n * s.h_prev_ld;
    if (cell == RnnCell::gru_reset_before && phase == 0) {  // z, r, and r * h_prev for U_h
      float* __restrict ex = s.extra + n * s.extra_ld;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) {
        const float z = M::sigmoid(g[j]), r = M::sigmoid(g[H + j]);
        g[j] = z;
        g[H + j] = r;
        ex[j] = r * hp[j];
      }
      continue;
    }
    float* __restrict hn = s.h_new + n * s.h_new_ld;
    float* y = s.y + n * s.y_ld;  // may be y_prev itself (only the last output is kept)
    const float* cp = cell == RnnCell::lstm ? s.c_prev + n * s.c_prev_ld : nullptr;
    float* cn = cell == RnnCell::lstm ? s.c_new + n * s.c_new_ld : nullptr;
    if (s.mask && !s.mask[n * s.mask_ld]) {  // masked: carry the state, repeat the output
      const float* yp = s.y_prev ? s.y_prev + n * s.y_prev_ld : nullptr;
      for (int64_t j = j0; j < j1; ++j) {
        hn[j] = hp[j];
        y[j] = yp ? yp[j] : 0.0f;
      }
      if (cn) std::memcpy(cn + j0, cp + j0, sizeof(float) * (j1 - j0));
      continue;
    }
    switch (cell) {
      case RnnCell::simple_tanh:
      case RnnCell::simple_relu:
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) {
          const float h = rnn::simple_forward<M>(g[j], relu);
          g[j] = h;
          hn[j] = h;
          y[j] = h;
        }
        break;
      case RnnCell::lstm:
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) {
          float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j], c, h;
          rnn::lstm_forward<M>(i, f, gg, o, cp[j], c, h);
          g[j] = i;
          g[H + j] = f;
          g[2 * H + j] = gg;
          g[3 * H + j] = o;
          cn[j] = c;
          hn[j] = h;
          y[j] = h;
        }
        break;
      case RnnCell::gru: {
        const float* __restrict rec = s.rec + n * 3 * H;
        float* __restrict ex = s.extra + n * s.extra_ld;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) {
          float z = g[j], r = g[H + j], hh = g[2 * H + j], h;
          rnn::gru_forward<M>(z, r, hh, rec[j], rec[H + j], rec[2 * H + j], hp[j], h);
          g[j] = z;
          g[H + j] = r;
          g[2 * H + j] = hh;
          ex[j] = rec[2 * H + j];
          hn[j] = h;
          y[j] = h;
        }
        break;
      }
      case RnnCell::gru_reset_before:
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) {
          const float z = g[j], hh = M::tanh(g[2 * H + j]);
          const float h = z * hp[j] + (1.0f - z) * hh;
          g[2 * H + j] = hh;
          hn[j] = h;
          y[j] = h;
        }
        break;
    }
  }
}

[[gnu::always_inline]] inline void backward_rows(RnnCell cell, const RnnStepGrad& s, int phase, int64_t n0,
                                                 int64_t n1) {
  const int64_t H = s.H, GH = rnn_gates(cell) * H;
  const bool relu = cell == RnnCell::simple_relu;
  for (int64_t n = n0; n < n1; ++n) {
    const bool on = !s.mask || s.mask[n * s.mask_ld];
    const float* __restrict g = s.g + n * s.g_ld;
    const float* __restrict hp = s.h_prev + n * s.h_prev_ld;
    float* __restrict dg = s.dg + n * s.dg_ld;
    float* __restrict dhn = s.dh_next + n * H;
    if (phase == 1) {  // GRU reset_before: dr from d(r h_prev), and r d(r h_prev) into dh_prev
      if (!on) continue;
      const float* __restrict drh = s.drh + n * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const float r = g[H + j];
        dg[H + j] = drh[j] * hp[j] * r * (1.0f - r);
        dhn[j] += drh[j] * r;
      }
      continue;
    }
    const float* __restrict dh = s.dh + n * H;
    const float* __restrict dy = s.dy ? s.dy + n * s.dy_ld : nullptr;
    float* __restrict carry = s.carry + n * H;
    if (!on) {  // the output repeated the previous one: its gradient moves there; the state passes through
      for (int64_t j = 0; j < H; ++j) {
        if (dy) carry[j] += dy[j];
        dhn[j] = dh[j];
      }
      std::fill(dg, dg + GH, 0.0f);
      if (cell == RnnCell::gru) std::fill(s.dgr + n * s.dgr_ld, s.dgr + n * s.dgr_ld + GH, 0.0f);
      continue;
    }
    // dL/dh_new = state gradient + this output's gradient + what masked later outputs passed back.
    auto total = [&](int64_t j) {
      const float d = dh[j] + carry[j] + (dy ? dy[j] : 0.0f);
      carry[j] = 0.0f;
      return d;
    };
    switch (cell) {
      case RnnCell::simple_tanh:
      case RnnCell::simple_relu:
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          dg[j] = rnn::simple_backward(g[j], total(j), relu);
          dhn[j] = 0.0f;
        }
        break;
      case RnnCell::lstm: {
        const float* __restrict cp = s.c_prev + n * s.c_prev_ld;
        float* __restrict dc = s.dc + n * H;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          float c = dc[j], di, df, dgg, d_o;
          rnn::lstm_backward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cp[j], total(j), c, di, df, dgg, d_o);
          dc[j] = c;
          dg[j] = di;
          dg[H + j] = df;
          dg[2 * H + j] = dgg;
          dg[3 * H + j] = d_o;
          dhn[j] = 0.0f;
        }
        break;
      }
      case RnnCell::gru: {
        const float* __restrict ex = s.extra + n * s.extra_ld;
        float* __restrict dgr = s.dgr + n * s.dgr_ld;
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          const float z = g[j], r = g[H + j], hh = g[2 * H + j];
          float dz, dhh, dhp;
          rnn::gru_backward_zh(z, hh, hp[j], total(j), dz, dhh, dhp);
          const float dr = dhh * ex[j] * r * (1.0f - r);
          dg[j] = dgr[j] = dz;
          dg[H + j] = dgr[H + j] = dr;
          dg[2 * H + j] = dhh;
          dgr[2 * H + j] = dhh * r;
          dhn[j] = dhp;
        }
        break;
      }
      case RnnCell::gru_reset_before:
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) {
          float dz, dhh, dhp;
          rnn::gru_backward_zh(g[j], g[2 * H + j], hp[j], total(j), dz, dhh, dhp);
          dg[j] = dz;
          dg[2 * H + j] = dhh;
          dhn[j] = dhp;
        }
        break;
    }
  }
}

void forward_generic(RnnCell c, const RnnStep& s, int p, int64_t n0, int64_t n1, int64_t j0, int64_t j1) {
  forward_rows(c, s, p, n0, n1, j0, j1);
}
void backward_generic(RnnCell c, const RnnStepGrad& s, int p, int64_t n0, int64_t n1) {
  backward_rows(c, s, p, n0, n1);
}
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void forward_avx2(RnnCell c, const RnnStep& s, int p, int64_t n0, int64_t n1, int64_t j0,
                                      int64_t j1) {
  forward_rows(c, s, p, n0, n1, j0, j1);
}
SINAPSE_TARGET_AVX2 void backward_avx2(RnnCell c, const RnnStepGrad& s, int p, int64_t n0, int64_t n1) {
  backward_rows(c, s, p, n0, n1);
}
SINAPSE_TARGET_AVX512 void forward_avx512(RnnCell c, const RnnStep& s, int p, int64_t n0, int64_t n1, int64_t j0,
                                          int64_t j1) {
  forward_rows(c, s, p, n0, n1, j0, j1);
}
SINAPSE_TARGET_AVX512 void backward_avx512(RnnCell c, const RnnStepGrad& s, int p, int64_t n0, int64_t n1) {
  backward_rows(c, s, p, n0, n1);
}
#endif

// Rows in parallel when a step has enough of them: ~16K gate values per thread.
template <class Rows, class Step, class... Units>
void over_rows(Rows rows, RnnCell cell, const Step& s, int phase, int max_threads, Units... all_units) {
  const double work = static_cast<double>(s.N) * rnn_gates(cell) * s.H;
  const int nthreads = std::min<int64_t>(s.N, std::min(max_threads, threads_for(work, 16384)));
  if (nthreads <= 1) return rows(cell, s, phase, 0, s.N, all_units...);
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int t = 0; t < nthreads; ++t) rows(cell, s, phase, s.N * t / nthreads, s.N * (t + 1) / nthreads, all_units...);
}

decltype(&forward_generic) forward_for(SimdPath path) {
#if SINAPSE_X86
  if (path == SimdPath::avx512) return forward_avx512;
  if (path == SimdPath::avx2) return forward_avx2;
#else
  (void)path;
#endif
  return forward_generic;
}

}  // namespace

void rnn_step_forward(RnnCell cell, const RnnStep& s, int phase, SimdPath path, int max_threads) {
  over_rows(forward_for(path), cell, s, phase, max_threads, int64_t{0}, s.H);
}

void rnn_step_forward_units(RnnCell cell, const RnnStep& s, int64_t j0, int64_t j1, SimdPath path) {
  forward_for(path)(cell, s, 0, 0, s.N, j0, j1);
}

void rnn_step_backward(RnnCell cell, const RnnStepGrad& s, int phase, SimdPath path, int max_threads) {
  auto rows = backward_generic;
#if SINAPSE_X86
  if (path == SimdPath::avx512) rows = backward_avx512;
  if (path == SimdPath::avx2) rows = backward_avx2;
#else
  (void)path;
#endif
  over_rows(rows, cell, s, phase, max_threads);
}

}  // namespace sinapse::cpu
