// PReLU's broadcast of alpha over x, shared by the CPU and CUDA kernels (cpu/activation_prelu.cpp,
// cuda/activation.cu). x is seen as `rank` coalesced dims (batch first, C order); alpha has a
// stride per dim, 0 where it is shared (the batch, Keras's shared_axes). Adjacent dims with the
// same sharing are merged by sinapse.ops.prelu, so rank stays small (<= kMaxPreluDims).
#pragma once

#include <cstdint>

#include "macros.h"

namespace sinapse {

inline constexpr int kMaxPreluDims = 8;

struct PreluArgs {
  int rank;
  int64_t dim[kMaxPreluDims];      // x's coalesced dims
  int64_t astride[kMaxPreluDims];  // alpha's stride per dim; 0: alpha is shared along it
  int64_t n;                       // x.size: the product of dim
  int64_t alpha_size;              // the product of the dims where astride != 0
};

// The alpha entry of x's element e.
SINAPSE_HD int64_t prelu_alpha_index(const PreluArgs& p, int64_t e) {
  int64_t a = 0;
  for (int j = p.rank - 1; j >= 0; --j) {
    a += (e % p.dim[j]) * p.astride[j];
    e /= p.dim[j];
  }
  return a;
}

// The element of x that is the s-th (in a fixed order: the last shared dim fastest) of the
// n / alpha_size elements alpha entry a applies to.
SINAPSE_HD int64_t prelu_element(const PreluArgs& p, int64_t a, int64_t s) {
  int64_t e = 0, xstride = 1;
  for (int j = p.rank - 1; j >= 0; --j) {
    int64_t c;
    if (p.astride[j] != 0) {
      c = (a / p.astride[j]) % p.dim[j];
    } else {
      c = s % p.dim[j];
      s /= p.dim[j];
    }
    e += c * xstride;
    xstride *= p.dim[j];
  }
  return e;
}

// Keras's PReLU, relu(x) - alpha * relu(-x), and its derivatives (JAX's relu'(0) = 0, so at
// x = 0 both dy/dx and dy/dalpha are 0). A NaN x gives NaN in all three (docs/reliability.md).
SINAPSE_HD float prelu_value(float x, float a) { return x > 0.0f ? x : (x < 0.0f ? a * x : 0.0f * x); }
SINAPSE_HD float prelu_dx(float x, float a, float dy) {
  return x > 0.0f ? dy : (x < 0.0f ? a * dy : (x == 0.0f ? 0.0f : x));
}
SINAPSE_HD float prelu_dalpha_term(float x, float dy) { return x < 0.0f ? dy * x : (x >= 0.0f ? 0.0f : x); }

}  // namespace sinapse
