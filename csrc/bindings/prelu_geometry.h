// PreluArgs from what sinapse.ops.prelu computes (the coalesced dims of x and alpha's stride per
// dim, kMaxPreluDims entries each, the unused ones 1 and 0); shared by the CPU and CUDA bindings.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

#include "../common/prelu_args.h"
#include "checked_size.h"

namespace sinapse::bindings {

using PreluDims = std::array<int64_t, kMaxPreluDims>;

// Throws std::invalid_argument unless the dims multiply to x_size and alpha's strides are those
// of a C-order array of alpha_size entries over the non-shared dims.
inline PreluArgs prelu_args(int rank, const PreluDims& dims, const PreluDims& astrides, int64_t x_size,
                            int64_t alpha_size) {
  if (rank < 1 || rank > kMaxPreluDims) throw std::invalid_argument("prelu: rank outside [1, 8]");
  PreluArgs p{};
  p.rank = rank;
  int64_t n = 1, expected_stride = 1;
  for (int j = rank - 1; j >= 0; --j) {
    if (dims[j] < 0) throw std::invalid_argument("prelu: negative dim");
    p.dim[j] = dims[j];
    p.astride[j] = astrides[j];
    n = checked_product("prelu", {n, dims[j]});
    if (astrides[j] != 0) {
      if (astrides[j] != expected_stride) throw std::invalid_argument("prelu: alpha strides are not C order");
      expected_stride = checked_product("prelu", {expected_stride, dims[j]});
    }
  }
  if (n != x_size) throw std::invalid_argument("prelu: the dims do not match x's size");
  if (expected_stride != alpha_size) throw std::invalid_argument("prelu: the dims do not match alpha's size");
  if (n > 0 && alpha_size == 0) throw std::invalid_argument("prelu: empty alpha");
  p.n = n;
  p.alpha_size = alpha_size;
  return p;
}

}  // namespace sinapse::bindings
