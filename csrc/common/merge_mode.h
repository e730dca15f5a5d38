// The element-wise merges of ops.merge (Keras's Add, Subtract, Multiply, Average, Maximum,
// Minimum layers; keras/src/layers/merging/*.py), one code on every backend. Named in
// common/enums.h (SINAPSE_MERGE_MODES), read by python/sinapse/ops/_enums.py.
#pragma once

#include "macros.h"
#include "nan_rules.h"

namespace sinapse {

// add: x0 + x1 + ...; subtract: x0 - x1 (exactly two inputs); multiply: x0 * x1 * ...;
// average: (x0 + x1 + ...) / n; maximum / minimum: NaN when any input is NaN (np.maximum).
enum class MergeMode : int { add = 0, subtract = 1, multiply = 2, average = 3, maximum = 4, minimum = 5 };
inline constexpr int kMergeModes = 6;

// One step of the forward fold acc = acc (op) x over the inputs in order (average: the sum;
// the kernels divide by n at the end, as Keras's Average does). One definition for both backends.
SINAPSE_HD float merge_step(MergeMode mode, float acc, float x) {
  switch (mode) {
    case MergeMode::subtract:
      return acc - x;
    case MergeMode::multiply:
      return acc * x;
    case MergeMode::maximum:
      return max_keep_nan(acc, x);
    case MergeMode::minimum:
      return min_keep_nan(acc, x);
    default:  // add, average
      return acc + x;
  }
}

// Whether input value x takes over as the winner of maximum / minimum from `best` (the value
// of the winner so far): the gradient goes to the FIRST input that attains the result. Ties
// keep the earlier input (strict compare); a NaN input wins over a number, and the first NaN
// stays (the result is NaN then, max_keep_nan/min_keep_nan, and the NaN input is its source).
SINAPSE_HD bool merge_takes_over(MergeMode mode, float best, float x) {
  const bool better = mode == MergeMode::maximum ? x > best : x < best;
  return better || (x != x && best == best);
}

}  // namespace sinapse
