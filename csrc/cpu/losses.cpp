#include "losses.h"

#include <algorithm>

#include "../common/threading.h"

namespace sinapse::cpu {

double loss(const LossArgs& a, int max_threads) {
  const int nthreads = std::min(max_threads, threads_for(static_cast<double>(a.rows) * a.cols * 8, 32768));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < a.rows; ++i) loss_row(a, i);
  double total = 0.0;
  for (int64_t i = 0; i < a.rows; ++i) total += a.per_row[i];
  return total;
}

}  // namespace sinapse::cpu
