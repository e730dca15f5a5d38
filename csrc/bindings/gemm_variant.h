// The GEMM variant names ("naive", "blocked", "tuned") -> GemmVariant, for the CPU and the
// CUDA bindings alike (the same three names on every backend).
#pragma once

#include <stdexcept>
#include <string>

#include "../common/gemm_args.h"

namespace sinapse::bindings {

inline GemmVariant parse_gemm_variant(const std::string& name) {
  if (name == "naive") return GemmVariant::naive;
  if (name == "blocked") return GemmVariant::blocked;
  if (name == "tuned") return GemmVariant::tuned;
  throw std::invalid_argument("gemm: unknown variant '" + name + "' (expected naive, blocked or tuned)");
}

}  // namespace sinapse::bindings
