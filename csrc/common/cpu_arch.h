// Which microarchitecture runs this process, and its data caches: the inputs of the GEMM's
// per-architecture table and of its analytical blocksize model (cpu/gemm_config.h).
//
// The name comes from CPUID's vendor string and its display family/model (the same
// numbers Linux prints in /proc/cpuinfo); the caches from CPUID leaf 4 (Intel) or
// 0x8000001D (AMD), the deterministic cache parameters, with /sys/devices/system/cpu/cpu0/cache
// as the fallback (hypervisors sometimes zero those leaves) and fixed defaults as the last resort.
#pragma once

#include <cstdint>
#include <string>

namespace sinapse {

// One cache level. size = ways * sets * line bytes.
struct CacheLevel {
  int64_t size = 0;   // bytes
  int ways = 0;       // associativity
  int line = 64;      // bytes per line
  int shared_by = 1;  // logical processors sharing it (per CPUID or shared_cpu_list)
};

struct CpuArch {
  std::string vendor;  // "intel", "amd", or the raw CPUID vendor string
  int family = 0, model = 0;
  std::string model_name;  // the CPUID brand string, e.g. "AMD EPYC 9R14 96-Core Processor"
  std::string name;        // skylake_x, icelake_server, sapphire_rapids, zen3, zen4, zen5,
                           // generic_avx512, generic_avx2 or generic
  CacheLevel l1d, l2, l3;
  std::string cache_source;  // "cpuid", "sysfs" or "default"
};

// Detected once (thread-safe), then cached.
const CpuArch& cpu_arch();

// The name for a vendor/family/model (pure: the tests feed it known CPUs). `avx512` and
// `avx2` say which SIMD paths run, for the generic_* fallbacks.
std::string microarchitecture_name(const std::string& vendor, int family, int model, bool avx512, bool avx2);

}  // namespace sinapse
