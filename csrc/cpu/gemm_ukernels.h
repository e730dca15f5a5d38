// GEMM micro-kernels and the blocksize table of each SIMD path.
//
// The micro-kernel contract (the same for every path, see docs/kernels/gemm.md):
//
//   C[0:MR, 0:NR] = alpha * (Ap @ Bp) + beta * C[0:MR, 0:NR]     (beta == 0: C not read)
//
//   Ap: packed A micro-panel, kc steps of MR contiguous floats:  Ap[k*MR + i] = op(A)[i, k]
//   Bp: packed B micro-panel, kc steps of NR contiguous floats:  Bp[k*NR + j] = op(B)[k, j]
//   C : row-major with row stride ldc. Always a full MR x NR tile: edge tiles are
//       computed into a scratch tile by the caller and copied out.
//
//          k ->                      j ->  (NR)
//   Ap:  +--+--+--+-- ...    Bp:  k +-----------+
//      i |a0|a1|a2|               | |  row k=0  |  NR floats
//   (MR) |  |  |  |               v |  row k=1  |
//        +--+--+--+-- ...           +-----------+ ...
//
// Each kernel keeps the MR x NR tile of C in registers for the whole k loop: per k it
// loads NR/W vectors of Bp, broadcasts MR scalars of Ap, and issues MR*NR/W FMAs.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

using GemmUkernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                             float beta);

void sgemm_ukernel_generic_6x8(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                               float beta);
#if defined(__x86_64__)
void sgemm_ukernel_avx2_6x16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                             float beta);
void sgemm_ukernel_avx512_12x32(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                float beta);
// Edge kernels: the same contract on the same packed panels, but only the left NR/2
// columns are computed and written (for the last column panel when N % NR <= NR/2).
void sgemm_ukernel_avx2_6x16_left8(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                   float beta);
void sgemm_ukernel_avx512_12x32_left16(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                                       float beta);
#endif

// The blocksizes of one SIMD path (BLIS notation). Invariants: MC % MR == 0, NC % NR == 0.
//   MR x NR  register tile of C held by the micro-kernel
//   KC       depth of a packed panel: the kc x NR B micro-panel stays in L1
//   MC       rows of the packed A block (MC x KC), sized to stay in L2
//   NC       columns of the packed B panel (KC x NC), sized to stay in L3
struct GemmBlocking {
  SimdPath path;
  const char* ukernel_name;
  GemmUkernel ukernel;
  GemmUkernel ukernel_left_half;  // computes only columns [0, NR/2); may be null
  int MR, NR, KC, MC, NC;
};

// The current table entry of `path` (a copy: the table can be changed at run time).
GemmBlocking gemm_blocking(SimdPath path);

// Override KC, MC, NC of a path for experiments (bench/suites/gemm_blocking.py sweeps
// them without a rebuild); MC must be a multiple of MR and NC of NR. Reset restores the
// built-in row. Safe to call while other threads run GEMMs: each call reads one snapshot.
void set_gemm_blocking(SimdPath path, int KC, int MC, int NC);
void reset_gemm_blocking(SimdPath path);

}  // namespace sinapse::cpu
