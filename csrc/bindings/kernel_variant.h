// Variant names -> enums, for the CPU and the CUDA bindings alike: one table per enum, one
// parser, one error message ("<op>: unknown variant 'x' (expected naive or tuned)").
// sinapse.ops resolves and checks the name first (registry.resolve_variant), so this error
// is only seen by direct calls into the binding modules.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "../common/gemm_args.h"
#include "../common/kernel_variant.h"

namespace sinapse::bindings {

template <class E>
struct VariantName {
  const char* name;
  E value;
};

template <class E, size_t N>
E parse_variant(const char* op, const std::string& name, const VariantName<E> (&table)[N]) {
  std::string expected;
  for (size_t i = 0; i < N; ++i) {
    if (name == table[i].name) return table[i].value;
    expected += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + table[i].name;
  }
  throw std::invalid_argument(std::string(op) + ": unknown variant '" + name + "' (expected " + expected + ")");
}

// naive / tuned: pooling, softmax, batch norm, the LSTM cell and conv2d.
inline KernelVariant parse_kernel_variant(const char* op, const std::string& name) {
  static constexpr VariantName<KernelVariant> kNames[] = {{"naive", KernelVariant::naive},
                                                          {"tuned", KernelVariant::tuned}};
  return parse_variant(op, name, kNames);
}

inline GemmVariant parse_gemm_variant(const std::string& name) {
  static constexpr VariantName<GemmVariant> kNames[] = {
      {"naive", GemmVariant::naive}, {"blocked", GemmVariant::blocked}, {"tuned", GemmVariant::tuned}};
  return parse_variant("gemm", name, kNames);
}

}  // namespace sinapse::bindings
