// Per-column sums over a rows x cols matrix (the channel sums of NHWC tensors), used by
// bias_backward and batch norm. Deterministic: each thread sums a fixed, contiguous range of
// rows into its own partial row, in double; the partials are added in thread order. The
// result depends only on the shape, the data and the thread count — never on timing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "simd_run.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse::cpu {

// out[c] = sum_r value(r, c) for c < cols; `value` returns a double.
template <typename Value>
void column_reduce(int64_t rows, int64_t cols, Value value, double* out, SimdPath path, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(rows) * cols, grain::kElementwise, max_threads);
  // Each thread's partial row starts on its own 64-byte line: the loop loads and stores the
  // whole row once per input row, and a row straddling lines (or shared with another thread)
  // costs up to 2x in store-forwarding stalls. Allocated here, on the calling thread.
  const int64_t stride = (cols + 7) / 8 * 8;
  thread_local AlignedBuffer buffer;
  double* partial = reinterpret_cast<double*>(buffer.floats(static_cast<size_t>(2 * nthreads * stride)));
  std::fill(partial, partial + nthreads * stride, 0.0);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    double* acc = partial + t * stride;
    const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < cols; ++c) acc[c] += value(r, c);
    });
  }
  for (int64_t c = 0; c < cols; ++c) {
    double s = 0.0;
    for (int t = 0; t < nthreads; ++t) s += partial[t * stride + c];
    out[c] = s;
  }
}

}  // namespace sinapse::cpu
