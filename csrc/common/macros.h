// Small portability macros shared by the CPU kernels, the CUDA kernels and the bindings.
#pragma once

// SINAPSE_HD marks helpers that both the host compiler and nvcc compile (e.g. the
// activation functions of the GEMM epilogue), so CPU and CUDA share one definition.
#if defined(__CUDACC__)
#define SINAPSE_HD __host__ __device__ __forceinline__
#define SINAPSE_HD_INLINE __host__ __device__ __forceinline__
#else
#define SINAPSE_HD inline
// SINAPSE_HD that the host compiler must inline as well: for element formulas called inside
// the CPU kernels' per-SIMD-path loops (cpu/simd_run.h), where an outlined call would run
// baseline scalar code per element (the RNN gates ran 2-3x slower that way).
#define SINAPSE_HD_INLINE inline __attribute__((always_inline))
#endif

// Per-function SIMD targets: code inside such a function may use that instruction set,
// the rest of the library stays baseline x86-64, and the caller picks the function at
// run time from CPUID (see cpu_features.h). Non-x86 builds compile only the portable path.
#if defined(__x86_64__) || defined(_M_X64)
#define SINAPSE_X86 1
#define SINAPSE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SINAPSE_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#else
#define SINAPSE_X86 0
#endif
