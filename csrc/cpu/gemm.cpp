// GEMM entry point: the cases every variant shares (empty shapes, K == 0) and the epilogue.
#include "gemm.h"

#include <algorithm>

#include "../common/threading.h"

namespace sinapse::cpu {

void gemm_epilogue(float* C, int64_t ldc, int64_t m, int64_t n, const float* bias, Activation act) {
  for (int64_t i = 0; i < m; ++i) {
    float* c = C + i * ldc;
    if (bias)
      for (int64_t j = 0; j < n; ++j) c[j] += bias[j];
    switch (act) {  // one switch per row, so each loop below is a plain vectorisable loop
      case Activation::none:
        break;
      case Activation::relu:
        for (int64_t j = 0; j < n; ++j) c[j] = activate(c[j], Activation::relu);
        break;
      case Activation::sigmoid:
        for (int64_t j = 0; j < n; ++j) c[j] = activate(c[j], Activation::sigmoid);
        break;
      case Activation::tanh:
        for (int64_t j = 0; j < n; ++j) c[j] = activate(c[j], Activation::tanh);
        break;
    }
  }
}

namespace {
// K == 0: the product is empty, so C = act(beta * C + bias) (and C is not read if beta == 0).
void gemm_empty_k(const GemmArgs& g) {
  for (int64_t i = 0; i < g.M; ++i) {
    float* c = g.C + i * g.ldc;
    if (g.beta == 0.0f) {
      std::fill(c, c + g.N, 0.0f);
    } else {
      for (int64_t j = 0; j < g.N; ++j) c[j] *= g.beta;
    }
  }
  gemm_epilogue(g.C, g.ldc, g.M, g.N, g.bias, g.act);
}
}  // namespace

void gemm(const GemmArgs& args, GemmVariant variant, SimdPath path, int max_threads) {
  if (args.M == 0 || args.N == 0) return;
  if (args.K == 0) return gemm_empty_k(args);
  max_threads = std::max(1, max_threads);
  switch (variant) {
    case GemmVariant::naive:
      return gemm_naive(args, max_threads);
    case GemmVariant::blocked:
      return gemm_blocked(args, max_threads);
    case GemmVariant::tuned:
      return gemm_tuned(args, path, max_threads);
  }
}

}  // namespace sinapse::cpu
