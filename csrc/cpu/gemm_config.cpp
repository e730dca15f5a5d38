// The analytical model of Low et al. (TOMS 2016) and the per-architecture table.
#include "gemm_config.h"

#include <algorithm>
#include <cstring>

namespace sinapse::cpu {

namespace {

int64_t round_down(int64_t x, int64_t multiple) { return std::max<int64_t>(multiple, x / multiple * multiple); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

FmaUnits fma_units(const std::string& arch, SimdPath path) {
  const bool wide = path == SimdPath::avx512;
  const int regs = wide ? 32 : 16;
  // Zen 4 runs a 512-bit FMA as two 256-bit halves on its two pipes: one zmm FMA per cycle.
  if (arch == "zen4" && wide) return {4, 1, regs, 2};
  // Zen 3/4/5 and the Intel server cores: 2 FMA pipes of latency 4 at both widths (Zen 5
  // server parts have full-width 512-bit pipes; Intel's port 0+1 fused and port 5 units).
  if (arch == "zen3" || arch == "zen4" || arch == "zen5" || arch == "skylake_x" || arch == "icelake_server" ||
      arch == "sapphire_rapids")
    return {4, 2, regs, 2};
  if (path == SimdPath::generic) return {4, 2, 16, 2};  // SSE: 4-wide, whatever the core
  return {5, 2, regs, 2};                               // unknown core: Haswell's latency, the pessimistic one
}

// Loads the B micro-panel (kc x NR) into L1 and streams the A micro-panels (MR x kc) past
// it; C's tile lives in registers. In cache *ways* (a set-associative cache is W direct-mapped
// caches of N sets x L bytes), Low et al. §5.3-5.5:
//
//   L1: the A and B micro-panels share W1 - 1 ways in the ratio MR : NR (one way is left
//       for the C tile's lines and the prefetch streams), so B gets
//         C_B = floor((W1 - 1) / (1 + MR/NR)) ways   and   KC = C_B * N1 * L1 / (NR * 4 bytes).
//   L2: the packed A block (MC x KC) stays in L2 next to one B micro-panel (its ways
//       ceil(KC*NR*4 / (N2*L2))) and one way for C:
//         MC = (W2 - 1 - C_B2) * N2 * L2 / (KC * 4), a multiple of MR.
//   L3: the packed B panel (KC x NC) stays in this core's share of L3, one way left for C:
//         NC = (W3 - 1) * N3 * L3 / (KC * 4), a multiple of NR.
//       (The A block is not counted against L3: the L3 of every table CPU - Skylake-SP and
//       later, every Zen - is non-inclusive, so what L2 holds does not occupy L3.)
// KC is rounded down to a multiple of 8 (whole cache lines of a packed row), and NC capped
// at 8192 (a panel wider than that buys nothing: loop 5 already amortises packing B).
ModelBlocksizes gemm_model_blocksizes(const CacheLevel& l1d, const CacheLevel& l2, const CacheLevel& l3, int MR,
                                      int NR) {
  constexpr int64_t S = 4;  // sizeof(float)
  const int64_t w1 = std::max(2, l1d.ways), w2 = std::max(2, l2.ways), w3 = std::max(2, l3.ways);
  const int64_t way1 = std::max<int64_t>(l1d.size / w1, 64), way2 = std::max<int64_t>(l2.size / w2, 64);
  // The L3 share of one core: the cache over the logical CPUs sharing it, times 2 for the
  // SMT sibling (cloud vCPUs are often the two threads of one core).
  const int64_t l3_core = l3.size > 0 ? std::min<int64_t>(l3.size, l3.size * 2 / std::max(1, l3.shared_by)) : 0;
  const int64_t way3 = std::max<int64_t>(l3_core / w3, 64);

  const int64_t c_b1 = std::max<int64_t>(1, static_cast<int64_t>((w1 - 1) / (1.0 + static_cast<double>(MR) / NR)));
  const int64_t kc = std::max<int64_t>(8, round_down(c_b1 * way1 / (NR * S), 8));

  const int64_t c_b2 = ceil_div(kc * NR * S, way2);
  const int64_t c_a2 = std::max<int64_t>(1, w2 - 1 - c_b2);
  const int64_t mc = round_down(c_a2 * way2 / (kc * S), MR);

  const int64_t nc = l3_core > 0 ? (w3 - 1) * way3 / (kc * S) : 4096;
  return {static_cast<int>(kc), static_cast<int>(mc), static_cast<int>(round_down(std::min<int64_t>(nc, 8192), NR))};
}

// Low et al. §4: the MR x NR tile must hold at least latency x pipes independent
// accumulators (MR * NR / W >= L * P) so an FMA never waits for the previous one to the same
// register, and fit the registers with the B row and one broadcast (MR * NV + NV + 1 <= R).
// Among the compiled shapes that pass, the one with the fewest cycles per k wins, cycles =
// max(FMAs / pipes, (loads + broadcasts) / load ports); ties go to the largest
// MR*NR / (MR + NR), the FMAs per float brought into registers (less cache traffic per flop).
const UkernelInfo* gemm_model_ukernel(SimdPath path, const FmaUnits& fma) {
  int n = 0;
  const UkernelInfo* list = gemm_ukernels(path, &n);
  const int W = path == SimdPath::avx512 ? 16 : path == SimdPath::avx2 ? 8 : 4;
  const UkernelInfo* best = nullptr;
  double best_eff = -1, best_intensity = -1;
  for (int i = 0; i < n; ++i) {
    const UkernelInfo& u = list[i];
    const int nv = u.NR / W, acc = u.MR * nv;
    if (acc < fma.latency * fma.pipes || acc + nv + 1 > fma.registers) continue;
    const double fma_cycles = static_cast<double>(acc) / fma.pipes;
    const double load_cycles = static_cast<double>(u.MR + nv) / fma.load_ports;
    const double eff = fma_cycles / std::max(fma_cycles, load_cycles);
    const double intensity = static_cast<double>(u.MR) * u.NR / (u.MR + u.NR);
    if (eff > best_eff + 1e-9 || (eff > best_eff - 1e-9 && intensity > best_intensity)) {
      best = &u;
      best_eff = eff;
      best_intensity = intensity;
    }
  }
  return best ? best : &list[0];
}

namespace {

// Nominal per-core caches of the table's architectures (vendor manuals / Agner Fog / chips
// and cheese): size, ways, line, logical CPUs sharing (L3: the share of one SMT-2 core).
struct NominalCaches {
  const char* arch;
  CacheLevel l1d, l2, l3;
};
constexpr int64_t K = 1024;
const NominalCaches kNominal[] = {
    {"skylake_x", {32 * K, 8, 64, 2}, {1024 * K, 16, 64, 2}, {1408 * K, 11, 64, 2}},
    {"icelake_server", {48 * K, 12, 64, 2}, {1280 * K, 20, 64, 2}, {1536 * K, 12, 64, 2}},
    {"sapphire_rapids", {48 * K, 12, 64, 2}, {2048 * K, 16, 64, 2}, {1920 * K, 15, 64, 2}},
    {"zen3", {32 * K, 8, 64, 2}, {512 * K, 8, 64, 2}, {32768 * K, 16, 64, 16}},
    {"zen4", {32 * K, 8, 64, 2}, {1024 * K, 8, 64, 2}, {32768 * K, 16, 64, 16}},
    {"zen5", {48 * K, 12, 64, 2}, {1024 * K, 16, 64, 2}, {32768 * K, 16, 64, 16}},
};

// One row per (microarchitecture, SIMD path). "model" rows are gemm_model_* on the nominal
// caches above (tests/test_gemm_tune.py checks they still agree); "measured" rows were
// chosen by timing `bench gemm_blocking` / sinapse.cpu.tune() on that CPU.
const GemmTableRow kTable[] = {
    // Intel: not measured (no Intel machine was available); the model on nominal caches.
    {"skylake_x", SimdPath::avx512, "14x32", 128, 1792, 2560, GemmSplit::rows, "model (not measured)"},
    {"skylake_x", SimdPath::avx2, "6x16", 320, 714, 1024, GemmSplit::rows, "model (not measured)"},
    {"icelake_server", SimdPath::avx512, "14x32", 224, 1316, 1600, GemmSplit::rows, "model (not measured)"},
    {"icelake_server", SimdPath::avx2, "6x16", 512, 576, 704, GemmSplit::rows, "model (not measured)"},
    {"sapphire_rapids", SimdPath::avx512, "14x32", 224, 2044, 2048, GemmSplit::rows, "model (not measured)"},
    {"sapphire_rapids", SimdPath::avx2, "6x16", 512, 894, 896, GemmSplit::rows, "model (not measured)"},
    // AMD.
    {"zen3", SimdPath::avx2, "6x16", 320, 306, 3072, GemmSplit::rows, "model (not measured)"},
    // Zen 4 rows: 1 thread, CPU time, 5-12 alternating rounds (docs/kernels/gemm.md). AVX-512:
    // 12x32 with KC 1024 was best or within 2% everywhere; 8x48 won 128x9216x4096 by 9% but
    // lost 7% at 128x300x100 (its 48-wide panels waste more on N = 100), so it is left to the
    // tuner. AVX2: 4x24 matched 6x16 on squares and won 4% at 128x784x300 and 9% at
    // 128x9216x4096 (4 broadcasts per 12 FMAs instead of 6).
    {"zen4", SimdPath::avx512, "12x32", 1024, 96, 3072, GemmSplit::rows,
     "measured on Zen 4 (AMD EPYC, family 25 model 17)"},
    {"zen4", SimdPath::avx2, "4x24", 512, 96, 3072, GemmSplit::rows,
     "measured on Zen 4 (AMD EPYC, family 25 model 17)"},
    {"zen5", SimdPath::avx512, "12x32", 1024, 96, 3072, GemmSplit::rows, "measured on Zen 5 (AMD EPYC 9B45)"},
    {"zen5", SimdPath::avx2, "6x16", 512, 96, 3072, GemmSplit::rows, "measured on Zen 5 (AMD EPYC 9B45)"},
};

GemmBlocking from(const UkernelInfo& u, int KC, int MC, int NC, GemmSplit split, int64_t l2_bytes) {
  return {u.path, u.name, u.ukernel, u.ukernel_left_half, u.MR, u.NR, KC, MC, NC, u.prefetch_k, split, l2_bytes};
}

}  // namespace

const GemmTableRow* gemm_table(int* count) {
  *count = static_cast<int>(sizeof(kTable) / sizeof(kTable[0]));
  return kTable;
}

bool nominal_caches(const std::string& arch, CacheLevel* l1d, CacheLevel* l2, CacheLevel* l3) {
  for (const NominalCaches& n : kNominal)
    if (arch == n.arch) {
      *l1d = n.l1d;
      *l2 = n.l2;
      *l3 = n.l3;
      return true;
    }
  return false;
}

GemmBlocking gemm_builtin_config(SimdPath path, const CpuArch& arch, std::string* source) {
  // Packing all of a short A as one block is worth it while it fits half of this core's L2.
  const int64_t l2_budget = std::max<int64_t>(arch.l2.size / 2, 128 * 1024);
  if (path == SimdPath::generic) {  // one SSE kernel: the historical row, cache-agnostic
    int n = 0;
    *source = "table: generic";
    return from(gemm_ukernels(path, &n)[0], 256, 96, 2048, GemmSplit::rows, l2_budget);
  }
  for (const GemmTableRow& r : kTable) {
    if (arch.name != r.arch || path != r.path) continue;
    const UkernelInfo* u = find_gemm_ukernel(path, r.shape);
    if (!u) break;
    *source = std::string("table: ") + r.arch;
    return from(*u, r.KC, r.MC, r.NC, r.split, l2_budget);
  }
  const UkernelInfo* u = gemm_model_ukernel(path, fma_units(arch.name, path));
  const ModelBlocksizes m = gemm_model_blocksizes(arch.l1d, arch.l2, arch.l3, u->MR, u->NR);
  *source = "model";
  return from(*u, m.KC, m.MC, m.NC, GemmSplit::rows, l2_budget);
}

}  // namespace sinapse::cpu
