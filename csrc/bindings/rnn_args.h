// RnnArgs from the flat arguments both the CPU and the CUDA bindings take (validated in
// python/sinapse/ops/rnn.py; re-checked here so a direct call cannot index out of bounds).
#pragma once

#include <cstdint>
#include <stdexcept>

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

}  // namespace sinapse::bindings
