// Embedding lookup and its gradient on the GPU. CPU twin: cpu/embedding.h (same contract;
// all pointers are device pointers; ids are int32 or int64, in [0, vocab)).
#pragma once

#include <cstdint>
#include <string>

#include "check.h"

namespace sinapse::cuda {

// out[i, :] = table[ids[i], :] for the n ids (int64 when ids_64, else int32).
void embedding_forward(int64_t n, int64_t dim, const void* ids, bool ids_64, const float* table, float* out,
                       cudaStream_t stream);
// dtable = 0; dtable[ids[i], :] += dy[i, :] in the order of i. Deterministic: no atomics.
void embedding_backward(int64_t n, int64_t vocab, int64_t dim, const void* ids, bool ids_64, const float* dy,
                        float* dtable, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// Deliberately broken backward kernels ("no_zero", "range_gap"): the tests must catch them.
void embedding_backward_mutant(int64_t n, int64_t vocab, int64_t dim, const int32_t* ids, const float* dy,
                               float* dtable, const std::string& which);
#endif

}  // namespace sinapse::cuda
