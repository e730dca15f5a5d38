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
#include <string>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

using GemmUkernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha,
                             float beta);

// Declares (and, in a kernel's .cpp, defines as a call of `...`) one micro-kernel with the
// GemmUkernel signature: named functions, so profilers and objdump show the shape.
#define SINAPSE_UKERNEL_SIGNATURE(name) \
  void name(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha, float beta)
#define SINAPSE_DEFINE_UKERNEL(name, ...) \
  SINAPSE_UKERNEL_SIGNATURE(name) { __VA_ARGS__(kc, Ap, Bp, C, ldc, alpha, beta); }

SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_generic_6x8);
#if defined(__x86_64__)
// Edge kernels (*_leftN): the same contract on the same packed panels (rows NR floats
// apart), but only the left N = NR/2 columns are computed and written (for the last column
// panel when N % NR <= NR/2).
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx2_6x16);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx2_6x16_left8);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx2_4x24);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx2_4x24_left12);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_12x32);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_12x32_left16);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_14x32);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_14x32_left16);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_8x48);
SINAPSE_UKERNEL_SIGNATURE(sgemm_ukernel_avx512_8x48_left24);
#endif

// One compiled micro-kernel shape of a SIMD path (gemm_blocking.cpp lists them all).
struct UkernelInfo {
  SimdPath path;
  const char* name;  // "sgemm_ukernel_<path>_<MR>x<NR>"
  GemmUkernel ukernel;
  GemmUkernel ukernel_left_half;  // columns [0, NR/2) only; may be null
  int MR, NR;
  int prefetch_k;  // software prefetch distance in k steps compiled into the kernel (0: none)
};

// Every shape compiled for `path` (the first is the path's historical default).
const UkernelInfo* gemm_ukernels(SimdPath path, int* count);
// The shape named `name` on `path` ("12x32" or the full kernel name), or null.
const UkernelInfo* find_gemm_ukernel(SimdPath path, const std::string& name);

// How the threads of one GEMM share a packed block (gemm_tuned.cpp, macro_kernel):
//   rows: by MR-row micro-panels (each thread owns whole rows of C; two threads share the
//         B micro-panel through L1/L2), by columns only when there are fewer row panels than threads;
//   cols: by NR-column micro-panels whenever there are enough (each thread streams its own
//         B micro-panels and all of A: for a short M with a wide N).
enum class GemmSplit : int { rows = 0, cols = 1 };

// The configuration of one SIMD path (BLIS notation). Invariants: MC % MR == 0, NC % NR == 0.
//   MR x NR  register tile of C held by the micro-kernel
//   KC       depth of a packed panel: the kc x NR B micro-panel stays in L1 (or L2)
//   MC       rows of the packed A block (MC x KC), sized to stay in L2
//   NC       columns of the packed B panel (KC x NC), sized to stay in L3
struct GemmBlocking {
  SimdPath path;
  const char* ukernel_name;
  GemmUkernel ukernel;
  GemmUkernel ukernel_left_half;  // computes only columns [0, NR/2); may be null
  int MR, NR, KC, MC, NC;
  int prefetch_k;    // the kernel's compiled prefetch distance (k steps)
  GemmSplit split;   // threading split rule
  int64_t l2_bytes;  // per-thread L2 budget for packing all of A as one block (gemm_tuned.cpp)
};

// The configuration in use for `path` (a copy: it can be changed at run time).
GemmBlocking gemm_blocking(SimdPath path);
// Where it came from: "table: zen4", "model", "tuned cache <path>", "set_gemm_blocking".
std::string gemm_blocking_source(SimdPath path);

// Override the configuration of a path (experiments, bench/suites/gemm_blocking.py, the
// auto-tuner): `ukernel` names a shape of gemm_ukernels(path) (empty: keep the current one);
// KC, MC, NC <= 0 keep the current value, except that MC and NC are rounded to the new
// shape's MR and NR. MC must be a multiple of MR and NC of NR. `as_default` makes it what
// reset_gemm_blocking() restores (a tuned cache loaded at import). Thread-safe: each GEMM
// call reads one snapshot.
void set_gemm_blocking(SimdPath path, const std::string& ukernel, int KC, int MC, int NC, GemmSplit split,
                       const std::string& source, bool as_default);
void set_gemm_blocking(SimdPath path, int KC, int MC, int NC);
// Back to the default: the tuned cache loaded with as_default, else the table/model row.
// `to_builtin` drops a loaded cache too.
void reset_gemm_blocking(SimdPath path, bool to_builtin = false);

}  // namespace sinapse::cpu
