// Standard normal draws from Philox4x32-10 (common/philox.h) by the Box-Muller transform
// (Box & Muller, "A note on the generation of random normal deviates", Ann. Math. Statist.
// 29(2), 1958): z0 = r cos(2 pi u1), z1 = r sin(2 pi u1), r = sqrt(-2 ln u0), for the counter
// block's word pairs (0, 1) and (2, 3). The logarithm and the sine/cosine are written here
// with explicit fmaf (polynomials, no libm), so the CPU and CUDA kernels compute the same
// bits: every product that meets an addition is an fmaf, which no compiler may re-associate.
#pragma once

#include <cmath>
#include <cstdint>

#include "macros.h"
#include "philox.h"

namespace sinapse::philox {

// ln(k * 2**-24) for an integer k in [1, 2**24]: k = m * 2**e with m in [sqrt(1/2), sqrt(2)),
// ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172 (series to s**11: error < 1e-10).
SINAPSE_HD float log_unit(uint32_t k) {
#if defined(__CUDA_ARCH__)
  int e = 31 - __clz(k);  // floor(log2 k), k >= 1
#else
  int e = 31 - __builtin_clz(k);
#endif
  // exact: k has at most 25 bits, and 1 / 2**e is a power of 2
  float m = static_cast<float>(k) * (1.0f / static_cast<float>(1u << e));
  if (m > 1.41421356f) {
    m *= 0.5f;
    ++e;
  }
  const float s = (m - 1.0f) / (m + 1.0f);
  const float z = s * s;
  float p = fmaf(z, 1.0f / 11.0f, 1.0f / 9.0f);
  p = fmaf(z, p, 1.0f / 7.0f);
  p = fmaf(z, p, 1.0f / 5.0f);
  p = fmaf(z, p, 1.0f / 3.0f);
  const float s2 = 2.0f * s;
  const float log_m = fmaf(s2 * z, p, s2);
  return fmaf(static_cast<float>(e - 24), 0.693147182f, log_m);
}

// (cos, sin) of 2 pi j / 2**24 for j in [0, 2**24): the quadrant from j's top two bits, then
// Taylor series of x = (pi / 2) f, f in [0, 1) (to x**13 / x**14: error < 1e-9).
SINAPSE_HD void sincos_turn(uint32_t j, float& c, float& s) {
  const uint32_t quadrant = j >> 22;
  const float x = static_cast<float>(j & 0x3FFFFFu) * (1.57079637f / 4194304.0f);
  const float x2 = x * x;
  float ps = fmaf(x2, 1.6059044e-10f, -2.5052108e-8f);  // 1/13!, -1/11!
  ps = fmaf(x2, ps, 2.7557319e-6f);                     // 1/9!
  ps = fmaf(x2, ps, -1.9841270e-4f);                    // -1/7!
  ps = fmaf(x2, ps, 8.3333333e-3f);                     // 1/5!
  ps = fmaf(x2, ps, -1.6666667e-1f);                    // -1/3!
  const float sx = fmaf(x * x2, ps, x);
  float pc = fmaf(x2, -1.1470746e-11f, 2.0876757e-9f);  // -1/14!, 1/12!
  pc = fmaf(x2, pc, -2.7557319e-7f);                    // -1/10!
  pc = fmaf(x2, pc, 2.4801587e-5f);                     // 1/8!
  pc = fmaf(x2, pc, -1.3888889e-3f);                    // -1/6!
  pc = fmaf(x2, pc, 4.1666667e-2f);                     // 1/4!
  pc = fmaf(x2, pc, -0.5f);                             // -1/2!
  const float cx = fmaf(x2, pc, 1.0f);
  switch (quadrant) {
    case 0:
      c = cx, s = sx;
      break;
    case 1:
      c = -sx, s = cx;
      break;
    case 2:
      c = -cx, s = -sx;
      break;
    default:
      c = sx, s = -cx;
      break;
  }
}

// The four standard normals of counter block `block` (key `seed`): element i of a stream uses
// normal i % 4 of block offset + i / 4, as the uniforms of uniform4().
SINAPSE_HD void normal4(uint64_t seed, uint64_t block, float out[4]) {
  const U4 r = philox4x32_10(U4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}},
                             static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  for (int pair = 0; pair < 2; ++pair) {
    const float radius = sqrtf(-2.0f * log_unit((r.v[2 * pair] >> 8) + 1u));  // u0 in (0, 1]: ln u0 finite
    float c, s;
    sincos_turn(r.v[2 * pair + 1] >> 8, c, s);
    out[2 * pair] = radius * c;
    out[2 * pair + 1] = radius * s;
  }
}

}  // namespace sinapse::philox
