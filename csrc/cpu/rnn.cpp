// The CPU backend of the shared time loop (common/rnn_sequence.h): our tuned GEMM, the gate
// kernels of rnn_cells.cpp, row copies and deterministic bias sums.
#include "rnn.h"

#include <algorithm>
#include <cstring>

#include "../common/rnn_sequence.h"
#include "bias.h"
#include "../common/aligned_buffer.h"
#include "gemm.h"

namespace sinapse::cpu {

namespace {

struct CpuBackend {
  SimdPath path;
  int max_threads;
  bool naive_cell = false;  // the naive LSTM gate kernel (rnn_naive.cpp)
  // The time loop multiplies by the same B at every step (U forward, its transpose backward):
  // the second GEMM in a row with the same B packs it once (PackedB) and the later steps skip
  // gemm_tuned's per-call packing of B.
  mutable const float* last_b = nullptr;
  mutable PackedB packed;
  mutable AlignedBuffer packed_buf;

  void gemm(const GemmArgs& g) const {
    if (g.M > kSmallM) {
      if (packed.valid_for(g, path)) return gemm_tuned_prepacked(g, packed, path, max_threads);
      if (g.B == last_b) {
        gemm_pack_b(g, path, packed_buf.floats(static_cast<size_t>(gemm_packed_b_floats(g, path))), packed);
        return gemm_tuned_prepacked(g, packed, path, max_threads);
      }
    }
    last_b = g.B;
    cpu::gemm(g, GemmVariant::tuned, path, max_threads);
  }
  void step_forward(RnnCell cell, const RnnStep& s, int phase) const {
    if (naive_cell) return lstm_step_forward_naive(s);
    rnn_step_forward(cell, s, phase, path, max_threads);
  }
  void step_backward(RnnCell cell, const RnnStepGrad& s, int phase) const {
    if (naive_cell) return lstm_step_backward_naive(s);
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
  void bias_backward(int64_t rows, int64_t cols, const float* dy, float* db) const {
    cpu::bias_backward(rows, cols, dy, db, path, max_threads);
  }
  void scale_rows(int64_t rows, int64_t cols, const float* src, int64_t src_ld, const float* m, int64_t m_ld,
                  int64_t per, float* dst, int64_t dst_ld, bool acc) const {
    for (int64_t r = 0; r < rows; ++r) {
      const float* __restrict s = src + r * src_ld;
      const float* __restrict mr = m + r / per * m_ld;
      float* __restrict d = dst + r * dst_ld;
      if (acc) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) d[c] += s[c] * mr[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) d[c] = s[c] * mr[c];
      }
    }
  }
  void transpose(int64_t rows, int64_t cols, const float* src, float* dst) const {
    constexpr int64_t kTile = 32;  // tiles keep both the reads and the writes in cache lines
    for (int64_t r0 = 0; r0 < rows; r0 += kTile)
      for (int64_t c0 = 0; c0 < cols; c0 += kTile)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
          for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r) dst[c * rows + r] = src[r * cols + c];
  }
};

// The forward at a few rows (batch-1 inference): the per-step GEMM is a GEMV streaming all of
// U, too small for the GEMM to split over threads, and each OpenMP region would cost as much
// as the step. So one parallel region runs the whole time loop: each thread owns a fixed
// slice of the units, multiplies h_prev by its columns of every gate block (its share of U
// stays in its own core's L2 from step to step) and runs the gate kernel on its units; one
// barrier per step publishes h. Not for GRU reset_before, whose U_h product needs all of r.
void forward_small_batch(const CpuBackend& be, const RnnArgs& a, const float* x, const float* kernel,
                         const float* rkernel, const float* bias, const uint8_t* mask, const float* h0, const float* c0,
                         float* y, float* hT, float* cT, float* ws) {
  const RnnForwardLayout L = rnn_forward_layout(a);
  rnn_forward_prologue(be, a, L, x, kernel, bias, h0, c0, y, ws);
  const int64_t H = a.H, G = a.gates(), GH = G * H;
  constexpr int64_t kUnitAlign = 16;  // one AVX-512 vector: slices start on whole vectors
  const int nthreads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(be.max_threads, H / kUnitAlign)));
  const bool gru = a.cell == RnnCell::gru;
  const float* rec_bias = gru && bias ? bias + GH : nullptr;
  // Each thread copies its columns of every gate block of U into one contiguous panel first
  // (K rows of its slice width): the per-step GEMV then streams it sequentially instead of
  // jumping 4 KiB between rows, which the prefetcher followed at a quarter of L2 bandwidth.
  thread_local AlignedBuffer u_slices;
  float* const slices = u_slices.floats(static_cast<size_t>(H * GH));
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const RnnTeam t;
    const int tid = t.tid, team = t.size;
    const int64_t j0 = H * tid / team / kUnitAlign * kUnitAlign;
    const int64_t j1 = tid + 1 == team ? H : H * (tid + 1) / team / kUnitAlign * kUnitAlign;
    const int64_t width = j1 - j0;
    float* const mine = slices + H * G * j0;  // G panels of H x width, this thread's own memory
    for (int64_t q = 0; q < G && width > 0; ++q)
      for (int64_t k = 0; k < H; ++k)
        std::memcpy(mine + (q * H + k) * width, rkernel + k * GH + q * H + j0, sizeof(float) * width);
    for (int64_t s = 0; s < a.T; ++s) {
      const RnnStep st = rnn_forward_step(a, L, ws, mask, y, hT, cT, s);
      for (int64_t q = 0; q < G && width > 0; ++q) {
        const int64_t col = q * H + j0;
        float* dst = gru ? ws + L.rec + col : st.g + col;
        gemm_small_m_serial(
            make_gemm_args(a.N, width, H, st.h_prev, st.h_prev_ld, false, mine + q * H * width, width, false, dst,
                           gru ? GH : st.g_ld, gru ? 0.0f : 1.0f, rec_bias ? rec_bias + col : nullptr),
            be.path);
      }
      if (j1 > j0) rnn_step_forward_units(a.cell, st, j0, j1, be.path);
#pragma omp barrier
    }
  }
}

}  // namespace

void rnn_forward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const float* bias,
                 const uint8_t* mask, const float* h0, const float* c0, float* y, float* hT, float* cT, float* ws,
                 KernelVariant variant, SimdPath path, int max_threads) {
  CpuBackend be{path, std::max(1, max_threads), variant == KernelVariant::naive && a.cell == RnnCell::lstm};
  // Recurrent dropout masks h_prev per gate block: one GEMM per block, so the fused and
  // small-batch loops (one product for all gates) step aside for the shared loop.
  if (a.rec_masks) return rnn_forward_sequence(be, a, x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws);
  if (a.cell == RnnCell::lstm && !be.naive_cell) {  // the recurrent product and the gates fused
    const RnnForwardLayout L = rnn_forward_layout(a);
    rnn_forward_prologue(be, a, L, x, kernel, bias, h0, c0, y, ws);
    return lstm_recurrence_fused(a, L, rkernel, mask, y, hT, cT, ws, path, be.max_threads);
  }
  if (a.N <= kSmallM && a.cell != RnnCell::gru_reset_before && !be.naive_cell)
    return forward_small_batch(be, a, x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws);
  rnn_forward_sequence(be, a, x, kernel, rkernel, bias, mask, h0, c0, y, hT, cT, ws);
}

void rnn_backward(const RnnArgs& a, const float* x, const float* kernel, const float* rkernel, const uint8_t* mask,
                  const float* ws, const float* dy, const float* dhT, const float* dcT, float* dx, float* dkernel,
                  float* drkernel, float* dbias, float* dh0, float* dc0, float* scratch, KernelVariant variant,
                  SimdPath path, int max_threads) {
  CpuBackend be{path, std::max(1, max_threads), variant == KernelVariant::naive && a.cell == RnnCell::lstm};
  rnn_backward_sequence(be, a, x, kernel, rkernel, mask, ws, dy, dhT, dcT, dx, dkernel, drkernel, dbias, dh0, dc0,
                        scratch);
}

}  // namespace sinapse::cpu
