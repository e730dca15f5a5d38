#include "cpu_features.h"

#include <cstdlib>
#include <stdexcept>

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

namespace simd_detail {
std::atomic<unsigned> paths_run{0};
}

namespace {
// -1: nothing forced. Process-wide, read by the bindings of every thread.
std::atomic<int> forced_path{-1};

std::string supported_list() {
  std::string out;
  for (SimdPath p : supported_simd_paths()) out += std::string(out.empty() ? "" : ", ") + simd_path_name(p);
  return out;
}
}  // namespace

void force_simd_path(const char* name) {
  SimdPath path;
  forced_path.store(name && parse_simd_path(name, &path) ? static_cast<int>(path) : -1, std::memory_order_relaxed);
}

SimdRequest simd_request(const char* requested) {
  if (requested) return {requested, "simd"};
  const int forced = forced_path.load(std::memory_order_relaxed);
  if (forced >= 0) return {simd_path_name(static_cast<SimdPath>(forced)), "forced"};
  const char* env = std::getenv(kSimdEnv);
  if (env && *env) return {env, kSimdEnv};
  return {nullptr, nullptr};
}

SimdPath resolve_simd_path(const char* requested, const char* op) {
  const SimdRequest r = simd_request(requested);
  if (!r.name) return best_simd_path();
  SimdPath path;
  const std::string where = std::string(op) + ": " + r.source + ": ";
  if (!parse_simd_path(r.name, &path))
    throw std::invalid_argument(where + "unknown SIMD path '" + r.name + "' (expected generic, avx2 or avx512)");
  if (!cpu_supports(path))
    throw std::invalid_argument(where + "SIMD path '" + r.name +
                                "' is not supported by this CPU (supported here: " + supported_list() + ")");
  return path;
}

unsigned take_simd_paths_run() { return simd_detail::paths_run.exchange(0, std::memory_order_relaxed); }

}  // namespace sinapse
