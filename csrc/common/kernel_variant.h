// The two variants of the coursework kernels (pooling, softmax, batch norm, the LSTM cell,
// conv2d), simplest first, the same names on every backend (python/sinapse/registry.py):
//   naive  the definition written as loops: one CPU thread, no SIMD; on CUDA one thread per
//          output element (or per row / channel for the reductions), no shared memory
//   tuned  the default: the kernels the library ships, threaded, vectorised, coalesced
// GEMM has three (common/gemm_args.h: GemmVariant).
#pragma once

namespace sinapse {

enum class KernelVariant : int { naive = 0, tuned = 1 };

// conv2d's variants on the CPU (cpu/conv2d.h), simplest first; CUDA has naive and tuned only:
//   naive     the definition as loops (one thread)
//   im2col    im2col + the tuned GEMM (a 1x1 stride-1 unpadded layer: one GEMM on x itself)
//   direct    the direct kernels (conv2d_direct*.cpp), where they apply
//   winograd  Winograd F(4x4, 3x3) (conv2d_winograd*.cpp): 3x3, stride 1, dilation 1 only
//   tuned     the default: one of im2col / direct / winograd per layer and pass, by a cost model
enum class ConvVariant : int { naive = 0, im2col = 1, direct = 2, winograd = 3, tuned = 4 };

}  // namespace sinapse
