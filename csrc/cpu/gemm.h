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

// The epilogue on rows [0, m) x columns [0, n) of a C block: C = act(C + bias).
// Runs after the last product term has been added to those elements.
void gemm_epilogue(float* C, int64_t ldc, int64_t m, int64_t n, const float* bias, Activation act);

// Flops below which a GEMM runs on one thread, per thread added (see threading.h).
constexpr double kGemmMinFlopsPerThread = 3.0e6;

}  // namespace sinapse::cpu
