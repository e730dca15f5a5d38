// The CPU backend of the shared time loop (common/rnn_sequence.h): our tuned GEMM, the gate
// kernels of rnn_cells.cpp, row copies and deterministic bias sums.
#include "rnn.h"

#include <algorithm>
#include <cstring>

#include "../common/rnn_sequence.h"
#include "bias.h"
#include "gemm.h"

namespace sinapse::cpu {

namespace {

struct CpuBackend {
  SimdPath path;
  int max_threads;

  void gemm(const GemmArgs& g) const { cpu::gemm(g, GemmVariant::tuned, path, max_threads); }
  void step_forward(RnnCell cell, const RnnStep& s, int phase) const {
    rnn_step_forward(cell, s, phase, path, max_threads);
  }
  void step_backward(RnnCell cell, const RnnStepGrad& s, int phase) const {
    rnn_step_backward(cell, s, phase, path, max_threads);
  }
  void copy_rows(int64_t rows, int64_t cols, const float* src, int64_t src_ld, float* dst, int64_t dst_ld) const {
    for (int64_t r = 0; r < rows; ++r) {
      if (src) {
        std::memcpy(dst + r * dst_ld, src + r * src_ld, sizeof(float) * cols);
      } else {
        std::fill(dst + r * dst_ld, dst + r * dst_ld + cols, 0.0f);
      }
    }
  }
  void bias_grad(int64_t rows, int64_t cols, const float* dy, float* db) const {
    cpu::bias_grad(rows, cols, dy, db, max_threads);
  }
  void transpose(int64_t rows, int64_t cols, const float* src, float* dst) const {
    constexpr int64_t kTile = 32;  // tiles keep both the reads and the writes in cache lines
    for (int64_t r0 = 0; r0 < rows; r0 += kTile)
      for (int64_t c0 = 0; c0 < cols; c0 += kTile)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
          for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r) dst[c * rows + r] = src[r * cols + c];
  }
};

}  // namespace

void rnn_forward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const float* bias,
                 const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT, float* cT, float* ws,
                 SimdPath path, int max_threads) {
  CpuBackend be{path, std::max(1, max_threads)};
  rnn_forward_sequence(be, a, x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws);
}

void rnn_backward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const uint8_t* mask,
                  const float* ws, const float* dy, const float* dhT, const float* dcT, float* dx, float* dkernel,
                  float* drkernel, float* dbias, float* dh0, float* dc0, float* scratch, SimdPath path,
                  int max_threads) {
  CpuBackend be{path, std::max(1, max_threads)};
  rnn_backward_sequence(be, a, x, kernel, rkernel, mask, ws, dy, dhT, dcT, dx, dkernel, drkernel, dbias, dh0, dc0,
                        scratch);
}

}  // namespace sinapse::cpu
