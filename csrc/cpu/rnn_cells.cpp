// The fused gate kernels of one recurrent step on the CPU (forward and backward of every
// cell), called by the time loop in rnn.cpp. One row of the batch is a few contiguous runs of
// H floats per gate, so each row is a plain loop over units that the compiler vectorises;
// it is compiled once per SIMD path (target attributes) with the branch-free polynomial exp of
// vec_math.h, since the C library's expf/tanhf calls would keep the loop scalar. Rows are split over
// threads when the step is large enough to pay for the parallel region.
#include <algorithm>
#include <cstring>
#include <limits>

#include "../common/macros.h"
#include "../common/threading.h"
#include "rnn.h"
#include "simd_run.h"
#include "vec_math.h"

namespace sinapse::cpu {

namespace {

// The one vectorisable exp/sigmoid/tanh of the CPU kernels (vec_math.h), as the activation
// kernel uses: a gate and the sigmoid/tanh activation compute the same function.
using M = VecMath;

// Every helper below is always_inline: it must be compiled into the per-path functions
// (forward_avx512, ...), not once for the baseline ISA.
#define SINAPSE_ROW [[gnu::always_inline]] inline

// ---- forward: one row n of a step, units [j0, j1) (the small-batch path splits the units) ----

// The pointers of row n.
struct FwdRow {
  float* g;  // the gate pre-activations in, the activations out
  const float* hp;
  float* hn;
  float* y;  // may be y_prev itself (only the last output is kept)
  const float* cp;
  float* cn;
};

SINAPSE_ROW FwdRow fwd_row(RnnCell cell, const RnnStep& s, int64_t n) {
  const bool lstm = cell == RnnCell::lstm;
  return {s.g + n * s.g_ld,
          s.h_prev + n * s.h_prev_ld,
          s.h_new + n * s.h_new_ld,
          s.y + n * s.y_ld,
          lstm ? s.c_prev + n * s.c_prev_ld : nullptr,
          lstm ? s.c_new + n * s.c_new_ld : nullptr};
}

// GRU reset_before, phase 0: z, r, and r * h_prev for the U_h product.
SINAPSE_ROW void gru_reset_gates(const RnnStep& s, int64_t n, int64_t j0, int64_t j1) {
  const int64_t H = s.H;
  float* __restrict g = s.g + n * s.g_ld;
  const float* __restrict hp = s.h_prev + n * s.h_prev_ld;
  float* __restrict ex = s.extra + n * s.extra_ld;
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const float z = M::sigmoid(g[j]), r = M::sigmoid(g[H + j]);
    g[j] = z;
    g[H + j] = r;
    ex[j] = r * hp[j];
  }
}

// A masked row: carry the state, repeat the previous output.
SINAPSE_ROW void carry_masked_row(const RnnStep& s, int64_t n, const FwdRow& r, int64_t j0, int64_t j1) {
  const float* yp = s.y_prev ? s.y_prev + n * s.y_prev_ld : nullptr;
  for (int64_t j = j0; j < j1; ++j) {
    r.hn[j] = r.hp[j];
    r.y[j] = yp ? yp[j] : 0.0f;
  }
  if (r.cn) std::memcpy(r.cn + j0, r.cp + j0, sizeof(float) * (j1 - j0));
}

SINAPSE_ROW void simple_forward_row(const FwdRow& r, bool relu, int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const float h = rnn::simple_forward<M>(r.g[j], relu);
    r.g[j] = h;
    r.hn[j] = h;
    r.y[j] = h;
  }
}

SINAPSE_ROW void lstm_forward_row(const FwdRow& r, int64_t H, int64_t j0, int64_t j1) {
  float* __restrict g = r.g;
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j], c, h;
    rnn::lstm_forward<M>(i, f, gg, o, r.cp[j], c, h);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
    r.cn[j] = c;
    r.hn[j] = h;
    r.y[j] = h;
  }
}

SINAPSE_ROW void gru_forward_row(const RnnStep& s, int64_t n, const FwdRow& r, int64_t j0, int64_t j1) {
  const int64_t H = s.H;
  float* __restrict g = r.g;
  const float* __restrict rec = s.rec + n * 3 * H;
  float* __restrict ex = s.extra + n * s.extra_ld;
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    float z = g[j], rr = g[H + j], hh = g[2 * H + j], h;
    rnn::gru_forward<M>(z, rr, hh, rec[j], rec[H + j], rec[2 * H + j], r.hp[j], h);
    g[j] = z;
    g[H + j] = rr;
    g[2 * H + j] = hh;
    ex[j] = rec[2 * H + j];
    r.hn[j] = h;
    r.y[j] = h;
  }
}

// GRU reset_before, phase 1 (after U_h (r * h_prev) was added to the candidate's gate).
SINAPSE_ROW void gru_reset_before_forward_row(const FwdRow& r, int64_t H, int64_t j0, int64_t j1) {
  float* __restrict g = r.g;
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const float z = g[j], hh = M::tanh(g[2 * H + j]);
    const float h = z * r.hp[j] + (1.0f - z) * hh;
    g[2 * H + j] = hh;
    r.hn[j] = h;
    r.y[j] = h;
  }
}

// Rows [n0, n1), units [j0, j1) of a step.
SINAPSE_ROW void forward_rows(RnnCell cell, const RnnStep& s, int phase, int64_t n0, int64_t n1, int64_t j0,
                              int64_t j1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (cell == RnnCell::gru_reset_before && phase == 0) {
      gru_reset_gates(s, n, j0, j1);
      continue;
    }
    const FwdRow r = fwd_row(cell, s, n);
    if (s.mask && !s.mask[n * s.mask_ld]) {
      carry_masked_row(s, n, r, j0, j1);
      continue;
    }
    switch (cell) {
      case RnnCell::simple_tanh:
      case RnnCell::simple_relu:
        simple_forward_row(r, cell == RnnCell::simple_relu, j0, j1);
        break;
      case RnnCell::lstm:
        lstm_forward_row(r, s.H, j0, j1);
        break;
      case RnnCell::gru:
        gru_forward_row(s, n, r, j0, j1);
        break;
      case RnnCell::gru_reset_before:
        gru_reset_before_forward_row(r, s.H, j0, j1);
        break;
    }
  }
}

// ---- backward: one row n of a step, all H units ----

// The pointers of row n (phase 0).
struct BwdRow {
  const float* g;
  const float* hp;
  float* dg;
  float* dhn;
  const float* dh;
  const float* dy;  // null: no output gradient at this step
  float* carry;
};

SINAPSE_ROW BwdRow bwd_row(const RnnStepGrad& s, int64_t n) {
  return {s.g + n * s.g_ld, s.h_prev + n * s.h_prev_ld,          s.dg + n * s.dg_ld, s.dh_next + n * s.H,
          s.dh + n * s.H,   s.dy ? s.dy + n * s.dy_ld : nullptr, s.carry + n * s.H};
}

// GRU reset_before, phase 1: dr from d(r h_prev), and r d(r h_prev) into dh_prev.
SINAPSE_ROW void gru_reset_backward_row(const RnnStepGrad& s, int64_t n) {
  const int64_t H = s.H;
  const float* __restrict g = s.g + n * s.g_ld;
  const float* __restrict hp = s.h_prev + n * s.h_prev_ld;
  float* __restrict dg = s.dg + n * s.dg_ld;
  float* __restrict dhn = s.dh_next + n * H;
  const float* __restrict drh = s.drh + n * H;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float r = g[H + j];
    dg[H + j] = drh[j] * hp[j] * r * (1.0f - r);
    dhn[j] += drh[j] * r;
  }
}

// A masked row: the output repeated the previous one, so its gradient moves there; the state
// passes through.
SINAPSE_ROW void pass_masked_row(RnnCell cell, const RnnStepGrad& s, int64_t n, const BwdRow& r) {
  const int64_t GH = rnn_gates(cell) * s.H;
  for (int64_t j = 0; j < s.H; ++j) {
    if (r.dy) r.carry[j] += r.dy[j];
    r.dhn[j] = r.dh[j];
  }
  std::fill(r.dg, r.dg + GH, 0.0f);
  if (cell == RnnCell::gru) std::fill(s.dgr + n * s.dgr_ld, s.dgr + n * s.dgr_ld + GH, 0.0f);
}

// dL/dh_new = state gradient + this output's gradient + what masked later outputs passed back
// (the carry is consumed).
SINAPSE_ROW float total_dh(const BwdRow& r, int64_t j) {
  const float d = r.dh[j] + r.carry[j] + (r.dy ? r.dy[j] : 0.0f);
  r.carry[j] = 0.0f;
  return d;
}

SINAPSE_ROW void simple_backward_row(const BwdRow& r, int64_t H, bool relu) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    r.dg[j] = rnn::simple_backward(r.g[j], total_dh(r, j), relu);
    r.dhn[j] = 0.0f;
  }
}

SINAPSE_ROW void lstm_backward_row(const RnnStepGrad& s, int64_t n, const BwdRow& r) {
  const int64_t H = s.H;
  const float* __restrict g = r.g;
  const float* __restrict cp = s.c_prev + n * s.c_prev_ld;
  float* __restrict dc = s.dc + n * H;
  float* __restrict dg = r.dg;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    float c = dc[j], di, df, dgg, d_o;
    rnn::lstm_backward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cp[j], total_dh(r, j), c, di, df, dgg, d_o);
    dc[j] = c;
    dg[j] = di;
    dg[H + j] = df;
    dg[2 * H + j] = dgg;
    dg[3 * H + j] = d_o;
    r.dhn[j] = 0.0f;
  }
}

SINAPSE_ROW void gru_backward_row(const RnnStepGrad& s, int64_t n, const BwdRow& r) {
  const int64_t H = s.H;
  const float* __restrict g = r.g;
  const float* __restrict ex = s.extra + n * s.extra_ld;
  float* __restrict dgr = s.dgr + n * s.dgr_ld;
  float* __restrict dg = r.dg;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float z = g[j], rr = g[H + j], hh = g[2 * H + j];
    float dz, dhh, dhp;
    rnn::gru_backward_zh(z, hh, r.hp[j], total_dh(r, j), dz, dhh, dhp);
    const float dr = dhh * ex[j] * rr * (1.0f - rr);
    dg[j] = dgr[j] = dz;
    dg[H + j] = dgr[H + j] = dr;
    dg[2 * H + j] = dhh;
    dgr[2 * H + j] = dhh * rr;
    r.dhn[j] = dhp;
  }
}

SINAPSE_ROW void gru_reset_before_backward_row(const BwdRow& r, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    float dz, dhh, dhp;
    rnn::gru_backward_zh(r.g[j], r.g[2 * H + j], r.hp[j], total_dh(r, j), dz, dhh, dhp);
    r.dg[j] = dz;
    r.dg[2 * H + j] = dhh;
    r.dhn[j] = dhp;
  }
}

SINAPSE_ROW void backward_rows(RnnCell cell, const RnnStepGrad& s, int phase, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const bool on = !s.mask || s.mask[n * s.mask_ld];
    if (phase == 1) {
      if (on) gru_reset_backward_row(s, n);
      continue;
    }
    const BwdRow r = bwd_row(s, n);
    if (!on) {
      pass_masked_row(cell, s, n, r);
      continue;
    }
    switch (cell) {
      case RnnCell::simple_tanh:
      case RnnCell::simple_relu:
        simple_backward_row(r, s.H, cell == RnnCell::simple_relu);
        break;
      case RnnCell::lstm:
        lstm_backward_row(s, n, r);
        break;
      case RnnCell::gru:
        gru_backward_row(s, n, r);
        break;
      case RnnCell::gru_reset_before:
        gru_reset_before_backward_row(r, s.H);
        break;
    }
  }
}

#undef SINAPSE_ROW

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
  const int nthreads = threads_for(work, grain::kHeavyElementwise, max_threads, s.N);
  if (nthreads <= 1) return rows(cell, s, phase, 0, s.N, all_units...);
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int t = 0; t < nthreads; ++t) rows(cell, s, phase, s.N * t / nthreads, s.N * (t + 1) / nthreads, all_units...);
}

decltype(&forward_generic) forward_for(SimdPath path) {
  return pick_simd(path, SINAPSE_SIMD_VERSIONS(forward_generic, forward_avx2, forward_avx512));
}

}  // namespace

void rnn_step_forward(RnnCell cell, const RnnStep& s, int phase, SimdPath path, int max_threads) {
  over_rows(forward_for(path), cell, s, phase, max_threads, int64_t{0}, s.H);
}

void rnn_step_forward_units(RnnCell cell, const RnnStep& s, int64_t j0, int64_t j1, SimdPath path) {
  forward_for(path)(cell, s, 0, 0, s.N, j0, j1);
}

void rnn_step_backward(RnnCell cell, const RnnStepGrad& s, int phase, SimdPath path, int max_threads) {
  over_rows(pick_simd(path, SINAPSE_SIMD_VERSIONS(backward_generic, backward_avx2, backward_avx512)), cell, s, phase,
            max_threads);
}

}  // namespace sinapse::cpu
