// Portable micro-kernel: plain C++ the compiler vectorises for the baseline ISA (SSE2 on
// x86-64, NEON on Arm). It is the template every SIMD kernel follows and the fallback on
// CPUs without AVX2. Contract: gemm_ukernels.h.
#include "gemm_ukernels.h"

namespace sinapse::cpu {

void sgemm_ukernel_generic_6x8(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* __restrict C,
                               int64_t ldc, float alpha, float beta) {
  constexpr int MR = 6, NR = 8;  // 12 SSE registers of C (4 lanes), 2 of B, 1 broadcast: no spills
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float a = Ap[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * Bp[j];
    }
    Ap += MR;
    Bp += NR;
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < NR; ++j) c[j] = alpha * acc[i][j];  // C is never read
    } else {
      for (int j = 0; j < NR; ++j) c[j] = alpha * acc[i][j] + beta * c[j];
    }
  }
}

}  // namespace sinapse::cpu
