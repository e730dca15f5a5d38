// Per-microarchitecture GEMM configuration: the analytical blocksize model and the table.
//
// BLIS keeps one configuration per microarchitecture; Low et al., "Analytical modeling is
// enough for high-performance BLIS" (ACM TOMS 43(2), 2016) derive it from the core's FMA
// latency/throughput, its vector registers and its cache geometry. gemm_config.cpp writes
// that model as code (gemm_model_*) and keeps a table row per (microarchitecture, SIMD path)
// saying where each number came from; an unknown CPU gets the model on its detected caches.
#pragma once

#include <string>

#include "../common/cpu_arch.h"
#include "gemm_ukernels.h"

namespace sinapse::cpu {

// What the model needs to know about the FMA units of one SIMD path.
struct FmaUnits {
  int latency;     // cycles from an FMA's inputs to its result
  int pipes;       // vector FMAs issued per cycle at this path's width (Zen 4 AVX-512: 1, double-pumped)
  int registers;   // vector registers (16 ymm, 32 zmm)
  int load_ports;  // vector loads/broadcasts per cycle
};
FmaUnits fma_units(const std::string& arch, SimdPath path);

// Blocksizes from the cache geometry for an MR x NR micro-kernel (Low et al. §5, see the .cpp).
struct ModelBlocksizes {
  int KC, MC, NC;
};
ModelBlocksizes gemm_model_blocksizes(const CacheLevel& l1d, const CacheLevel& l2, const CacheLevel& l3, int MR,
                                      int NR);
// The micro-kernel shape of `path` the model picks (Low et al. §4): see the .cpp.
const UkernelInfo* gemm_model_ukernel(SimdPath path, const FmaUnits& fma);

// The built-in configuration of `path` on `arch`: its table row, else the model on its
// caches. `source` receives "table: <arch>" or "model".
GemmBlocking gemm_builtin_config(SimdPath path, const CpuArch& arch, std::string* source);

// One table row, for the tests and the docs: arch, path, ukernel shape, KC, MC, NC, split,
// and how the numbers were derived.
struct GemmTableRow {
  const char* arch;
  SimdPath path;
  const char* shape;  // "12x32"
  int KC, MC, NC;
  GemmSplit split;
  const char* derivation;
};
const GemmTableRow* gemm_table(int* count);
// The nominal caches of a table architecture (what the model rows were computed from);
// false for an unknown name.
bool nominal_caches(const std::string& arch, CacheLevel* l1d, CacheLevel* l2, CacheLevel* l3);

}  // namespace sinapse::cpu
