// The blocksize table: one row per SIMD path. Changing a number here is the whole of
// "retuning" for a new cache hierarchy; bench/ measures the effect.
#include <stdexcept>

#include "gemm_ukernels.h"

namespace sinapse::cpu {

namespace {
// Sizes tuned on AMD EPYC (Zen 5: 48 KiB L1d, 1 MiB L2 per core, 32 MiB L3); the
// reasoning per number is in docs/kernels/gemm.md.
//                                 path            ukernel name                 ukernel                     MR  NR   KC   MC    NC
const GemmBlocking kGeneric = {SimdPath::generic, "sgemm_ukernel_generic_4x16", sgemm_ukernel_generic_4x16, 4, 16, 256, 64, 2048};
#if defined(__x86_64__)
const GemmBlocking kAvx2 = {SimdPath::avx2, "sgemm_ukernel_avx2_6x16", sgemm_ukernel_avx2_6x16, 6, 16, 512, 96, 3072};
const GemmBlocking kAvx512 = {SimdPath::avx512, "sgemm_ukernel_avx512_12x32", sgemm_ukernel_avx512_12x32, 12, 32, 1024, 96, 3072};
#endif
}  // namespace

const GemmBlocking& gemm_blocking(SimdPath path) {
  switch (path) {
    case SimdPath::generic: return kGeneric;
#if defined(__x86_64__)
    case SimdPath::avx2: return kAvx2;
    case SimdPath::avx512: return kAvx512;
#endif
    default: break;
  }
  throw std::invalid_argument("gemm: no micro-kernel for this SIMD path in this build");
}

}  // namespace sinapse::cpu
