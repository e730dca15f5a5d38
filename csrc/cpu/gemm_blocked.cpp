// Variant 2, blocked: the i-k-j loop order in cache-sized blocks, no packing and no
// hand-written SIMD. The innermost loop walks a row of B and a row of C with unit stride
// (when B is not transposed), so the compiler vectorises it; the blocks keep a KB x NB
// slab of B in L2 while MB rows of A stream past it. Row blocks are split across threads.
#include <algorithm>

#include "../common/threading.h"
#include "gemm.h"

namespace sinapse::cpu {

namespace {
constexpr int64_t MB = 32;   // rows of C per block (one thread's unit of work)
constexpr int64_t NB = 512;  // columns of C and B per block
constexpr int64_t KB = 128;  // depth per block: KB x NB of B = 256 KiB
}  // namespace

void gemm_blocked(const GemmArgs& g, int max_threads) {
  const int64_t a_rs = g.a_row_stride(), a_cs = g.a_col_stride();
  const int64_t b_rs = g.b_row_stride(), b_cs = g.b_col_stride();
  const int64_t n_blocks = (g.M + MB - 1) / MB;
  const int nthreads = threads_for(g.flops(), grain::kFlops, max_threads);

#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const int64_t i0 = blk * MB, i1 = std::min(g.M, i0 + MB);
    for (int64_t j0 = 0; j0 < g.N; j0 += NB) {
      const int64_t j1 = std::min(g.N, j0 + NB);
      for (int64_t i = i0; i < i1; ++i) {  // C block = beta * C (write-only when beta == 0)
        float* c = g.C + i * g.ldc;
        for (int64_t j = j0; j < j1; ++j) c[j] = g.beta == 0.0f ? 0.0f : g.beta * c[j];
      }
      for (int64_t k0 = 0; k0 < g.K; k0 += KB) {
        const int64_t k1 = std::min(g.K, k0 + KB);
        for (int64_t i = i0; i < i1; ++i) {
          float* __restrict c = g.C + i * g.ldc;
          for (int64_t k = k0; k < k1; ++k) {
            const float a = g.alpha * g.A[i * a_rs + k * a_cs];
            const float* __restrict b = g.B + k * b_rs;
            if (b_cs == 1) {  // B not transposed: unit stride, vectorised
              for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
            } else {
              for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j * b_cs];
            }
          }
        }
      }
    }
    gemm_epilogue(g.C + i0 * g.ldc, g.ldc, i1 - i0, g.N, g.bias, g.act);
  }
}

}  // namespace sinapse::cpu
