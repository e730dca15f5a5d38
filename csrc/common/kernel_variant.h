// The two variants of the coursework kernels (pooling, softmax, batch norm, the LSTM cell,
// conv2d), simplest first, the same names on every backend (python/sinapse/registry.py):
//   naive  the definition written as loops: one CPU thread, no SIMD; on CUDA one thread per
//          output element (or per row / channel for the reductions), no shared memory
//   tuned  the default: the kernels the library ships, threaded, vectorised, coalesced
// GEMM has three (common/gemm_args.h: GemmVariant).
#pragma once

namespace sinapse {

enum class KernelVariant : int { naive = 0, tuned = 1 };

}  // namespace sinapse
