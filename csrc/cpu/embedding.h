// Embedding lookup and its gradient on the CPU. CUDA twin: cuda/embedding.h.
//   forward:  out[i, :] = table[ids[i], :]                 (ids: any shape, flattened to n)
//   backward: dtable = 0; dtable[ids[i], :] += dy[i, :]     for i = 0 .. n-1, in that order
// The backward is deterministic: every row of dtable sums its contributions in the order of
// the ids, whatever the thread count. Ids are in [0, vocab) (checked by the caller).
#pragma once

#include <cstdint>

namespace sinapse::cpu {

void embedding_forward(int64_t n, int64_t dim, const int32_t* ids, const float* table, float* out, int max_threads);
void embedding_forward(int64_t n, int64_t dim, const int64_t* ids, const float* table, float* out, int max_threads);
void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const int32_t* ids, const float* dy, float* dtable,
                        int max_threads);
void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const int64_t* ids, const float* dy, float* dtable,
                        int max_threads);

}  // namespace sinapse::cpu
