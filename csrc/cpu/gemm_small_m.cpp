// The tuned GEMM's path for a few rows (M <= kSmallM): batch-1 inference, a GEMV.
//
// The register-blocked micro-kernel would pad M up to MR (12 rows on AVX-512: 12x the
// work for M = 1) and pack all of B, reading and writing it once more than needed. Here B
// is streamed once, untouched: columns are cut into one chunk per thread, as wide as the
// M rows of C can be while staying in L1 (kChunkFloats in all), so each row of B is read as
// long contiguous runs the hardware prefetcher follows. The plain loops below are compiled
// once per SIMD path (target attributes) and vectorised by the compiler.
#include <algorithm>

#include "../common/macros.h"
#include "../common/threading.h"
#include "gemm.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int64_t kChunkFloats = 8192;  // M x chunk floats of C: 32 KiB, in L1

// C[0:M, j0:j1] = alpha * op(A) @ op(B)[:, j0:j1] + beta * C (beta == 0: C not read).
[[gnu::always_inline]] inline void small_m_chunk(const GemmArgs& g, int64_t j0, int64_t j1) {
  const int64_t a_rs = g.a_row_stride(), a_cs = g.a_col_stride();
  for (int64_t i = 0; i < g.M; ++i) {
    float* __restrict c = g.C + i * g.ldc;
    if (g.beta == 0.0f) {
      for (int64_t j = j0; j < j1; ++j) c[j] = 0.0f;
    } else {
      for (int64_t j = j0; j < j1; ++j) c[j] *= g.beta;
    }
  }
  if (!g.trans_b) {
    // Rows of B are contiguous: C[i, chunk] += (alpha * A[i, k]) * B[k, chunk], B read once.
    // Four rows of B per pass: four read streams in flight (more memory-level parallelism
    // for the prefetcher) and C loaded and stored once per four rows instead of per row.
    int64_t k = 0;
    for (; k + 4 <= g.K; k += 4) {
      const float* __restrict b0 = g.B + k * g.ldb;
      const float* __restrict b1 = b0 + g.ldb;
      const float* __restrict b2 = b1 + g.ldb;
      const float* __restrict b3 = b2 + g.ldb;
      for (int64_t i = 0; i < g.M; ++i) {
        const float* a = g.A + i * a_rs + k * a_cs;
        const float a0 = g.alpha * a[0], a1 = g.alpha * a[a_cs], a2 = g.alpha * a[2 * a_cs], a3 = g.alpha * a[3 * a_cs];
        float* __restrict c = g.C + i * g.ldc;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
      }
    }
    for (; k < g.K; ++k) {
      const float* __restrict b = g.B + k * g.ldb;
      for (int64_t i = 0; i < g.M; ++i) {
        const float a = g.alpha * g.A[i * a_rs + k * a_cs];
        float* __restrict c = g.C + i * g.ldc;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
      }
    }
  } else {
    // B stored N x K: each C[i, j] is a dot product of two contiguous rows (when A is not
    // transposed; otherwise A is read with a stride, which a GEMV with A^T rarely needs).
    for (int64_t j = j0; j < j1; ++j) {
      const float* __restrict b = g.B + j * g.ldb;
      for (int64_t i = 0; i < g.M; ++i) {
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t k = 0; k < g.K; ++k) sum += g.A[i * a_rs + k * a_cs] * b[k];
        g.C[i * g.ldc + j] += g.alpha * sum;
      }
    }
  }
  if (g.bias || g.act != Activation::none)
    gemm_epilogue(g.C + j0, g.ldc, g.M, j1 - j0, g.bias ? g.bias + j0 : nullptr, g.act);
}

void chunk_generic(const GemmArgs& g, int64_t j0, int64_t j1) { small_m_chunk(g, j0, j1); }
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void chunk_avx2(const GemmArgs& g, int64_t j0, int64_t j1) { small_m_chunk(g, j0, j1); }
SINAPSE_TARGET_AVX512 void chunk_avx512(const GemmArgs& g, int64_t j0, int64_t j1) { small_m_chunk(g, j0, j1); }
#endif

using ChunkFn = void (*)(const GemmArgs&, int64_t, int64_t);

ChunkFn chunk_for(SimdPath path) {
  return pick_simd<ChunkFn>(path, SINAPSE_SIMD_VERSIONS(chunk_generic, chunk_avx2, chunk_avx512));
}

}  // namespace

void gemm_small_m_serial(const GemmArgs& g, SimdPath path) {
  const ChunkFn chunk = chunk_for(path);
  const int64_t width = std::max<int64_t>(64, kChunkFloats / std::max<int64_t>(g.M, 1));
  for (int64_t j = 0; j < g.N; j += width) chunk(g, j, std::min(g.N, j + width));
}

void gemm_small_m(const GemmArgs& g, SimdPath path, int max_threads) {
  const ChunkFn chunk = chunk_for(path);
  const int nthreads = threads_for(g.flops(), grain::kFlops, max_threads);
  const int64_t per_thread = ((g.N + nthreads - 1) / nthreads + 63) / 64 * 64;  // whole cache lines
  const int64_t width = std::max<int64_t>(64, std::min(per_thread, kChunkFloats / g.M));
  const int64_t n_chunks = (g.N + width - 1) / width;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t t = 0; t < n_chunks; ++t) chunk(g, t * width, std::min(g.N, (t + 1) * width));
}

}  // namespace sinapse::cpu
