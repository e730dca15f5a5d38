// Variant names -> enums, for the CPU and the CUDA bindings alike, from the one table of
// each (common/enums.h: SINAPSE_KERNEL_VARIANTS, SINAPSE_GEMM_VARIANTS), with one error
// message ("<op>: unknown variant 'x' (expected naive or tuned)"). sinapse.ops resolves and
// checks the name first (registry.resolve_variant), so this error is only seen by direct
// calls into the binding modules.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "../common/enums.h"

namespace sinapse::bindings {

template <class E, std::size_t N>
E parse_variant(const char* op, const std::string& name, const enums::Named<E> (&table)[N]) {
  E value;
  if (!enums::parse(table, name, &value))
    throw std::invalid_argument(std::string(op) + ": unknown variant '" + name + "' (expected " + enums::names(table) +
                                ")");
  return value;
}

// naive / tuned: pooling, softmax, batch norm, the LSTM cell and conv2d.
inline KernelVariant parse_kernel_variant(const char* op, const std::string& name) {
  return parse_variant(op, name, enums::kKernelVariantList);
}

inline GemmVariant parse_gemm_variant(const std::string& name) {
  return parse_variant("gemm", name, enums::kGemmVariantList);
}

}  // namespace sinapse::bindings
