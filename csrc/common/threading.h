// The library's thread count and the rule that keeps small work serial.
//
// One process-wide setting, initialised from OpenMP's own default (which honours
// OMP_NUM_THREADS), changed with sinapse.set_num_threads(). Every parallel region in the
// kernels passes an explicit num_threads(...) computed by threads_for(), so the setting is
// honoured from any calling thread (omp_set_num_threads would only change the caller's).
#pragma once

#include <cstdint>

namespace sinapse {

int get_num_threads();
void set_num_threads(int n);  // n >= 1

// How many threads a piece of work deserves: one per `min_work_per_thread` units of
// work, at most get_num_threads(), at least 1. Opening a parallel region and meeting at
// its barriers costs microseconds; below a few of those, one thread finishes first.
int threads_for(double work, double min_work_per_thread);

// Whether this build has OpenMP at all.
bool have_openmp();

}  // namespace sinapse
