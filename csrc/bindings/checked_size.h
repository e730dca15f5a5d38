// Sizes the bindings compare array lengths against are products of caller-given integers: a
// product that overflows int64 could wrap to a small number and pass a size check, so the
// kernel would index far outside the arrays. checked_product refuses it instead.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace sinapse::bindings {

inline int64_t checked_product(const char* what, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors)
    if (f < 0 || __builtin_mul_overflow(p, f, &p))
      throw std::invalid_argument(std::string(what) + ": a size overflows int64");
  return p;
}

}  // namespace sinapse::bindings
