// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. The random numbers of element i depend only on (seed, counter),
// never on which thread or in what order they are drawn — so the CPU and CUDA dropout
// kernels produce bit-identical masks for the same seed and offset.
#pragma once

#include <cstdint>

#include "macros.h"

namespace sinapse::philox {

struct U4 {
  uint32_t v[4];
};

SINAPSE_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter c with key k.
SINAPSE_HD U4 philox4x32_10(U4 c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(0xD2511F53u, c.v[0], hi0, lo0);
    mulhilo(0xCD9E8D57u, c.v[2], hi1, lo1);
    c = U4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// The four uniform floats in [0, 1) of counter block `block` (= offset + element / 4):
// counter (block low, block high, 0, 0), key (seed low, seed high); 24 random bits each.
SINAPSE_HD void uniform4(uint64_t seed, uint64_t block, float out[4]) {
  const U4 r = philox4x32_10(U4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}},
                             static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  for (int i = 0; i < 4; ++i) out[i] = static_cast<float>(r.v[i] >> 8) * (1.0f / 16777216.0f);
}

}  // namespace sinapse::philox
