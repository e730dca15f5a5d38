// GEMM on the GPU: the contract of common/gemm_args.h (pointers are device pointers), three
// variants like the CPU's. CPU twin: cpu/gemm.h. The kernel lab (dev/cuda/gemm_lab.cu)
// times them against cuBLAS; docs/kernels/gemm.md tells the story.
#pragma once

#include <string>

#include "../common/gemm_args.h"
#include "check.h"

namespace sinapse::cuda {

void gemm(const GemmArgs& args, GemmVariant variant, cudaStream_t stream);

#if defined(SINAPSE_SIM)
// Deliberately broken variants, compiled only into the simulator, that the tests must catch:
// "blocked_nosync" (the tiled kernel without its __syncthreads), "naive_offbyone" (the
// naive kernel's k loop stops one short) and "naive_past_end" (it runs one too far, reading
// past the end of A and B: caught by the simulator's checked mode).
void gemm_mutant(const GemmArgs& args, const std::string& which, cudaStream_t stream);
#endif

}  // namespace sinapse::cuda
