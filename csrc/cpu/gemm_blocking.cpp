// The blocksize table: one row per SIMD path. Changing a number here is the whole of
// "retuning" for a new cache hierarchy; bench/ measures the effect.
#include <mutex>
#include <stdexcept>
#include <string>

#include "gemm_ukernels.h"

namespace sinapse::cpu {

namespace {
// Sizes tuned on AMD EPYC (Zen 5: 48 KiB L1d, 1 MiB L2 per core, 32 MiB L3); the
// reasoning per number is in docs/kernels/gemm.md.
//   path, ukernel name, ukernel, left-half edge ukernel, MR, NR, KC, MC, NC
const GemmBlocking kGeneric = {
    SimdPath::generic, "sgemm_ukernel_generic_6x8", sgemm_ukernel_generic_6x8, nullptr, 6, 8, 256, 96, 2048};
#if defined(__x86_64__)
const GemmBlocking kAvx2 = {SimdPath::avx2,
                            "sgemm_ukernel_avx2_6x16",
                            sgemm_ukernel_avx2_6x16,
                            sgemm_ukernel_avx2_6x16_left8,
                            6,
                            16,
                            512,
                            96,
                            3072};
const GemmBlocking kAvx512 = {SimdPath::avx512,
                              "sgemm_ukernel_avx512_12x32",
                              sgemm_ukernel_avx512_12x32,
                              sgemm_ukernel_avx512_12x32_left16,
                              12,
                              32,
                              1024,
                              96,
                              3072};
#endif

const GemmBlocking& builtin(SimdPath path) {
  switch (path) {
    case SimdPath::generic:
      return kGeneric;
#if defined(__x86_64__)
    case SimdPath::avx2:
      return kAvx2;
    case SimdPath::avx512:
      return kAvx512;
#endif
    default:
      break;
  }
  throw std::invalid_argument("gemm: no micro-kernel for this SIMD path in this build");
}

// The live table: the built-in rows, possibly overridden by set_gemm_blocking().
std::mutex table_mutex;
GemmBlocking table[3] = {};
bool overridden[3] = {};

}  // namespace

GemmBlocking gemm_blocking(SimdPath path) {
  const GemmBlocking& base = builtin(path);
  std::lock_guard<std::mutex> lock(table_mutex);
  return overridden[static_cast<int>(path)] ? table[static_cast<int>(path)] : base;
}

void set_gemm_blocking(SimdPath path, int KC, int MC, int NC) {
  GemmBlocking b = builtin(path);
  if (KC < 1 || MC < b.MR || MC % b.MR != 0 || NC < b.NR || NC % b.NR != 0)
    throw std::invalid_argument("set_gemm_blocking: need KC >= 1, MC a positive multiple of MR=" +
                                std::to_string(b.MR) + ", NC a positive multiple of NR=" + std::to_string(b.NR));
  b.KC = KC;
  b.MC = MC;
  b.NC = NC;
  std::lock_guard<std::mutex> lock(table_mutex);
  table[static_cast<int>(path)] = b;
  overridden[static_cast<int>(path)] = true;
}

void reset_gemm_blocking(SimdPath path) {
  builtin(path);  // validates the path
  std::lock_guard<std::mutex> lock(table_mutex);
  overridden[static_cast<int>(path)] = false;
}

}  // namespace sinapse::cpu
