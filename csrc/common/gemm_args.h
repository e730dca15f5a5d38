// The GEMM contract shared by every backend and variant:
//
//     C = act( alpha * op(A) @ op(B) + beta * C + bias )
//
// op(X) is X or X^T (no transposed copy is ever made: the kernels read with swapped
// strides); A, B, C are row-major; bias has N entries (one per output column) or is null;
// act is applied element-wise last. beta == 0 means C is write-only: it is never read, so
// NaN or garbage in C does not propagate (the BLAS rule).
#pragma once

#include <cstdint>

#include "activations.h"
#include "macros.h"

namespace sinapse {

// The GEMM epilogue's activations (the first four ActKind codes of activations.h).
enum class Activation : int { none = 0, relu = 1, sigmoid = 2, tanh = 3 };

// The kernel variants, the same three names on every backend (see docs/kernels/gemm.md):
// naive = the definition; blocked = cache blocking (CPU) / shared-memory tiles (CUDA);
// tuned = packed, register-blocked micro-kernels (CPU) / 2D register tiles, float4 loads,
// double-buffered shared memory (CUDA).
enum class GemmVariant : int { naive = 0, blocked = 1, tuned = 2 };

struct GemmArgs {
  bool trans_a = false;  // op(A) = A^T; A is stored K x M
  bool trans_b = false;  // op(B) = B^T; B is stored N x K
  int64_t M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  const float* A = nullptr;
  int64_t lda = 0;  // row stride of A as stored
  const float* B = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  float* C = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  // length N, or null
  Activation act = Activation::none;

  // Element (i, k) of op(A) and (k, j) of op(B): the naive loops and the packing
  // routines read through these strides, which is how transposes cost nothing.
  int64_t a_row_stride() const { return trans_a ? 1 : lda; }
  int64_t a_col_stride() const { return trans_a ? lda : 1; }
  int64_t b_row_stride() const { return trans_b ? 1 : ldb; }
  int64_t b_col_stride() const { return trans_b ? ldb : 1; }
  double flops() const { return 2.0 * static_cast<double>(M) * N * K; }
};

// The one way to fill GemmArgs (every caller: the CPU and CUDA bindings, conv2d's im2col
// products, the RNN time loop). lda, ldb, ldc: row strides of A, B, C as stored.
inline GemmArgs make_gemm_args(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a,
                               const float* B, int64_t ldb, bool trans_b, float* C, int64_t ldc, float beta = 0.0f,
                               const float* bias = nullptr, float alpha = 1.0f, Activation act = Activation::none) {
  GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.M = M;
  g.N = N;
  g.K = K;
  g.alpha = alpha;
  g.A = A;
  g.lda = lda;
  g.B = B;
  g.ldb = ldb;
  g.beta = beta;
  g.C = C;
  g.ldc = ldc;
  g.bias = bias;
  g.act = act;
  return g;
}

// The same for densely stored operands: each row stride is the stored width.
inline GemmArgs make_dense_gemm_args(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B,
                                     bool trans_b, float* C, float beta = 0.0f, const float* bias = nullptr,
                                     Activation act = Activation::none) {
  return make_gemm_args(M, N, K, A, trans_a ? M : K, trans_a, B, trans_b ? K : N, trans_b, C, N, beta, bias, 1.0f, act);
}

// One activation value of the epilogue: the epilogue's codes are ActKind's first four.
SINAPSE_HD float activate(float x, Activation act) { return act::forward(x, static_cast<ActKind>(act), 0.0f); }

}  // namespace sinapse
