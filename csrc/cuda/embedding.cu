// Forward: one thread per output element (consecutive threads, consecutive columns of a row:
// coalesced). Backward without atomics: blockIdx.x owns a range of table rows, and the
// thread for column c of that range zeroes dtable[rows, c], then walks all ids in order and
// adds dy[i, c] for the ids in its range. Each dtable element has exactly one writer that
// adds in id order, so the result is the same bits on every run and equals the CPU's. The
// ids are re-read once per row range (n integers, broadcast within a warp) — cheap next to
// the n * dim floats of dy; a GPU-scale vocabulary with very many ids would want a
// sort-by-id segmented sum instead.
#include "embedding.h"

#include <algorithm>

#include "launch.cuh"
#include "test_switches.cuh"

namespace sinapse::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int64_t kRowRanges = 256;  // blocks along the vocabulary in the backward

template <typename Id>
__global__ void forward_kernel(int64_t n, int64_t dim, const Id* __restrict__ ids, const float* __restrict__ table,
                               float* __restrict__ out) {
  const int64_t total = n * dim, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / dim, c = e - i * dim;
    out[e] = table[static_cast<int64_t>(ids[i]) * dim + c];
  }
}

// Mutants (simulator tests only): kMutant 1 forgets to zero the table, 2 leaves the last
// row of every range to nobody.
template <typename Id, int kMutant = 0>
__global__ void backward_kernel(int64_t n, int64_t vocab, int64_t dim, int64_t rows_per_range,
                                const Id* __restrict__ ids, const float* __restrict__ dy, float* __restrict__ dtable) {
  const int64_t c = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  const int64_t lo = static_cast<int64_t>(blockIdx.x) * rows_per_range;
  int64_t hi = lo + rows_per_range < vocab ? lo + rows_per_range : vocab;
  if constexpr (kMutant == 2) hi -= 1;
  if (c >= dim) return;
  if constexpr (kMutant != 1)
    for (int64_t r = lo; r < hi; ++r) dtable[r * dim + c] = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = ids[i];
    if (row >= lo && row < hi) dtable[row * dim + c] += dy[i * dim + c];
  }
}

dim3 grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(std::min(blocks, grid_stride_cap())));
}

template <typename Id, int kMutant = 0>
void backward(int64_t n, int64_t vocab, int64_t dim, const Id* ids, const float* dy, float* dtable,
              cudaStream_t stream) {
  // Blocks just as wide as the row (in warps), at most kBlock threads.
  const int threads = static_cast<int>(std::min<int64_t>(kBlock, std::max<int64_t>(32, (dim + 31) / 32 * 32)));
  const int64_t ranges = std::min(vocab, kRowRanges);
  const int64_t rows_per_range = ranges > 0 ? (vocab + ranges - 1) / ranges : 0;
  const int64_t used_ranges = rows_per_range > 0 ? (vocab + rows_per_range - 1) / rows_per_range : 0;
  const dim3 grid(static_cast<unsigned>(used_ranges), static_cast<unsigned>((dim + threads - 1) / threads));
  launch("embedding_backward_kernel", backward_kernel<Id, kMutant>, grid, dim3(threads), 0, stream, n, vocab, dim,
         rows_per_range, ids, dy, dtable);
}

}  // namespace

void embedding_forward(int64_t n, int64_t dim, const void* ids, bool ids_64, const float* table, float* out,
                       cudaStream_t stream) {
  if (ids_64)
    launch("embedding_forward_kernel", forward_kernel<int64_t>, grid_for(n * dim), dim3(kBlock), 0, stream, n, dim,
           static_cast<const int64_t*>(ids), table, out);
  else
    launch("embedding_forward_kernel", forward_kernel<int32_t>, grid_for(n * dim), dim3(kBlock), 0, stream, n, dim,
           static_cast<const int32_t*>(ids), table, out);
}

void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const void* ids, bool ids_64, const float* dy,
                        float* dtable, cudaStream_t stream) {
  if (ids_64)
    backward(n, vocab, dim, static_cast<const int64_t*>(ids), dy, dtable, stream);
  else
    backward(n, vocab, dim, static_cast<const int32_t*>(ids), dy, dtable, stream);
}

#if defined(SINAPSE_SIM)
void embedding_backward_mutant(int64_t n, int64_t vocab, int64_t dim, const int32_t* ids, const float* dy,
                               float* dtable, const std::string& which) {
  if (which == "no_zero")
    backward<int32_t, 1>(n, vocab, dim, ids, dy, dtable, nullptr);
  else if (which == "range_gap")
    backward<int32_t, 2>(n, vocab, dim, ids, dy, dtable, nullptr);
  else
    throw std::invalid_argument("embedding_backward_mutant: unknown mutant '" + which + "'");
}
#endif

}  // namespace sinapse::cuda
