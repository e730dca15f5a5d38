// RnnArgs from the flat arguments both the CPU and the CUDA bindings take (validated in
// python/sinapse/ops/rnn.py; re-checked here so a direct call cannot index out of bounds).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/rnn_args.h"
#include "kernel_variant.h"

namespace sinapse::bindings {

inline RnnArgs rnn_args(int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards,
                        bool return_sequences) {
  if (cell < 0 || cell >= kRnnCells) throw std::invalid_argument("rnn: cell code out of range");
  if (N < 1 || T < 1 || D < 1 || H < 1) throw std::invalid_argument("rnn: N, T, D and H must be positive");
  // Every array and workspace size is a product of these (at most ~8 floats per gate unit
  // and step): refuse, in floating point, any that could overflow the int64 arithmetic.
  const double biggest =
      static_cast<double>(N) * T * (static_cast<double>(D) + 8.0 * H) + (static_cast<double>(D) + H) * 8.0 * H;
  if (biggest > 0x1p60) throw std::invalid_argument("rnn: N, T, D and H imply sizes beyond 2**60");
  RnnArgs a;
  a.cell = static_cast<RnnCell>(cell);
  a.N = N;
  a.T = T;
  a.D = D;
  a.H = H;
  a.go_backwards = go_backwards;
  a.return_sequences = return_sequences;
  return a;
}

// The cell kernel's variant: naive exists for the LSTM cell only (sinapse.ops.lstm's variant=).
inline KernelVariant rnn_variant(const RnnArgs& a, const std::string& name) {
  const KernelVariant v = parse_kernel_variant("rnn", name);
  if (v == KernelVariant::naive && a.cell != RnnCell::lstm)
    throw std::invalid_argument("rnn: the naive variant exists for the LSTM cell only");
  return v;
}

// The dropout masks (RnnArgs): `in_size` floats of input masks (-1: none) must be N * D (one
// mask for every gate) or N * G * D (one per gate block); `rec_size` N * G * H (-1: none).
inline void set_rnn_dropout(RnnArgs& a, int64_t in_size, const float* in_mask, int64_t rec_size,
                            const float* rec_mask) {
  const int64_t G = a.gates();
  if (in_size >= 0) {
    if (in_size != a.N * a.D && in_size != a.N * G * a.D)
      throw std::invalid_argument("rnn: dropout_mask must hold N * D or N * gates * D floats");
    a.in_masks = in_size / (a.N * a.D);
    a.in_mask = in_mask;
  }
  if (rec_size >= 0) {
    if (rec_size != a.N * G * a.H)
      throw std::invalid_argument("rnn: recurrent_dropout_mask must hold N * gates * H floats");
    a.rec_masks = G;
    a.rec_mask = rec_mask;
  }
}

// Sizes of the arrays of rnn_forward / rnn_backward; -1 for an absent optional one.
struct RnnForwardSizes {
  int64_t x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws;
};
struct RnnBackwardSizes {
  int64_t x, kernel, rkernel, mask, ws, dy, dhT, dcT, dx, dkernel, drkernel, dbias, dh0, dc0, scratch;
};

namespace rnn_detail {
inline void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}
inline void expect(int64_t size, int64_t want, const char* what) {
  require(size < 0 || size == want, std::string("rnn: ") + what + " has the wrong size");
}
}  // namespace rnn_detail

inline void check_rnn_forward(const RnnArgs& a, const RnnForwardSizes& s) {
  using rnn_detail::expect;
  using rnn_detail::require;
  const int64_t GH = a.gates() * a.H, NH = a.N * a.H;
  require(s.x == a.N * a.T * a.D && s.kernel == a.D * GH && s.rkernel == a.H * GH,
          "rnn: x / kernel / recurrent_kernel sizes do not match");
  expect(s.bias, a.cell == RnnCell::gru ? 2 * GH : GH, "bias");
  expect(s.mask, a.N * a.T, "mask");
  expect(s.h0, NH, "h0");
  expect(s.c0, NH, "c0");
  require(s.y == (a.return_sequences ? a.N * a.T * a.H : NH) && s.hT == NH, "rnn: y / h_T have the wrong size");
  require(a.cell != RnnCell::lstm || s.cT == NH, "rnn: c_T is missing or has the wrong size");
  require(s.ws >= rnn_forward_layout(a).total, "rnn: workspace too small");
}

inline void check_rnn_backward(const RnnArgs& a, const RnnBackwardSizes& s) {
  using rnn_detail::expect;
  using rnn_detail::require;
  const int64_t GH = a.gates() * a.H, NH = a.N * a.H;
  require(s.x == a.N * a.T * a.D && s.kernel == a.D * GH && s.rkernel == a.H * GH,
          "rnn_backward: x / kernel / recurrent_kernel sizes do not match");
  expect(s.mask, a.N * a.T, "mask");
  require(s.ws >= rnn_forward_layout(a).total && s.scratch >= rnn_backward_layout(a).total,
          "rnn_backward: workspace or scratch too small");
  require(s.dy == (a.return_sequences ? a.N * a.T * a.H : NH), "rnn_backward: dy has the wrong size");
  expect(s.dhT, NH, "dh_T");
  expect(s.dcT, NH, "dc_T");
  require(s.dx == s.x && s.dkernel == s.kernel && s.drkernel == s.rkernel && s.dh0 == NH,
          "rnn_backward: a gradient output has the wrong size");
  expect(s.dbias, a.cell == RnnCell::gru ? 2 * GH : GH, "dbias");
  require(a.cell != RnnCell::lstm || s.dc0 == NH, "rnn_backward: dc0 is missing or has the wrong size");
}

}  // namespace sinapse::bindings
