#include "cpu_features.h"

#include "macros.h"

#if SINAPSE_X86
#include <cpuid.h>
#endif

namespace sinapse {

namespace {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;  // F + DQ + VL, and the OS saves the zmm/opmask state
};

#if SINAPSE_X86
// XGETBV reads which register states the OS saves on a context switch. A CPU may
// advertise AVX-512 while the OS (or hypervisor) does not enable it; then zmm
// instructions fault, so both CPUID and XCR0 must agree.
unsigned long long read_xcr0() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  const bool avx512dq = ebx & (1u << 17);
  const bool avx512vl = ebx & (1u << 31);
  f.avx2_fma = os_ymm && avx2 && fma;
  f.avx512 = f.avx2_fma && os_zmm && avx512f && avx512dq && avx512vl;
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

const CpuFeatures& features() {
  static const CpuFeatures f = detect();  // thread-safe one-time initialisation
  return f;
}

}  // namespace

const char* simd_path_name(SimdPath path) {
  switch (path) {
    case SimdPath::avx512:
      return "avx512";
    case SimdPath::avx2:
      return "avx2";
    case SimdPath::generic:
      return "generic";
  }
  return "unknown";
}

bool parse_simd_path(const std::string& name, SimdPath* path) {
  for (SimdPath p : {SimdPath::generic, SimdPath::avx2, SimdPath::avx512}) {
    if (name == simd_path_name(p)) {
      *path = p;
      return true;
    }
  }
  return false;
}

bool cpu_supports(SimdPath path) {
  switch (path) {
    case SimdPath::generic:
      return true;
    case SimdPath::avx2:
      return features().avx2_fma;
    case SimdPath::avx512:
      return features().avx512;
  }
  return false;
}

SimdPath best_simd_path() {
  if (cpu_supports(SimdPath::avx512)) return SimdPath::avx512;
  if (cpu_supports(SimdPath::avx2)) return SimdPath::avx2;
  return SimdPath::generic;
}

std::vector<SimdPath> supported_simd_paths() {
  std::vector<SimdPath> out;
  for (SimdPath p : {SimdPath::generic, SimdPath::avx2, SimdPath::avx512})
    if (cpu_supports(p)) out.push_back(p);
  return out;
}

}  // namespace sinapse
