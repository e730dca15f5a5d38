// The layer / group norm geometry from the caller's integers, with every array size the
// kernels index re-checked against it (CPU binding: F32Array; CUDA binding: DeviceArray). An
// optional array (gamma, beta) is passed as a pointer, nullptr when absent.
#pragma once

#include <string>

#include "../common/layer_norm_row.h"
#include "checked_size.h"
#include "shared_checks.h"

namespace sinapse::bindings {

inline LayerNormArgs layer_norm_geometry(const char* op, int64_t batch, int64_t segments, int64_t groups,
                                         int64_t length, float epsilon) {
  const std::string name(op);
  check(groups > 0 && length > 0 && segments > 0 && batch >= 0,
        name + ": batch >= 0 and segments, groups, length > 0 expected");
  checked_product(op, {batch, segments, groups, length});
  return LayerNormArgs{batch, segments, groups, length, epsilon};
}

// x-shaped arrays (`full`), per-row statistics (`per_row`), per-channel ones (`per_channel`,
// null entries skipped).
template <class A>
void check_layer_norm_sizes(const char* op, const LayerNormArgs& a, std::initializer_list<const A*> full,
                            std::initializer_list<const A*> per_row, std::initializer_list<const A*> per_channel) {
  const std::string name(op);
  for (const A* p : full) check(p->size() == a.size(), name + ": an array does not have the size of x");
  for (const A* p : per_row) check(p->size() == a.rows(), name + ": mean / inv_std need one value per row");
  for (const A* p : per_channel)
    check(!p || p->size() == a.channels(), name + ": gamma / beta (or their gradients) need one value per channel");
}

}  // namespace sinapse::bindings
