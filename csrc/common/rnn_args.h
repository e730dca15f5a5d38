// Recurrent cells (SimpleRNN, LSTM, GRU) shared by the CPU and CUDA sequence kernels: the
// cell kinds, the workspace layout, and the per-unit equations of every cell, forward and
// backward, written once (SINAPSE_HD) and compiled for both backends. docs/kernels/rnn.md
// tells how the sequence ops are organised around them.
//
// Weights are Keras's: kernel (D, G*H), recurrent_kernel (H, G*H), gate blocks of H columns
// in Keras order — LSTM i, f, c, o; GRU z, r, h. Biases: (G*H,), except GRU reset_after
// (2, 3H): row 0 added to the input projection, row 1 to the recurrent one.
//
//   SimpleRNN  h = act(x W + h_prev U + b)                       (act = tanh or relu)
//   LSTM       i, f, o = sigmoid(.), g = tanh(.)  (each x W_k + h_prev U_k + b_k)
//              c = f c_prev + i g,  h = o tanh(c)
//   GRU        z = sigmoid(x W_z + h_prev U_z + b_z),  r = sigmoid(x W_r + h_prev U_r + b_r)
//     reset_after  hh = tanh(x W_h + b_h + r (h_prev U_h + b_rec_h))      (Keras default, PyTorch)
//     reset_before hh = tanh(x W_h + (r h_prev) U_h + b_h)                  (the seed equations)
//              h = z h_prev + (1 - z) hh
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"

namespace sinapse {

enum class RnnCell : int { simple_tanh = 0, simple_relu = 1, lstm = 2, gru = 3, gru_reset_before = 4 };
constexpr int kRnnCells = 5;

SINAPSE_HD int rnn_gates(RnnCell cell) {
  return cell == RnnCell::lstm ? 4 : (cell == RnnCell::gru || cell == RnnCell::gru_reset_before) ? 3 : 1;
}
SINAPSE_HD bool rnn_is_gru(RnnCell cell) { return cell == RnnCell::gru || cell == RnnCell::gru_reset_before; }

// One sequence op's sizes and options. Time index t is the input's (x[:, t], mask[:, t]);
// step s is the order of processing: t = s, or T - 1 - s with go_backwards. Outputs y and
// dy are indexed by s (Keras returns a go_backwards sequence in processing order).
//
// Dropout (Keras's `dropout` / `recurrent_dropout`, one mask per sequence): `in_mask` holds
// in_masks multipliers per example (N, in_masks, D) — 0, or one mask shared by every gate, or
// one per gate block (in_masks == G: gate block q projects x * in_mask[:, q]); `rec_mask`
// (N, G, H), rec_masks == G or 0: gate block q's recurrent product uses h_prev * rec_mask[:, q]
// (Keras 3's implementation=1 cells, the only ones with recurrent dropout). The multipliers
// are the dropout masks themselves (0 or 1 / (1 - rate)); the state h itself is not masked.
struct RnnArgs {
  RnnCell cell = RnnCell::lstm;
  int64_t N = 0, T = 0, D = 0, H = 0;
  bool go_backwards = false;
  bool return_sequences = true;
  int64_t in_masks = 0, rec_masks = 0;
  const float* in_mask = nullptr;
  const float* rec_mask = nullptr;
  int64_t gates() const { return rnn_gates(cell); }
  int64_t time_of_step(int64_t s) const { return go_backwards ? T - 1 - s : s; }
};

// The forward's workspace (float offsets), everything indexed (n, t) like x, so the
// backward's weight gradients are single GEMMs over all N*T rows:
//   gates (N, T, G*H)  the gate activations of each step (pre-activations while it runs)
//   hprev (N, T, H)    the state h before input t was processed (the recurrent GEMM's A)
//   cprev (N, T, H)    LSTM: the cell state before input t
//   extra (N, T, H)    GRU reset_after: h_prev U_h + b_rec_h; reset_before: r * h_prev
//   rec   (N, 3H)      GRU reset_after: this step's recurrent product (scratch)
//   xm    (N, T, D)    input dropout: x times one gate block's mask (scratch)
//   hm    (N, H)       recurrent dropout: h_prev times one gate block's mask (scratch)
struct RnnForwardLayout {
  int64_t gates = 0, hprev = 0, cprev = 0, extra = 0, rec = 0, xm = 0, hm = 0, total = 0;
};
inline RnnForwardLayout rnn_forward_layout(const RnnArgs& a) {
  RnnForwardLayout l;
  const int64_t rows = a.N * a.T;
  int64_t at = rows * a.gates() * a.H;
  l.hprev = at;
  at += rows * a.H;
  l.cprev = at;
  if (a.cell == RnnCell::lstm) at += rows * a.H;
  l.extra = at;
  if (rnn_is_gru(a.cell)) at += rows * a.H;
  l.rec = at;
  if (a.cell == RnnCell::gru) at += a.N * 3 * a.H;
  l.xm = at;
  if (a.in_masks) at += rows * a.D;
  l.hm = at;
  if (a.rec_masks) at += a.N * a.H;
  l.total = at;
  return l;
}

// The backward's scratch (float offsets):
//   dg   (N, T, G*H)  gradients of the gate pre-activations on the input side (x W + b)
//   dgr  (N, T, 3H)   GRU reset_after: the same on the recurrent side (h_prev U + b_rec)
//   dh, dh_next, dc, carry, drh (N, H) each: the state gradients of the current step, the
//   output gradient carried across masked steps, GRU reset_before's d(r * h_prev)
//   ut   (G*H, H)     recurrent_kernel transposed, so the per-step GEMM dG U^T reads B
//                     row by row (the fast GEMV at batch 1) instead of as dot products
//   hm, tmp (N, H)    recurrent dropout: masked h_prev, one gate block's part of dL/dh_prev
//   seq  (N, T, max(D, H))  dropout: x or H_prev times one block's mask, or dx's part
struct RnnBackwardLayout {
  int64_t dg = 0, dgr = 0, dh = 0, dh_next = 0, dc = 0, carry = 0, drh = 0, ut = 0, hm = 0, tmp = 0, seq = 0, total = 0;
};
inline RnnBackwardLayout rnn_backward_layout(const RnnArgs& a) {
  RnnBackwardLayout l;
  const int64_t rows = a.N * a.T, gh = a.gates() * a.H, nh = a.N * a.H;
  int64_t at = rows * gh;
  l.dgr = at;
  if (a.cell == RnnCell::gru) at += rows * gh;
  l.dh = at;
  l.dh_next = l.dh + nh;
  l.dc = l.dh_next + nh;
  l.carry = l.dc + nh;
  l.drh = l.carry + nh;
  l.ut = l.drh + nh;
  l.hm = l.ut + gh * a.H;
  l.tmp = l.hm + (a.rec_masks ? nh : 0);
  l.seq = l.tmp + (a.rec_masks ? nh : 0);
  const int64_t xd = a.in_masks ? a.D : 0, hd = a.rec_masks ? a.H : 0, seq_cols = xd > hd ? xd : hd;
  l.total = l.seq + rows * seq_cols;
  return l;
}

// One step's operands. Row n of a matrix p with row stride p_ld is p + n * p_ld. Forward:
// `g` holds the pre-activations (x W + b, plus h_prev U for all but GRU reset_after, whose
// recurrent product is `rec`) and receives the activations. A masked row (mask[n] == 0)
// keeps its state (h_new = h_prev, c_new = c_prev) and repeats the previous output
// (`y_prev`, zeros when null).
struct RnnStep {
  int64_t N = 0, H = 0;
  const uint8_t* mask = nullptr;
  int64_t mask_ld = 0;
  float* g = nullptr;
  int64_t g_ld = 0;
  const float* rec = nullptr;
  float* extra = nullptr;
  int64_t extra_ld = 0;
  const float* h_prev = nullptr;
  int64_t h_prev_ld = 0;
  float* h_new = nullptr;
  int64_t h_new_ld = 0;
  const float* c_prev = nullptr;
  int64_t c_prev_ld = 0;
  float* c_new = nullptr;
  int64_t c_new_ld = 0;
  const float* y_prev = nullptr;
  int64_t y_prev_ld = 0;
  float* y = nullptr;
  int64_t y_ld = 0;
};

// One step of the backward. `dh` is dL/dh_new from the later steps, `dy` this step's output
// gradient (null: none), `carry` the output gradient that masked later steps passed back
// (they repeat this step's output). Writes the gate gradients `dg` (and `dgr`, GRU
// reset_after), dc in place (dL/dc_new -> dL/dc_prev), and `dh_next` = the part of
// dL/dh_prev that does not go through the recurrent GEMM.
struct RnnStepGrad {
  int64_t N = 0, H = 0;
  const uint8_t* mask = nullptr;
  int64_t mask_ld = 0;
  const float* g = nullptr;
  int64_t g_ld = 0;
  const float* extra = nullptr;
  int64_t extra_ld = 0;
  const float* h_prev = nullptr;
  int64_t h_prev_ld = 0;
  const float* c_prev = nullptr;
  int64_t c_prev_ld = 0;
  const float* dy = nullptr;
  int64_t dy_ld = 0;
  float* carry = nullptr;
  const float* dh = nullptr;
  float* dh_next = nullptr;
  float* dc = nullptr;
  float* dg = nullptr;
  int64_t dg_ld = 0;
  float* dgr = nullptr;
  int64_t dgr_ld = 0;
  const float* drh = nullptr;  // GRU reset_before, second half: d(r * h_prev) from the GEMM
};

namespace rnn {

// The per-unit equations. `M` supplies sigmoid and tanh: the CUDA kernels use the library
// activations, the CPU kernels a branch-free polynomial version the compiler vectorises.
// Activations are saved in g; derivatives are taken from them (sigmoid' = s (1 - s),
// tanh' = 1 - t^2, relu' = [h > 0]).

template <class M>
SINAPSE_HD_INLINE float simple_forward(float pre, bool relu) {
  return relu ? (pre < 0.0f ? 0.0f : pre) : M::tanh(pre);  // a NaN pre stays NaN (np.maximum)
}
SINAPSE_HD_INLINE float simple_backward(float h, float dh, bool relu) {  // dL/d pre
  // relu: dh times relu' (a product, not a select: an infinite dh on the flat piece is NaN, as
  // activation_backward and the reference's dh * (h > 0))
  return relu ? dh * (h > 0.0f ? 1.0f : 0.0f) : dh * (1.0f - h * h);
}

template <class M>
SINAPSE_HD_INLINE void lstm_forward(float& i, float& f, float& g, float& o, float c_prev, float& c, float& h) {
  i = M::sigmoid(i);
  f = M::sigmoid(f);
  g = M::tanh(g);
  o = M::sigmoid(o);
  c = f * c_prev + i * g;
  h = o * M::tanh(c);
}

// dh, dc: dL/dh_new and dL/dc_new. Writes the pre-activation gradients and dL/dc_prev.
template <class M>
SINAPSE_HD_INLINE void lstm_backward(float i, float f, float g, float o, float c_prev, float dh, float& dc, float& di,
                                     float& df, float& dg, float& d_o) {
  const float c = f * c_prev + i * g;
  const float tc = M::tanh(c);
  const float dct = dc + dh * o * (1.0f - tc * tc);
  di = dct * g * i * (1.0f - i);
  df = dct * c_prev * f * (1.0f - f);
  dg = dct * i * (1.0f - g * g);
  d_o = dh * tc * o * (1.0f - o);
  dc = dct * f;
}

// GRU reset_after: z, r, hh arrive as x-side pre-activations (x W + b), rz/rr/rh as the
// recurrent product (h_prev U + b_rec).
template <class M>
SINAPSE_HD_INLINE void gru_forward(float& z, float& r, float& hh, float rz, float rr, float rh, float h_prev,
                                   float& h) {
  z = M::sigmoid(z + rz);
  r = M::sigmoid(r + rr);
  hh = M::tanh(hh + r * rh);
  h = z * h_prev + (1.0f - z) * hh;
}

// Pre-activation gradients of z and hh, and dL/dh_prev's direct part (dh z).
SINAPSE_HD_INLINE void gru_backward_zh(float z, float hh, float h_prev, float dh, float& dz, float& dhh,
                                       float& dh_prev) {
  dz = dh * (h_prev - hh) * z * (1.0f - z);
  dhh = dh * (1.0f - z) * (1.0f - hh * hh);
  dh_prev = dh * z;
}

// The naive LSTM cell, one (example n, unit j) of a step: the equations above plus the mask
// rules of RnnStep / RnnStepGrad, with nothing shared between units — the CPU's naive loops
// (cpu/rnn_naive.cpp) and CUDA's naive thread per example (cuda/rnn.cu) both call these.
template <class M>
SINAPSE_HD void lstm_unit_forward(const RnnStep& s, int64_t n, int64_t j) {
  const int64_t H = s.H;
  float* g = s.g + n * s.g_ld;
  const float cp = s.c_prev[n * s.c_prev_ld + j];
  const bool on = !s.mask || s.mask[n * s.mask_ld];
  float c = cp, h = s.h_prev[n * s.h_prev_ld + j];  // a masked row keeps its state...
  if (on) lstm_forward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cp, c, h);
  s.c_new[n * s.c_new_ld + j] = c;
  s.h_new[n * s.h_new_ld + j] = h;
  // ...and repeats the previous output (zeros before the first step)
  s.y[n * s.y_ld + j] = on ? h : (s.y_prev ? s.y_prev[n * s.y_prev_ld + j] : 0.0f);
}

template <class M>
SINAPSE_HD void lstm_unit_backward(const RnnStepGrad& s, int64_t n, int64_t j) {
  const int64_t H = s.H, u = n * H + j;  // u: the (N, H) state gradients
  const float* g = s.g + n * s.g_ld;
  float* dg = s.dg + n * s.dg_ld;
  const float dy = s.dy ? s.dy[n * s.dy_ld + j] : 0.0f;
  if (s.mask && !s.mask[n * s.mask_ld]) {
    // The output repeated the previous one: its gradient moves there; the state passes through.
    s.carry[u] += dy;
    s.dh_next[u] = s.dh[u];
    for (int q = 0; q < 4; ++q) dg[q * H + j] = 0.0f;
    return;
  }
  // dL/dh_new = state gradient + this output's + what masked later outputs passed back.
  const float dh = s.dh[u] + s.carry[u] + dy;
  s.carry[u] = 0.0f;
  lstm_backward<M>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], s.c_prev[n * s.c_prev_ld + j], dh, s.dc[u], dg[j],
                   dg[H + j], dg[2 * H + j], dg[3 * H + j]);
  s.dh_next[u] = 0.0f;  // dL/dh_prev comes only through the recurrent GEMM
}

}  // namespace rnn
}  // namespace sinapse
