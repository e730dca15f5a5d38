// The micro-kernel registry and the live configuration of each SIMD path: the built-in row
// (gemm_config.cpp: the per-architecture table, else the model), possibly replaced by a tuned
// cache (sinapse/tune.py, as_default) or an experiment (set_gemm_blocking).
#include <mutex>
#include <stdexcept>
#include <string>

#include "gemm_config.h"
#include "gemm_ukernels.h"

namespace sinapse::cpu {

namespace {

// path, name, kernel, left-half kernel, MR, NR, prefetch distance (k steps)
const UkernelInfo kGenericKernels[] = {
    {SimdPath::generic, "sgemm_ukernel_generic_6x8", sgemm_ukernel_generic_6x8, nullptr, 6, 8, 0},
};
#if defined(__x86_64__)
const UkernelInfo kAvx2Kernels[] = {
    {SimdPath::avx2, "sgemm_ukernel_avx2_6x16", sgemm_ukernel_avx2_6x16, sgemm_ukernel_avx2_6x16_left8, 6, 16, 0},
    {SimdPath::avx2, "sgemm_ukernel_avx2_4x24", sgemm_ukernel_avx2_4x24, sgemm_ukernel_avx2_4x24_left12, 4, 24, 0},
};
const UkernelInfo kAvx512Kernels[] = {
    {SimdPath::avx512, "sgemm_ukernel_avx512_12x32", sgemm_ukernel_avx512_12x32, sgemm_ukernel_avx512_12x32_left16, 12,
     32, 8},
    {SimdPath::avx512, "sgemm_ukernel_avx512_14x32", sgemm_ukernel_avx512_14x32, sgemm_ukernel_avx512_14x32_left16, 14,
     32, 8},
    {SimdPath::avx512, "sgemm_ukernel_avx512_8x48", sgemm_ukernel_avx512_8x48, sgemm_ukernel_avx512_8x48_left24, 8, 48,
     8},
};
#endif

void check_path(SimdPath path) {
#if defined(__x86_64__)
  if (path == SimdPath::generic || path == SimdPath::avx2 || path == SimdPath::avx512) return;
#else
  if (path == SimdPath::generic) return;
#endif
  throw std::invalid_argument("gemm: no micro-kernel for this SIMD path in this build");
}

// The live table. built: the table/model row (computed on first use, when the caches are
// known); deflt: what reset restores (built, or a tuned cache); current: what GEMMs use.
struct Slot {
  bool ready = false;
  GemmBlocking built{}, deflt{}, current{};
  std::string built_source, deflt_source, current_source;
};
std::mutex table_mutex;
Slot slots[3];

Slot& slot(SimdPath path) {  // caller holds table_mutex
  check_path(path);
  Slot& s = slots[static_cast<int>(path)];
  if (!s.ready) {
    s.built = gemm_builtin_config(path, cpu_arch(), &s.built_source);
    s.deflt = s.current = s.built;
    s.deflt_source = s.current_source = s.built_source;
    s.ready = true;
  }
  return s;
}

}  // namespace

const UkernelInfo* gemm_ukernels(SimdPath path, int* count) {
  check_path(path);
  switch (path) {
#if defined(__x86_64__)
    case SimdPath::avx2:
      *count = static_cast<int>(sizeof(kAvx2Kernels) / sizeof(kAvx2Kernels[0]));
      return kAvx2Kernels;
    case SimdPath::avx512:
      *count = static_cast<int>(sizeof(kAvx512Kernels) / sizeof(kAvx512Kernels[0]));
      return kAvx512Kernels;
#endif
    default:
      *count = 1;
      return kGenericKernels;
  }
}

const UkernelInfo* find_gemm_ukernel(SimdPath path, const std::string& name) {
  int n = 0;
  const UkernelInfo* list = gemm_ukernels(path, &n);
  for (int i = 0; i < n; ++i) {
    const std::string shape = std::to_string(list[i].MR) + "x" + std::to_string(list[i].NR);
    if (name == list[i].name || name == shape) return &list[i];
  }
  return nullptr;
}

GemmBlocking gemm_blocking(SimdPath path) {
  std::lock_guard<std::mutex> lock(table_mutex);
  return slot(path).current;
}

std::string gemm_blocking_source(SimdPath path) {
  std::lock_guard<std::mutex> lock(table_mutex);
  return slot(path).current_source;
}

void set_gemm_blocking(SimdPath path, const std::string& ukernel, int KC, int MC, int NC, GemmSplit split,
                       const std::string& source, bool as_default) {
  std::lock_guard<std::mutex> lock(table_mutex);
  Slot& s = slot(path);
  GemmBlocking b = s.current;
  if (!ukernel.empty()) {
    const UkernelInfo* u = find_gemm_ukernel(path, ukernel);
    if (!u) {
      std::string names;
      int n = 0;
      const UkernelInfo* list = gemm_ukernels(path, &n);
      for (int i = 0; i < n; ++i)
        names += std::string(i ? ", " : "") + std::to_string(list[i].MR) + "x" + std::to_string(list[i].NR);
      throw std::invalid_argument("set_gemm_blocking: ukernel='" + ukernel + "' is not a " + simd_path_name(path) +
                                  " micro-kernel (compiled: " + names + ")");
    }
    if (u->MR != b.MR && MC <= 0) MC = std::max(1, b.MC / u->MR) * u->MR;  // keep MC near its old value
    if (u->NR != b.NR && NC <= 0) NC = std::max(1, b.NC / u->NR) * u->NR;
    b.ukernel_name = u->name;
    b.ukernel = u->ukernel;
    b.ukernel_left_half = u->ukernel_left_half;
    b.MR = u->MR;
    b.NR = u->NR;
    b.prefetch_k = u->prefetch_k;
  }
  if (KC > 0) b.KC = KC;
  if (MC > 0) b.MC = MC;
  if (NC > 0) b.NC = NC;
  if (KC < 0 || MC < 0 || NC < 0 || b.MC < b.MR || b.MC % b.MR != 0 || b.NC < b.NR || b.NC % b.NR != 0)
    throw std::invalid_argument(
        "set_gemm_blocking: need KC >= 1, MC a positive multiple of MR=" + std::to_string(b.MR) +
        ", NC a positive multiple of NR=" + std::to_string(b.NR) + " (got KC=" + std::to_string(KC) +
        ", MC=" + std::to_string(MC) + ", NC=" + std::to_string(NC) + ")");
  b.split = split;
  s.current = b;
  s.current_source = source;
  if (as_default) {
    s.deflt = b;
    s.deflt_source = source;
  }
}

void set_gemm_blocking(SimdPath path, int KC, int MC, int NC) {
  const GemmBlocking b = gemm_blocking(path);
  set_gemm_blocking(path, "", KC, MC, NC, b.split, "set_gemm_blocking", false);
}

void reset_gemm_blocking(SimdPath path, bool to_builtin) {
  std::lock_guard<std::mutex> lock(table_mutex);
  Slot& s = slot(path);
  if (to_builtin) {
    s.deflt = s.built;
    s.deflt_source = s.built_source;
  }
  s.current = s.deflt;
  s.current_source = s.deflt_source;
}

}  // namespace sinapse::cpu
