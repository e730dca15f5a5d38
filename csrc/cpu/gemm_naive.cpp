// Variant 1, naive: the definition, one dot product per element of C. Every other variant
// is measured against this one (docs/kernels/gemm.md). Rows are split across threads.
#include <algorithm>

#include "../common/threading.h"
#include "gemm.h"

namespace sinapse::cpu {

void gemm_naive(const GemmArgs& g, int max_threads) {
  const int64_t a_rs = g.a_row_stride(), a_cs = g.a_col_stride();
  const int64_t b_rs = g.b_row_stride(), b_cs = g.b_col_stride();
  const int nthreads = threads_for(g.flops(), grain::kFlops, max_threads);

#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j) {
      float sum = 0.0f;
      for (int64_t k = 0; k < g.K; ++k) sum += g.A[i * a_rs + k * a_cs] * g.B[k * b_rs + j * b_cs];
      c[j] = g.beta == 0.0f ? g.alpha * sum : g.alpha * sum + g.beta * c[j];
    }
    gemm_epilogue(c, g.ldc, 1, g.N, g.bias, g.act);
  }
}

}  // namespace sinapse::cpu
