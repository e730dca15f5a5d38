// Run-time CPU feature detection and the SIMD paths the CPU kernels are compiled for.
//
// Every SIMD kernel exists in up to three versions: `avx512` (AVX-512F, e.g. Zen 4/5,
// Skylake-X), `avx2` (AVX2 + FMA, e.g. Zen 3, Haswell) and `generic` (plain C++ that the
// compiler vectorises for the baseline ISA). The library is built for baseline x86-64 and
// picks the best path the running CPU *and operating system* support, so one wheel runs
// everywhere and never executes an instruction the CPU lacks.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace sinapse {

enum class SimdPath : int { generic = 0, avx2 = 1, avx512 = 2 };

const char* simd_path_name(SimdPath path);
// Parses "generic" | "avx2" | "avx512"; returns false for anything else.
bool parse_simd_path(const std::string& name, SimdPath* path);

// True when this CPU and OS can run code compiled for `path`.
bool cpu_supports(SimdPath path);
// The fastest supported path.
SimdPath best_simd_path();
// Every supported path, slowest first.
std::vector<SimdPath> supported_simd_paths();

// ---- The one SIMD dispatcher (BLIS's per-architecture context, reduced to one choice) ----
// Every CPU kernel runs one path per call, chosen here, in this order:
//   1. the op's own `simd=` argument (gemm, conv2d, the RNNs and the optimizers take one);
//   2. the process setting: a path forced with sinapse.cpu.set_simd_path() / use_simd(), else
//      the SINAPSE_SIMD environment variable (read at every call, so a change takes effect);
//   3. the fastest path this CPU supports.
// The bindings resolve it once per call, holding the GIL, and pass it down as an argument:
// the kernels hand it to run_simd() / pick_simd() (cpu/simd_run.h) inside their OpenMP
// regions, where a thread_local setting would not reach the worker threads.
constexpr const char* kSimdEnv = "SINAPSE_SIMD";

// Steps 1 and 2 without validation: the name asked for (or null when nothing is) and where
// it came from ("simd", "forced" or SINAPSE_SIMD). sinapse.cpu.simd_path() validates it
// with its own friendly errors; resolve_simd_path() below is the guard the bindings use.
struct SimdRequest {
  const char* name;
  const char* source;
};
SimdRequest simd_request(const char* requested);

// Steps 1-3, validated. `requested`: a per-call simd= value, or null for the process setting.
// Throws std::invalid_argument naming `op` and the source for an unknown or unsupported path.
SimdPath resolve_simd_path(const char* requested, const char* op);

// The process setting of step 2 (sinapse.cpu.set_simd_path); a null name clears it. The
// caller validates the name.
void force_simd_path(const char* name);

// Debug hook for the tests: the set of paths kernels ran since the last reset, as bits
// 1 << path. run_simd() and pick_simd() record every dispatch; reading the shared word first
// and writing only on a change keeps the cache line shared between threads (no ping-pong).
namespace simd_detail {
extern std::atomic<unsigned> paths_run;
}
inline void note_simd_path(SimdPath path) {
  const unsigned bit = 1u << static_cast<int>(path);
  if (__builtin_expect(!(simd_detail::paths_run.load(std::memory_order_relaxed) & bit), 0))
    simd_detail::paths_run.fetch_or(bit, std::memory_order_relaxed);
}
// Returns the set and clears it.
unsigned take_simd_paths_run();

}  // namespace sinapse
