// Forward: one row copy per id. Backward: each thread owns a range of table rows, zeroes it
// and walks all ids in order, adding the rows of dy whose id falls in its range. Reading the
// ids once per thread is cheap (n integers against n * dim floats), and no two threads ever
// write one row, so there are no atomics and the sums come out the same for any thread count.
#include "embedding.h"

#include <algorithm>
#include <cstring>

#include "../common/threading.h"

namespace sinapse::cpu {

namespace {

template <typename Id>
void forward(int64_t n, int64_t dim, const Id* ids, const float* table, float* out, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(n) * dim, grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * dim, table + static_cast<int64_t>(ids[i]) * dim, sizeof(float) * dim);
}

template <typename Id>
void backward(int64_t n, int64_t vocab, int64_t dim, const Id* ids, const float* dy, float* dtable, int max_threads) {
  const double work = static_cast<double>(std::max(n, vocab)) * dim;
  const int nthreads = threads_for(work, grain::kCopy, max_threads, vocab);
  const int64_t rows_per_thread = (vocab + std::max(nthreads, 1) - 1) / std::max(nthreads, 1);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int t = 0; t < std::max(nthreads, 1); ++t) {
    const int64_t lo = t * rows_per_thread, hi = std::min(vocab, lo + rows_per_thread);
    if (lo >= hi) continue;
    std::memset(dtable + lo * dim, 0, sizeof(float) * (hi - lo) * dim);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = ids[i];
      if (row < lo || row >= hi) continue;
      float* __restrict d = dtable + row * dim;
      const float* __restrict s = dy + i * dim;
#pragma omp simd
      for (int64_t c = 0; c < dim; ++c) d[c] += s[c];
    }
  }
}

}  // namespace

void embedding_forward(int64_t n, int64_t dim, const int32_t* ids, const float* table, float* out, int max_threads) {
  forward(n, dim, ids, table, out, max_threads);
}
void embedding_forward(int64_t n, int64_t dim, const int64_t* ids, const float* table, float* out, int max_threads) {
  forward(n, dim, ids, table, out, max_threads);
}
void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const int32_t* ids, const float* dy, float* dtable,
                        int max_threads) {
  backward(n, vocab, dim, ids, dy, dtable, max_threads);
}
void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const int64_t* ids, const float* dy, float* dtable,
                        int max_threads) {
  backward(n, vocab, dim, ids, dy, dtable, max_threads);
}

}  // namespace sinapse::cpu
