#include "cpu_arch.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "cpu_features.h"
#include "macros.h"

#if SINAPSE_X86
#include <cpuid.h>
#endif

namespace sinapse {

namespace {

bool in(int model, int lo, int hi) { return model >= lo && model <= hi; }

std::string intel_name(int family, int model) {
  if (family != 6) return "";
  switch (model) {
    case 0x55:  // Skylake-SP, Cascade Lake, Cooper Lake: 2 AVX-512 FMA ports, 1 MiB L2
      return "skylake_x";
    case 0x6A:
    case 0x6C:  // Ice Lake-SP/-D: 48 KiB L1d, 1.25 MiB L2
      return "icelake_server";
    case 0x8F:  // Sapphire Rapids
    case 0xCF:  // Emerald Rapids (the same core, Raptor Cove, with a larger L3)
      return "sapphire_rapids";
    default:
      return "";
  }
}

std::string amd_name(int family, int model) {
  if (family == 0x19) {  // Zen 3 and Zen 4 share family 19h; the model ranges tell them apart
    if (in(model, 0x00, 0x0F) || in(model, 0x20, 0x5F)) return "zen3";
    if (in(model, 0x10, 0x1F) || in(model, 0x60, 0x7F) || in(model, 0xA0, 0xAF)) return "zen4";
  }
  if (family == 0x1A) return "zen5";
  return "";
}

#if SINAPSE_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

// Leaf 4 (Intel) and 0x8000001D (AMD) share one layout: EAX type/level/sharing, EBX ways,
// partitions and line size, ECX sets - 1.
bool caches_from_cpuid(unsigned leaf, CpuArch& a) {
  bool any = false;
  for (unsigned sub = 0; sub < 16; ++sub) {
    unsigned r[4];
    cpuid(leaf, sub, r);
    const unsigned type = r[0] & 0x1f, level = (r[0] >> 5) & 7;
    if (type == 0) break;
    if (type == 2) continue;  // instruction cache
    CacheLevel c;
    c.ways = static_cast<int>(((r[1] >> 22) & 0x3ff) + 1);
    const int64_t partitions = ((r[1] >> 12) & 0x3ff) + 1;
    c.line = static_cast<int>((r[1] & 0xfff) + 1);
    c.size = c.ways * partitions * c.line * (static_cast<int64_t>(r[2]) + 1);
    c.shared_by = static_cast<int>(((r[0] >> 14) & 0xfff) + 1);
    if (c.size <= 0) continue;
    if (level == 1) a.l1d = c;
    if (level == 2) a.l2 = c;
    if (level == 3) a.l3 = c;
    any = true;
  }
  return any && a.l1d.size > 0 && a.l2.size > 0;
}

void identify(CpuArch& a) {
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  a.vendor = std::strcmp(vendor, "GenuineIntel") == 0   ? "intel"
             : std::strcmp(vendor, "AuthenticAMD") == 0 ? "amd"
                                                        : vendor;
  cpuid(1, 0, r);
  const int base_family = (r[0] >> 8) & 0xf, base_model = (r[0] >> 4) & 0xf;
  a.family = base_family == 0xf ? base_family + static_cast<int>((r[0] >> 20) & 0xff) : base_family;
  a.model = (base_family == 0x6 || base_family == 0xf) ? base_model + static_cast<int>(((r[0] >> 16) & 0xf) << 4)
                                                       : base_model;
  cpuid(0x80000000, 0, r);
  const unsigned max_ext = r[0];
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002 + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    std::string s(brand);
    const size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    a.model_name = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  }
  bool cpuid_caches = false;
  if (a.vendor == "amd" && max_ext >= 0x8000001D) {
    cpuid(0x80000001, 0, r);
    if (r[2] & (1u << 22)) cpuid_caches = caches_from_cpuid(0x8000001D, a);  // TOPOEXT
  } else if (a.vendor == "intel" && max_leaf >= 4) {
    cpuid_caches = caches_from_cpuid(4, a);
  }
  if (cpuid_caches) a.cache_source = "cpuid";
}
#endif

// /sys/devices/system/cpu/cpu0/cache/indexN/{level,type,size,ways_of_associativity,...}.
std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

int count_cpus(const std::string& list) {  // "0-1,4,6-7" -> 5
  int n = 0;
  size_t pos = 0;
  while (pos < list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string part = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int lo = 0, hi = 0;
    if (std::sscanf(part.c_str(), "%d-%d", &lo, &hi) == 2)
      n += hi - lo + 1;
    else if (std::sscanf(part.c_str(), "%d", &lo) == 1)
      n += 1;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return n > 0 ? n : 1;
}

bool caches_from_sysfs(CpuArch& a) {
  bool any = false;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string type = read_line(dir + "type");
    if (type.empty()) break;
    if (type == "Instruction") continue;
    CacheLevel c;
    long long size = 0;
    char unit = 'B';
    if (std::sscanf(read_line(dir + "size").c_str(), "%lld%c", &size, &unit) < 1) continue;
    c.size = size * (unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024 : 1);
    c.ways = std::atoi(read_line(dir + "ways_of_associativity").c_str());
    const int line = std::atoi(read_line(dir + "coherency_line_size").c_str());
    c.line = line > 0 ? line : 64;
    c.shared_by = count_cpus(read_line(dir + "shared_cpu_list"));
    const int level = std::atoi(read_line(dir + "level").c_str());
    if (c.size <= 0) continue;
    if (c.ways <= 0) c.ways = 8;
    if (level == 1) a.l1d = c;
    if (level == 2) a.l2 = c;
    if (level == 3) a.l3 = c;
    any = true;
  }
  return any && a.l1d.size > 0 && a.l2.size > 0;
}

CpuArch detect() {
  CpuArch a;
  a.vendor = "unknown";
#if SINAPSE_X86
  identify(a);
#endif
  if (a.cache_source.empty() && caches_from_sysfs(a)) a.cache_source = "sysfs";
  if (a.cache_source.empty()) {  // a common server core: 32 KiB 8-way L1d, 1 MiB L2, 2 MiB of L3 per core
    a.l1d = {32 * 1024, 8, 64, 2};
    a.l2 = {1024 * 1024, 16, 64, 2};
    a.l3 = {2 * 1024 * 1024, 16, 64, 2};
    a.cache_source = "default";
  }
  a.name =
      microarchitecture_name(a.vendor, a.family, a.model, cpu_supports(SimdPath::avx512), cpu_supports(SimdPath::avx2));
  return a;
}

}  // namespace

std::string microarchitecture_name(const std::string& vendor, int family, int model, bool avx512, bool avx2) {
  std::string n = vendor == "intel" ? intel_name(family, model) : vendor == "amd" ? amd_name(family, model) : "";
  if (!n.empty()) return n;
  return avx512 ? "generic_avx512" : avx2 ? "generic_avx2" : "generic";
}

const CpuArch& cpu_arch() {
  static const CpuArch a = detect();
  return a;
}

}  // namespace sinapse
