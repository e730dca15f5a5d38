// Run-time CPU feature detection and the SIMD paths the CPU kernels are compiled for.
//
// Every SIMD kernel exists in up to three versions: `avx512` (AVX-512F, e.g. Zen 4/5,
// Skylake-X), `avx2` (AVX2 + FMA, e.g. Zen 3, Haswell) and `generic` (plain C++ that the
// compiler vectorises for the baseline ISA). The library is built for baseline x86-64 and
// picks the best path the running CPU *and operating system* support, so one wheel runs
// everywhere and never executes an instruction the CPU lacks.
#pragma once

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

}  // namespace sinapse
