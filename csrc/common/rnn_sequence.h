// The time loop of every recurrent sequence op, written once for both backends. A backend
// `B` (cpu/rnn.cpp, cuda/rnn.cu) supplies:
//   gemm(GemmArgs)                      its GEMM (the contract of gemm_args.h)
//   step_forward(cell, RnnStep, phase)  the fused gate kernel of one step
//   step_backward(cell, RnnStepGrad, phase)
//   copy_rows(rows, cols, src, src_ld, dst, dst_ld)   src == nullptr: zeros
//   bias_backward(rows, cols, dy, db)       deterministic column sums
//   transpose(rows, cols, src, dst)     dst (cols x rows) = src^T
//   scale_rows(rows, cols, src, src_ld, m, m_ld, per, dst, dst_ld, acc)
//                                       dst[r] (acc ? += : =) src[r] * m[r / per] (elementwise
//                                       rows; the dropout masks, one row per example)
// The host code below only does pointer arithmetic and calls those, in stream order, so on
// CUDA the whole sequence is a chain of launches on one stream and on the CPU a chain of
// OpenMP regions; neither allocates per step.
//
// Forward: one GEMM projects every input (N*T rows) into the gate buffer with the bias;
// each step adds h_prev U (one GEMM; GRU reset_before needs two, since U_h multiplies
// r * h_prev) and runs the gate kernel. Backward: each step runs the gate kernel's backward
// and one GEMM for dL/dh_prev (two for GRU reset_before); the weight gradients are then
// GEMMs over all N*T rows at once: dkernel = x^T dG, drecurrent = H_prev^T dG, dx = dG W^T.
//
// Dropout (RnnArgs::in_mask / rec_mask, Keras's per-sequence masks): the input masks multiply
// x before the projection (one GEMM per mask block; a mask shared by all gates is one block);
// the recurrent masks multiply h_prev inside the loop, one GEMM per gate block, and the
// backward applies the same masks to the gradients flowing back through those products.
// Without masks every path below is the unmasked one (a null test per step).
#pragma once

#include <utility>

#include "gemm_args.h"
#include "rnn_args.h"

namespace sinapse {

// The operands of forward step s (see RnnStep): where its gates, states and output live.
inline RnnStep rnn_forward_step(const RnnArgs& a, const RnnForwardLayout& L, float* ws, const uint8_t* mask, float* y,
                                float* hT, float* cT, int64_t s) {
  const int64_t N = a.N, T = a.T, H = a.H, GH = a.gates() * H, TH = T * H, TGH = T * GH;
  const int64_t t = a.time_of_step(s);
  const bool last = s == T - 1;
  const int64_t tn = last ? 0 : a.time_of_step(s + 1);
  float *gates = ws + L.gates, *hprev = ws + L.hprev, *cprev = ws + L.cprev, *extra = ws + L.extra;
  RnnStep st;
  st.N = N;
  st.H = H;
  st.mask = mask ? mask + t : nullptr;
  st.mask_ld = T;
  st.g = gates + t * GH;
  st.g_ld = TGH;
  st.extra = extra + t * H;
  st.extra_ld = TH;
  st.h_prev = hprev + t * H;
  st.h_prev_ld = TH;
  st.h_new = last ? hT : hprev + tn * H;
  st.h_new_ld = last ? H : TH;
  if (a.cell == RnnCell::lstm) {
    st.c_prev = cprev + t * H;
    st.c_prev_ld = TH;
    st.c_new = last ? cT : cprev + tn * H;
    st.c_new_ld = last ? H : TH;
  }
  if (a.return_sequences) {
    st.y = y + s * H;
    st.y_prev = s ? y + (s - 1) * H : nullptr;
    st.y_ld = st.y_prev_ld = TH;
  } else {
    st.y = y;
    st.y_prev = y;
    st.y_ld = st.y_prev_ld = H;
  }
  if (a.cell == RnnCell::gru) st.rec = ws + L.rec;
  return st;
}

// Before the loop: the input projection of all steps (x W + b into the gate buffer) and the
// initial state; the last output starts at zeros when only it is returned.
template <class B>
void rnn_forward_prologue(B& be, const RnnArgs& a, const RnnForwardLayout& L, const float* x, const float* kernel,
                          const float* bias, const float* h0, const float* c0, float* y, float* ws) {
  const int64_t N = a.N, T = a.T, H = a.H, GH = a.gates() * H, TH = T * H;
  if (!a.in_masks) {
    be.gemm(make_gemm_args(N * T, GH, a.D, x, a.D, false, kernel, GH, false, ws + L.gates, GH, 0.0f, bias));
  } else {  // block q of the gates projects x * in_mask[:, q]
    const int64_t width = GH / a.in_masks;
    for (int64_t q = 0; q < a.in_masks; ++q) {
      be.scale_rows(N * T, a.D, x, a.D, a.in_mask + q * a.D, a.in_masks * a.D, T, ws + L.xm, a.D, false);
      be.gemm(make_gemm_args(N * T, width, a.D, ws + L.xm, a.D, false, kernel + q * width, GH, false,
                             ws + L.gates + q * width, GH, 0.0f, bias ? bias + q * width : nullptr));
    }
  }
  const int64_t t0 = a.time_of_step(0);
  be.copy_rows(N, H, h0, H, ws + L.hprev + t0 * H, TH);
  if (a.cell == RnnCell::lstm) be.copy_rows(N, H, c0, H, ws + L.cprev + t0 * H, TH);
  if (!a.return_sequences) be.copy_rows(N, H, nullptr, 0, y, H);
}

// Gate blocks [q0, q1) of a step's recurrent product with recurrent dropout: block q is
// (h_prev * rec_mask[:, q]) U_q, into dst (row stride dst_ld, beta: accumulate or not).
template <class B>
void rnn_masked_recurrent(B& be, const RnnArgs& a, const RnnStep& st, const float* rkernel, float* hm, int64_t q0,
                          int64_t q1, float* dst, int64_t dst_ld, float beta, const float* bias) {
  const int64_t N = a.N, H = a.H, GH = a.gates() * H;
  for (int64_t q = q0; q < q1; ++q) {
    be.scale_rows(N, H, st.h_prev, st.h_prev_ld, a.rec_mask + q * H, GH, 1, hm, H, false);
    be.gemm(make_gemm_args(N, H, H, hm, H, false, rkernel + q * H, GH, false, dst + q * H, dst_ld, beta,
                           bias ? bias + q * H : nullptr));
  }
}

// One forward step with recurrent dropout (the masked h_prev only feeds the products; the
// gate kernel's own h_prev, e.g. GRU's z h_prev, is the state itself).
template <class B>
void rnn_masked_forward_step(B& be, const RnnArgs& a, const RnnForwardLayout& L, const RnnStep& st,
                             const float* rkernel, const float* bias, float* ws) {
  const int64_t G = a.gates(), GH = G * a.H, TGH = a.T * GH;
  float* hm = ws + L.hm;
  if (a.cell == RnnCell::gru) {
    rnn_masked_recurrent(be, a, st, rkernel, hm, 0, G, ws + L.rec, GH, 0.0f, bias ? bias + GH : nullptr);
    be.step_forward(a.cell, st, 0);
  } else if (a.cell == RnnCell::gru_reset_before) {
    rnn_masked_recurrent(be, a, st, rkernel, hm, 0, 2, st.g, TGH, 1.0f, nullptr);
    be.scale_rows(a.N, a.H, st.h_prev, st.h_prev_ld, a.rec_mask + 2 * a.H, GH, 1, hm, a.H, false);
    RnnStep masked = st;  // phase 0 forms r * (h_prev * mask_h) for the U_h product
    masked.h_prev = hm;
    masked.h_prev_ld = a.H;
    be.step_forward(a.cell, masked, 0);
    be.gemm(make_gemm_args(a.N, a.H, a.H, st.extra, st.extra_ld, false, rkernel + 2 * a.H, GH, false, st.g + 2 * a.H,
                           TGH, 1.0f));
    be.step_forward(a.cell, st, 1);
  } else {
    rnn_masked_recurrent(be, a, st, rkernel, hm, 0, G, st.g, TGH, 1.0f, nullptr);
    be.step_forward(a.cell, st, 0);
  }
}

// x (N, T, D); kernel (D, GH); rkernel (H, GH); bias (GH) or (2, GH) for GRU reset_after, or
// null; mask (N, T) or null; h0, c0 (N, H) or null (zeros). Writes y ((N, T, H) with
// return_sequences, else (N, H)), hT, cT (LSTM) and the workspace (rnn_forward_layout).
template <class B>
void rnn_forward_sequence(B& be, const RnnArgs& a, const float* x, const float* kernel, const float* rkernel,
                          const float* bias, const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT,
                          float* cT, float* ws) {
  const int64_t N = a.N, H = a.H, GH = a.gates() * H, TH = a.T * H, TGH = a.T * GH;
  const RnnForwardLayout L = rnn_forward_layout(a);
  rnn_forward_prologue(be, a, L, x, kernel, bias, h0, c0, y, ws);
  for (int64_t s = 0; s < a.T; ++s) {
    const RnnStep st = rnn_forward_step(a, L, ws, mask, y, hT, cT, s);
    if (a.rec_masks) {
      rnn_masked_forward_step(be, a, L, st, rkernel, bias, ws);
      continue;
    }
    if (a.cell == RnnCell::gru) {
      be.gemm(make_gemm_args(N, GH, H, st.h_prev, TH, false, rkernel, GH, false, ws + L.rec, GH, 0.0f,
                             bias ? bias + GH : nullptr));
      be.step_forward(a.cell, st, 0);
    } else if (a.cell == RnnCell::gru_reset_before) {
      be.gemm(make_gemm_args(N, 2 * H, H, st.h_prev, TH, false, rkernel, GH, false, st.g, TGH, 1.0f));
      be.step_forward(a.cell, st, 0);  // z, r and r * h_prev (into extra)
      be.gemm(make_gemm_args(N, H, H, st.extra, TH, false, rkernel + 2 * H, GH, false, st.g + 2 * H, TGH, 1.0f));
      be.step_forward(a.cell, st, 1);
    } else {
      be.gemm(make_gemm_args(N, GH, H, st.h_prev, TH, false, rkernel, GH, false, st.g, TGH, 1.0f));
      be.step_forward(a.cell, st, 0);
    }
  }
}

// One backward step with recurrent dropout: the gate kernel, then dL/dh_prev += per gate block
// q (dG_q U_q^T) * rec_mask[:, q]. GRU reset_before's phase 1 sees r * (h_prev * mask_h) as
// the forward did; its r d(r h_m) part goes through the mask too.
template <class B>
void rnn_masked_backward_step(B& be, const RnnArgs& a, const RnnBackwardLayout& BL, const RnnStepGrad& st,
                              const float* ut, float* scratch) {
  const int64_t N = a.N, H = a.H, GH = a.gates() * H, TGH = a.T * GH;
  float *hm = scratch + BL.hm, *tmp = scratch + BL.tmp, *drh = scratch + BL.drh;
  be.step_backward(a.cell, st, 0);
  int64_t blocks = a.gates();
  if (a.cell == RnnCell::gru_reset_before) {
    blocks = 2;
    be.gemm(make_gemm_args(N, H, H, st.dg + 2 * H, TGH, false, ut + 2 * H * H, H, false, drh, H, 0.0f));
    be.scale_rows(N, H, st.h_prev, st.h_prev_ld, a.rec_mask + 2 * H, GH, 1, hm, H, false);
    be.copy_rows(N, H, nullptr, 0, tmp, H);
    RnnStepGrad masked = st;
    masked.h_prev = hm;
    masked.h_prev_ld = H;
    masked.dh_next = tmp;
    be.step_backward(a.cell, masked, 1);  // dr; tmp = r d(r h_m)
    be.scale_rows(N, H, tmp, H, a.rec_mask + 2 * H, GH, 1, st.dh_next, H, true);
  }
  const float* dgrec = a.cell == RnnCell::gru ? st.dgr : st.dg;
  for (int64_t q = 0; q < blocks; ++q) {
    be.gemm(make_gemm_args(N, H, H, dgrec + q * H, TGH, false, ut + q * H * H, H, false, tmp, H, 0.0f));
    be.scale_rows(N, H, tmp, H, a.rec_mask + q * H, GH, 1, st.dh_next, H, true);
  }
}

// dkernel and dx with input dropout: per mask block q (width GH / in_masks columns),
// dkernel_q = (x * m_q)^T dG_q and dx += (dG_q W_q^T) * m_q. `seq` holds N*T*D floats.
template <class B>
void rnn_masked_input_grads(B& be, const RnnArgs& a, const float* x, const float* kernel, const float* dg, float* dx,
                            float* dkernel, float* seq) {
  const int64_t rows = a.N * a.T, D = a.D, GH = a.gates() * a.H, width = GH / a.in_masks;
  for (int64_t q = 0; q < a.in_masks; ++q) {
    const float* m = a.in_mask + q * D;
    be.scale_rows(rows, D, x, D, m, a.in_masks * D, a.T, seq, D, false);
    be.gemm(make_gemm_args(D, width, rows, seq, D, true, dg + q * width, GH, false, dkernel + q * width, GH, 0.0f));
    be.gemm(make_gemm_args(rows, D, width, dg + q * width, GH, false, kernel + q * width, GH, true, seq, D, 0.0f));
    be.scale_rows(rows, D, seq, D, m, a.in_masks * D, a.T, dx, D, q > 0);
  }
}

// The backward of rnn_forward_sequence given its workspace `ws`. dy has the shape of y;
// dhT, dcT may be null (zeros). Writes dx, dkernel, drkernel, dbias (when non-null; (2, GH)
// for GRU reset_after), dh0 and dc0 (LSTM). `scratch` follows rnn_backward_layout.
template <class B>
void rnn_backward_sequence(B& be, const RnnArgs& a, const float* x, const float* kernel, const float* rkernel,
                           const uint8_t* mask, const float* ws, const float* dy, const float* dhT, const float* dcT,
                           float* dx, float* dkernel, float* drkernel, float* dbias, float* dh0, float* dc0,
                           float* scratch) {
  const int64_t N = a.N, T = a.T, H = a.H, GH = a.gates() * H, TH = T * H, TGH = T * GH;
  const RnnForwardLayout L = rnn_forward_layout(a);
  const RnnBackwardLayout BL = rnn_backward_layout(a);
  const float *gates = ws + L.gates, *hprev = ws + L.hprev, *cprev = ws + L.cprev, *extra = ws + L.extra;
  float *dg = scratch + BL.dg, *dgr = scratch + BL.dgr, *dc = scratch + BL.dc, *carry = scratch + BL.carry;
  float *dh = scratch + BL.dh, *dh_next = scratch + BL.dh_next, *drh = scratch + BL.drh, *ut = scratch + BL.ut;
  const bool lstm = a.cell == RnnCell::lstm;

  be.transpose(H, GH, rkernel, ut);  // U^T (GH x H): its gate blocks are row blocks

  be.copy_rows(N, H, dhT, H, dh, H);
  if (lstm) be.copy_rows(N, H, dcT, H, dc, H);
  be.copy_rows(N, H, nullptr, 0, carry, H);

  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = a.time_of_step(s);
    RnnStepGrad st;
    st.N = N;
    st.H = H;
    st.mask = mask ? mask + t : nullptr;
    st.mask_ld = T;
    st.g = gates + t * GH;
    st.g_ld = TGH;
    st.extra = extra + t * H;
    st.extra_ld = TH;
    st.h_prev = hprev + t * H;
    st.h_prev_ld = TH;
    if (lstm) {
      st.c_prev = cprev + t * H;
      st.c_prev_ld = TH;
    }
    if (a.return_sequences) {
      st.dy = dy + s * H;
      st.dy_ld = TH;
    } else {
      st.dy = s == T - 1 ? dy : nullptr;
      st.dy_ld = H;
    }
    st.carry = carry;
    st.dh = dh;
    st.dh_next = dh_next;
    st.dc = dc;
    st.dg = dg + t * GH;
    st.dg_ld = TGH;
    st.dgr = dgr + t * GH;
    st.dgr_ld = TGH;
    st.drh = drh;
    if (a.rec_masks) {
      rnn_masked_backward_step(be, a, BL, st, ut, scratch);
    } else if (a.cell == RnnCell::gru_reset_before) {
      be.step_backward(a.cell, st, 0);  // dz, dhh; dh_next = dh z
      be.gemm(make_gemm_args(N, H, H, st.dg + 2 * H, TGH, false, ut + 2 * H * H, H, false, drh, H, 0.0f));
      be.step_backward(a.cell, st, 1);  // dr from d(r h_prev); dh_next += r d(r h_prev)
      be.gemm(make_gemm_args(N, H, 2 * H, st.dg, TGH, false, ut, H, false, dh_next, H, 1.0f));
    } else {
      be.step_backward(a.cell, st, 0);
      const float* dgrec = a.cell == RnnCell::gru ? st.dgr : st.dg;
      be.gemm(make_gemm_args(N, H, GH, dgrec, TGH, false, ut, H, false, dh_next, H, 1.0f));
    }
    std::swap(dh, dh_next);
  }

  const int64_t rows = N * T;
  const float* dgrec = a.cell == RnnCell::gru ? dgr : dg;
  if (a.in_masks) {
    rnn_masked_input_grads(be, a, x, kernel, dg, dx, dkernel, scratch + BL.seq);
  } else {
    be.gemm(make_gemm_args(a.D, GH, rows, x, a.D, true, dg, GH, false, dkernel, GH, 0.0f));
    be.gemm(make_gemm_args(rows, a.D, GH, dg, GH, false, kernel, GH, true, dx, a.D, 0.0f));
  }
  if (a.rec_masks) {  // block q: (H_prev * rec_mask[:, q])^T dG_q
    float* seq = scratch + BL.seq;
    const int64_t masked_blocks = a.cell == RnnCell::gru_reset_before ? 2 : a.gates();
    for (int64_t q = 0; q < masked_blocks; ++q) {
      be.scale_rows(rows, H, hprev, H, a.rec_mask + q * H, GH, T, seq, H, false);
      be.gemm(make_gemm_args(H, H, rows, seq, H, true, dgrec + q * H, GH, false, drkernel + q * H, GH, 0.0f));
    }
  } else if (a.cell == RnnCell::gru_reset_before) {
    be.gemm(make_gemm_args(H, 2 * H, rows, hprev, H, true, dg, GH, false, drkernel, GH, 0.0f));
  } else {
    be.gemm(make_gemm_args(H, GH, rows, hprev, H, true, dgrec, GH, false, drkernel, GH, 0.0f));
  }
  if (a.cell == RnnCell::gru_reset_before)  // extra = r * (masked) h_prev, as the forward used it
    be.gemm(make_gemm_args(H, H, rows, extra, H, true, dg + 2 * H, GH, false, drkernel + 2 * H, GH, 0.0f));
  if (dbias) {
    be.bias_backward(rows, GH, dg, dbias);
    if (a.cell == RnnCell::gru) be.bias_backward(rows, GH, dgr, dbias + GH);
  }
  be.copy_rows(N, H, dh, H, dh0, H);
  if (lstm) be.copy_rows(N, H, dc, H, dc0, H);
}

}  // namespace sinapse
