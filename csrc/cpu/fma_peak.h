// A micro-benchmark of this machine's FMA throughput, per SIMD path: the "100%" that the
// GEMM benchmark reports against. Each thread runs a loop of independent FMAs on
// registers only (no memory traffic), enough of them in flight to cover the FMA latency
// on every pipe, and the wall time of the whole team is measured.
#pragma once

#include <cstdint>

#include "../common/cpu_features.h"

namespace sinapse::cpu {

struct FmaPeak {
  double gflops;       // measured floating-point operations per second / 1e9 (FMA = 2)
  double seconds;      // wall time of the measured run
  int threads;         // threads that ran
  int lanes;           // float lanes per vector on this path
  int chains;          // independent accumulators per thread
  int64_t iterations;  // loop trips per thread
};

FmaPeak measure_fma_peak(SimdPath path, int threads, int64_t iterations);

}  // namespace sinapse::cpu
