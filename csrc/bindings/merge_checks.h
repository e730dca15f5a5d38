// The memory contract of the merge bindings, written once for the CPU (F32Array) and CUDA
// (DeviceArray) twins: every input of a merge has the first one's size, and a concatenation's
// parts and whole agree on every axis but `axis`. `A` is anything with size(), ndim() and
// shape(i). The friendly errors come earlier, from python/sinapse/ops/merge.py.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/enums.h"
#include "checked_size.h"
#include "shared_checks.h"

namespace sinapse::bindings {

inline MergeMode merge_mode(const char* op, int code) {
  check(enums::valid_code(enums::kMergeModeList, code), std::string(op) + ": mode code out of range");
  return static_cast<MergeMode>(code);
}

// Every array of `arrays` has `size` elements; at least `min_count` of them.
template <class A>
void check_same_sizes(const char* op, const std::vector<A>& arrays, int64_t size, size_t min_count) {
  check(arrays.size() >= min_count, std::string(op) + ": too few arrays");
  for (const A& a : arrays) check(a.size() == size, std::string(op) + ": the arrays' sizes differ");
}

// Keras's row masks of a merge (cpu/merge.h): present only for multiply, maximum and minimum,
// every given mask with the same number of flags (rows), which divides n; returns the floats per
// flag (inner).
inline int64_t mask_inner(const char* op, MergeMode mode, int64_t n, const std::vector<int64_t>& mask_sizes) {
  check(mode == MergeMode::multiply || mode == MergeMode::maximum || mode == MergeMode::minimum,
        std::string(op) + ": masks apply to multiply, maximum and minimum only");
  const int64_t rows = mask_sizes.front();
  for (int64_t r : mask_sizes) check(r == rows, std::string(op) + ": the masks' sizes differ");
  check(rows > 0 ? n % rows == 0 : n == 0, std::string(op) + ": the masks do not divide the arrays into rows");
  return rows > 0 ? n / rows : 1;
}

// The (outer, inner_k) view of a concatenation along `axis` (0 <= axis < ndim): parts[k]'s
// shape equals whole's except on axis, whose extents add up to whole's; returns outer and
// fills inner.
template <class A, class W>
int64_t concat_geometry(const char* op, const std::vector<A>& parts, const W& whole, int axis,
                        std::vector<int64_t>* inner) {
  const int nd = whole.ndim();
  check(!parts.empty() && axis >= 0 && axis < nd, std::string(op) + ": axis out of range");
  int64_t outer = 1, after = 1, sum = 0;
  for (int d = 0; d < axis; ++d) outer = checked_product(op, {outer, whole.shape(d)});
  for (int d = axis + 1; d < nd; ++d) after = checked_product(op, {after, whole.shape(d)});
  inner->clear();
  for (const A& p : parts) {
    check(p.ndim() == nd, std::string(op) + ": the arrays' ranks differ");
    for (int d = 0; d < nd; ++d)
      check(d == axis || p.shape(d) == whole.shape(d), std::string(op) + ": the shapes differ off the axis");
    sum += p.shape(axis);
    inner->push_back(checked_product(op, {p.shape(axis), after}));
  }
  check(sum == whole.shape(axis), std::string(op) + ": the extents on the axis do not add up");
  return outer;
}

}  // namespace sinapse::bindings
