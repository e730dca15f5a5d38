// The "naive" LSTM cell: one step's gate computation, forward and backward, written as the
// equations (common/rnn_args.h: rnn::lstm_unit_forward / backward) in plain loops — one
// (example, unit) at a time, the C library's expf/tanhf, one thread, no SIMD. The tuned cell
// (rnn_cells.cpp) runs the same equations with a branch-free polynomial exp that vectorises,
// compiled per SIMD path and threaded over rows. The GEMMs around the cell are the tuned GEMM
// in both variants, so the difference is the cell's share of a step. Baseline for:
//   SINAPSE_LSTM=naive python -m bench rnn --quick
#include <cmath>

#include "rnn.h"

namespace sinapse::cpu {

namespace {
struct LibraryMath {
  static float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
  static float tanh(float x) { return std::tanh(x); }
};
}  // namespace

void lstm_step_forward_naive(const RnnStep& s) {
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t j = 0; j < s.H; ++j) rnn::lstm_unit_forward<LibraryMath>(s, n, j);
}

void lstm_step_backward_naive(const RnnStepGrad& s) {
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t j = 0; j < s.H; ++j) rnn::lstm_unit_backward<LibraryMath>(s, n, j);
}

}  // namespace sinapse::cpu
