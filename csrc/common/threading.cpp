#include "threading.h"

#include <algorithm>
#include <atomic>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace sinapse {

namespace {
int initial_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());  // reads OMP_NUM_THREADS
#else
  return 1;
#endif
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{initial_threads()};
  return n;
}
}  // namespace

int get_num_threads() { return thread_setting().load(std::memory_order_relaxed); }

void set_num_threads(int n) { thread_setting().store(std::max(1, n), std::memory_order_relaxed); }

int threads_for(double work, double min_work_per_thread) {
  const int cap = get_num_threads();
  if (cap <= 1 || work < 2 * min_work_per_thread) return 1;
  const double want = work / min_work_per_thread;
  return want >= cap ? cap : std::max(1, static_cast<int>(want));
}

bool have_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace sinapse
