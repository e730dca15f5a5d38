#include "dropout.h"

#include <algorithm>

#include "../common/philox.h"
#include "../common/threading.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int64_t kGroups = 256;  // Philox blocks per batch (1024 elements)

// uniform4() (common/philox.h) for the blocks offset + [g0, g1), into u[4 * (g - g0) + lane]:
// the same rounds written lane-wise (one array per counter word), so each round is a loop
// over blocks that the compiler vectorises (32x32 -> 64-bit multiplies) — bit-identical to
// the scalar definition the CUDA kernel uses.
[[gnu::always_inline]] inline void uniform_blocks(uint64_t seed, uint64_t first_block, int64_t count,
                                                  float* __restrict u) {
  alignas(64) uint32_t c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
  for (int64_t g = 0; g < count; ++g) {
    const uint64_t block = first_block + static_cast<uint64_t>(g);
    c0[g] = static_cast<uint32_t>(block);
    c1[g] = static_cast<uint32_t>(block >> 32);
    c2[g] = 0u;
    c3[g] = 0u;
  }
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int64_t g = 0; g < count; ++g) {
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0[g];
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2[g];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[g] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[g] ^ k1;
      c1[g] = static_cast<uint32_t>(p1);
      c3[g] = static_cast<uint32_t>(p0);
      c0[g] = n0;
      c2[g] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  constexpr float kScale = 1.0f / 16777216.0f;
  for (int64_t g = 0; g < count; ++g) {
    u[4 * g] = static_cast<float>(c0[g] >> 8) * kScale;
    u[4 * g + 1] = static_cast<float>(c1[g] >> 8) * kScale;
    u[4 * g + 2] = static_cast<float>(c2[g] >> 8) * kScale;
    u[4 * g + 3] = static_cast<float>(c3[g] >> 8) * kScale;
  }
}

}  // namespace

void dropout(int64_t n, const float* __restrict x, float* __restrict y, float rate, uint64_t seed, uint64_t offset,
             SimdPath path, int max_threads) {
  const float scale = 1.0f / (1.0f - rate);
  // Element i uses lane i % 4 of Philox block offset + i / 4 (the CUDA kernel's rule). Blocks
  // are generated kGroups at a time into a small buffer (vectorised across blocks), then applied.
  const int64_t groups = (n + 3) / 4, chunks = (groups + kGroups - 1) / kGroups;
  const int nthreads = threads_for(static_cast<double>(n), grain::kHeavyElementwise, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t g0 = c * kGroups, g1 = std::min(groups, g0 + kGroups);
    const int64_t i0 = 4 * g0, i1 = std::min(n, 4 * g1);
    alignas(64) float u[4 * kGroups];
    run_simd(path, [&]() SINAPSE_INLINE {
      uniform_blocks(seed, offset + static_cast<uint64_t>(g0), g1 - g0, u);
      // Locals, not the lambda's captures: stores through y could alias those, so the compiler
      // would reload them every iteration and give up vectorising (a 5x slower scalar loop).
      const float* __restrict xs = x + i0;
      float* __restrict ys = y + i0;
      const float r = rate, kept = scale;
      for (int64_t i = 0; i < i1 - i0; ++i) ys[i] = u[i] >= r ? xs[i] * kept : 0.0f;  // a dropped NaN is 0, as on CUDA
    });
  }
}

}  // namespace sinapse::cpu
