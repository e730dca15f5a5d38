// GEMM kernels, three variants (see gemm.h and docs/kernels/gemm.md):
//
//   naive   one thread per element of C, reading A and B straight from global memory.
//   blocked 16x16 tiles of A and B staged in shared memory: each element loaded from global
//           memory once per tile instead of once per multiply-add.
//   tuned   64x64 C tile per block of 256 threads, a 4x4 register tile per thread (16 FMAs
//           per 8 shared-memory loads), float4 global loads where the source is contiguous
//           and aligned, and two shared-memory buffers so the next K tile's global loads are
//           in flight while this one is computed (one __syncthreads per K tile).
//
// All three honour the whole contract: transposes through strides, alpha/beta (C is not read
// when beta == 0), bias and activation fused into the store.
#include "gemm.h"

#include <cstdint>

#include "compat.cuh"
#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

struct GemmParams {
  int64_t M, N, K;
  float alpha, beta;
  const float* A;
  int64_t a_rs, a_cs;  // element (i, k) of op(A) is A[i * a_rs + k * a_cs]
  const float* B;
  int64_t b_rs, b_cs;  // element (k, j) of op(B) is B[k * b_rs + j * b_cs]
  float* C;
  int64_t ldc;
  const float* bias;
  int act;
};

GemmParams make_params(const GemmArgs& g) {
  return {g.M,
          g.N,
          g.K,
          g.alpha,
          g.beta,
          g.A,
          g.a_row_stride(),
          g.a_col_stride(),
          g.B,
          g.b_row_stride(),
          g.b_col_stride(),
          g.C,
          g.ldc,
          g.bias,
          static_cast<int>(g.act)};
}

// The epilogue, shared by every variant: C = act(alpha * acc + beta * C + bias).
__device__ __forceinline__ void store_output(const GemmParams& p, int64_t i, int64_t j, float acc) {
  float* c = p.C + i * p.ldc + j;
  float v = p.alpha * acc;
  if (p.beta != 0.0f) v += p.beta * *c;  // beta == 0: C is never read
  if (p.bias) v += p.bias[j];
  *c = activate(v, static_cast<Activation>(p.act));
}

// ---- variant 1: naive ---------------------------------------------------------------------
// kKEnd: 0 = correct; the mutants stop one short (-1) or read one past the end (+1).
template <int kKEnd>
__global__ void gemm_naive_kernel(GemmParams p) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y;
  if (i >= p.M || j >= p.N) return;
  const int64_t k_end = p.K + kKEnd;
  float acc = 0.0f;
  for (int64_t k = 0; k < k_end; ++k) acc += p.A[i * p.a_rs + k * p.a_cs] * p.B[k * p.b_rs + j * p.b_cs];
  store_output(p, i, j, acc);
}

// ---- variant 2: blocked (shared-memory tiles) ---------------------------------------------
constexpr int kTile = 16;

template <bool kSync>
__global__ void gemm_blocked_kernel(GemmParams p) {
  // +1 column: threads of a warp reading a column of the tile hit different banks.
  SINAPSE_SHARED(float, As, [kTile][kTile + 1]);
  SINAPSE_SHARED(float, Bs, [kTile][kTile + 1]);
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i = static_cast<int64_t>(blockIdx.y) * kTile + ty;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < p.K; k0 += kTile) {
    // Every thread loads one element of each tile (zero outside the matrices)...
    As[ty][tx] = (i < p.M && k0 + tx < p.K) ? p.A[i * p.a_rs + (k0 + tx) * p.a_cs] : 0.0f;
    Bs[ty][tx] = (k0 + ty < p.K && j < p.N) ? p.B[(k0 + ty) * p.b_rs + j * p.b_cs] : 0.0f;
    if (kSync) __syncthreads();  // ...and nobody reads the tiles before all are loaded
    for (int kk = 0; kk < kTile; ++kk) acc += As[ty][kk] * Bs[kk][tx];
    if (kSync) __syncthreads();  // nobody overwrites the tiles while others still read them
  }
  if (i < p.M && j < p.N) store_output(p, i, j, acc);
}

// ---- variant 3: tuned ---------------------------------------------------------------------
constexpr int kBM = 64, kBN = 64, kBK = 16;          // C tile per block, K depth per stage
constexpr int kTM = 4, kTN = 4;                      // C tile per thread (registers)
constexpr int kThreads = (kBM / kTM) * (kBN / kTN);  // 256
constexpr int kPad = 4;                              // spreads shared-memory stores over banks

// Four consecutive floats starting at p (element step `step`), `valid` of them inside the
// matrix: one float4 load when they are contiguous, complete and 16-byte aligned.
__device__ __forceinline__ void load_quad(const float* p, int64_t step, int64_t valid, float out[4]) {
  if (valid >= 4 && step == 1 && (reinterpret_cast<uintptr_t>(p) & 15) == 0) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    out[0] = v.x;
    out[1] = v.y;
    out[2] = v.z;
    out[3] = v.w;
    return;
  }
  for (int c = 0; c < 4; ++c) out[c] = c < valid ? p[c * step] : 0.0f;
}

// This thread's share of one K stage: 4 elements of the A tile (kBM x kBK) and 4 of the B
// tile (kBK x kBN). A and B are handled alike as an operand X that is `wide` along M (A)
// or N (B) and kBK deep; X(w, k) = X[w * w_stride + k * k_stride]. The 4 elements run
// along whichever of the two is contiguous in memory, so they can be one float4 load.
struct StageLoad {
  float a[4], b[4];
};

__device__ __forceinline__ void load_operand(const float* X, int64_t w_stride, int64_t k_stride, int64_t wide,
                                             int64_t depth, int64_t w0, int64_t k0, int t, float out[4]) {
  if (k_stride == 1) {  // contiguous along k: 4 consecutive k of line w
    const int w = t / 4, kq = (t % 4) * 4;
    load_quad(X + (w0 + w) * w_stride + (k0 + kq), 1, w0 + w < wide ? depth - (k0 + kq) : 0, out);
  } else {  // contiguous along w: 4 consecutive w of line k
    const int k = t / 16, wq = (t % 16) * 4;
    load_quad(X + (k0 + k) * k_stride + (w0 + wq), 1, k0 + k < depth ? wide - (w0 + wq) : 0, out);
  }
}

// Stores what load_operand loaded into the k-major shared tile Xs[k][w].
template <typename Stage>
__device__ __forceinline__ void store_operand(Stage&& Xs, bool k_contiguous, int t, const float v[4]) {
  if (k_contiguous) {
    const int w = t / 4, kq = (t % 4) * 4;
    for (int c = 0; c < 4; ++c) Xs[kq + c][w] = v[c];
  } else {
    const int k = t / 16, wq = (t % 16) * 4;
    for (int c = 0; c < 4; ++c) Xs[k][wq + c] = v[c];
  }
}

__device__ __forceinline__ void load_stage(const GemmParams& p, int64_t m0, int64_t n0, int64_t k0, int t,
                                           StageLoad& s) {
  load_operand(p.A, p.a_rs, p.a_cs, p.M, p.K, m0, k0, t, s.a);
  load_operand(p.B, p.b_cs, p.b_rs, p.N, p.K, n0, k0, t, s.b);
}

// As, Bs: one stage of the shared tiles (kBK rows); templates so that the simulator's
// checked shared-memory views pass through as well as plain arrays.
template <typename StageA, typename StageB>
__device__ __forceinline__ void store_stage(const GemmParams& p, int t, const StageLoad& s, StageA&& As, StageB&& Bs) {
  store_operand(As, p.a_cs == 1, t, s.a);
  store_operand(Bs, p.b_rs == 1, t, s.b);
}

// kMutant: 0 = correct; the mutants (SINAPSE_SIM only, test_switches.cuh) drop the barrier
// between K stages (kTunedNoSync), put the store's edge guard one row short (kTunedEdge:
// C's last row is never written) or accumulate into the transposed register tile (kTunedSwap).
enum { kTunedNoSync = 1, kTunedEdge, kTunedSwap };
template <int kMutant>
__global__ void gemm_tuned_kernel(GemmParams p) {
  // Two stages of A (stored k-major: As[k][m]) and B (Bs[k][n]).
  SINAPSE_SHARED(float, As, [2][kBK][kBM + kPad]);
  SINAPSE_SHARED(float, Bs, [2][kBK][kBN + kPad]);
  const int t = threadIdx.x;
  const int tx = t % (kBN / kTN), ty = t / (kBN / kTN);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kBM, n0 = static_cast<int64_t>(blockIdx.x) * kBN;
  float acc[kTM][kTN] = {};
  const int64_t stages = (p.K + kBK - 1) / kBK;

  StageLoad s;
  if (stages > 0) {
    load_stage(p, m0, n0, 0, t, s);
    store_stage(p, t, s, As[0], Bs[0]);
  }
  __syncthreads();
  for (int64_t st = 0; st < stages; ++st) {
    const int cur = static_cast<int>(st & 1);
    const bool more = st + 1 < stages;
    if (more) load_stage(p, m0, n0, (st + 1) * kBK, t, s);  // global loads in flight...
    for (int kk = 0; kk < kBK; ++kk) {                      // ...while this stage computes
      float a[kTM], b[kTN];
      for (int r = 0; r < kTM; ++r) a[r] = As[cur][kk][ty * kTM + r];
      for (int c = 0; c < kTN; ++c) b[c] = Bs[cur][kk][tx * kTN + c];
      for (int r = 0; r < kTM; ++r)
        for (int c = 0; c < kTN; ++c) (kMutant == kTunedSwap ? acc[c][r] : acc[r][c]) += a[r] * b[c];
    }
    // The other buffer was last read in the previous stage, before the last barrier.
    if (more) store_stage(p, t, s, As[cur ^ 1], Bs[cur ^ 1]);
    if (kMutant != kTunedNoSync) __syncthreads();
  }
  for (int r = 0; r < kTM; ++r) {
    const int64_t i = m0 + ty * kTM + r;
    if (i >= p.M - (kMutant == kTunedEdge ? 1 : 0)) break;
    for (int c = 0; c < kTN; ++c) {
      const int64_t j = n0 + tx * kTN + c;
      if (j < p.N) store_output(p, i, j, acc[r][c]);
    }
  }
}

unsigned blocks(int64_t n, int64_t per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

}  // namespace

void gemm(const GemmArgs& g, GemmVariant variant, cudaStream_t stream) {
  if (g.M == 0 || g.N == 0) return;
  const GemmParams p = make_params(g);
  switch (variant) {
    case GemmVariant::naive:
      return launch("gemm_naive_kernel", gemm_naive_kernel<0>, dim3(blocks(g.N, 16), blocks(g.M, 16)), dim3(16, 16), 0,
                    stream, p);
    case GemmVariant::blocked:
      return launch("gemm_blocked_kernel", gemm_blocked_kernel<true>, dim3(blocks(g.N, kTile), blocks(g.M, kTile)),
                    dim3(kTile, kTile), 0, stream, p);
    case GemmVariant::tuned:
      return launch(
          "gemm_tuned_kernel",
          SINAPSE_MUTANT(gemm_tuned_kernel<0>, "gemm_tuned_nosync", gemm_tuned_kernel<kTunedNoSync>, "gemm_tuned_edge",
                         gemm_tuned_kernel<kTunedEdge>, "gemm_tuned_swap", gemm_tuned_kernel<kTunedSwap>),
          dim3(blocks(g.N, kBN), blocks(g.M, kBM)), dim3(kThreads), 0, stream, p);
  }
}

#if defined(SINAPSE_SIM)
void gemm_mutant(const GemmArgs& g, const std::string& which, cudaStream_t stream) {
  if (g.M == 0 || g.N == 0) return;
  const GemmParams p = make_params(g);
  if (which == "blocked_nosync")
    return launch("gemm_blocked_kernel<nosync>", gemm_blocked_kernel<false>,
                  dim3(blocks(g.N, kTile), blocks(g.M, kTile)), dim3(kTile, kTile), 0, stream, p);
  if (which == "naive_offbyone")
    return launch("gemm_naive_kernel<offbyone>", gemm_naive_kernel<-1>, dim3(blocks(g.N, 16), blocks(g.M, 16)),
                  dim3(16, 16), 0, stream, p);
  if (which == "naive_past_end")
    return launch("gemm_naive_kernel<past_end>", gemm_naive_kernel<+1>, dim3(blocks(g.N, 16), blocks(g.M, 16)),
                  dim3(16, 16), 0, stream, p);
  throw std::invalid_argument("gemm_mutant: unknown mutant '" + which + "'");
}
#endif

}  // namespace sinapse::cuda
