// The library's thread count and the rule that keeps small work serial.
//
// One process-wide setting, initialised from OpenMP's own default (which honours
// OMP_NUM_THREADS), changed with sinapse.set_num_threads(). Every parallel region in the
// kernels passes an explicit num_threads(...) computed by threads_for(), so the setting is
// honoured from any calling thread (omp_set_num_threads would only change the caller's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace sinapse {

int get_num_threads();
void set_num_threads(int n);  // n >= 1

// How many threads a piece of work deserves: one per `min_work_per_thread` units of
// work, at most get_num_threads(), at least 1. Opening a parallel region and meeting at
// its barriers costs microseconds; below a few of those, one thread finishes first.
int threads_for(double work, double min_work_per_thread);

// The minimum work per thread of each kind of loop, with its reason written once. A thread
// is worth waking only for work that takes clearly longer than opening the parallel region
// and meeting at its barrier (microseconds). The values were measured kernel by kernel (1 vs
// 2 threads on Zen 4/5) before they were named; the kinds group the ones that agreed.
namespace grain {
// Copies and streaming updates (axpy, the optimizers, embedding rows, im2col/col2im): ~12
// bytes moved and a flop or two per element. Below ~64K elements per thread the data is in
// cache and a second thread costs more to wake than it saves. Unit: elements.
inline constexpr double kCopy = 65536;
// Element-wise loops with a few flops, or one vectorised exp, per element (activation,
// softmax, bias, batch norm, pooling, column sums, losses): more work per byte than a copy,
// so a thread pays for itself sooner. Unit: elements (pooling: outputs x window taps;
// losses: elements x 8).
inline constexpr double kElementwise = 32768;
// Elements that cost twice as much again: a Philox block per 4 elements (dropout), an exp or
// tanh per gate value plus the gate arithmetic (the RNN cells). Unit: elements.
inline constexpr double kHeavyElementwise = 16384;
// GEMM-like work (the GEMM variants, the direct convolution): ~3 MFLOP per thread (tens of
// microseconds of one core) before a second thread pays for itself. Unit: flops.
inline constexpr double kFlops = 3.0e6;
}  // namespace grain

// The threads a kernel uses: threads_for(work, grain), at most `max_threads` (the call's
// threads= argument, resolved) and at most `parts` (the independent pieces the work splits
// into: rows, images, ...).
inline int threads_for(double work, double grain, int max_threads,
                       int64_t parts = std::numeric_limits<int64_t>::max()) {
  return static_cast<int>(
      std::min<int64_t>(std::min(max_threads, threads_for(work, grain)), std::max<int64_t>(parts, 1)));
}

// Whether this build has OpenMP at all.
bool have_openmp();

}  // namespace sinapse
