// CPU GEMM: one entry point, three variants kept side by side for comparison.
//
//   naive   - three nested loops, one dot product per output (the definition).
//   blocked - the same arithmetic in cache-sized blocks, inner loop along a row of B
//             so the compiler vectorises it; no packing, no hand-written SIMD.
//   tuned   - BLIS-style: packed panels, five blocking loops, one register-blocked
//             micro-kernel per SIMD path (gemm_tuned.cpp, gemm_pack.cpp, gemm_ukernel_*.cpp).
//
// docs/kernels/gemm.md tells the story of each step with measured numbers.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"
#include "../common/gemm_args.h"

namespace sinapse::cpu {

// Runs the full contract of gemm_args.h with at most `max_threads` threads (the kernel
// uses fewer when the work is too small to pay for them).
void gemm(const GemmArgs& args, GemmVariant variant, SimdPath path, int max_threads);

void gemm_naive(const GemmArgs& args, int max_threads);
void gemm_blocked(const GemmArgs& args, int max_threads);
void gemm_tuned(const GemmArgs& args, SimdPath path, int max_threads);
// The tuned variant's path for M <= kSmallM rows (gemm_small_m.cpp): B streamed once, no packing.
void gemm_small_m(const GemmArgs& args, SimdPath path, int max_threads);
constexpr int64_t kSmallM = 4;
// The same on the calling thread only, with no OpenMP region: for callers that are already
// inside one (the RNN's small-batch time loop, where each thread multiplies its own columns).
// Needs M <= kSmallM.
void gemm_small_m_serial(const GemmArgs& args, SimdPath path);

// B packed once for many GEMMs that share it — an RNN's recurrent kernel, multiplied at every
// time step: gemm_tuned would otherwise repack all of B (1 MiB for an LSTM of 256 units) per
// step. Packed for one SIMD path and blocking; valid_for() says whether a GEMM can use it.
struct PackedB {
  const float* source = nullptr;  // the B it was packed from
  int64_t K = 0, N = 0, ldb = 0, KC = 0, NC = 0, NR = 0;
  bool trans_b = false;
  SimdPath path = SimdPath::generic;
  float* data = nullptr;  // blocks (jc, pc) in loop order, each as gemm_tuned packs it
  bool valid_for(const GemmArgs& g, SimdPath p) const;
};
// Floats PackedB::data needs for B of g; then fills `out` (data must point to that many).
int64_t gemm_packed_b_floats(const GemmArgs& g, SimdPath path);
void gemm_pack_b(const GemmArgs& g, SimdPath path, float* data, PackedB& out);
// gemm_tuned with B taken from `packed` (which must be valid_for(g, path)); M > kSmallM.
void gemm_tuned_prepacked(const GemmArgs& g, const PackedB& packed, SimdPath path, int max_threads);

// The epilogue on rows [0, m) x columns [0, n) of a C block: C = act(C + bias).
// Runs after the last product term has been added to those elements.
void gemm_epilogue(float* C, int64_t ldc, int64_t m, int64_t n, const float* bias, Activation act);

}  // namespace sinapse::cpu
