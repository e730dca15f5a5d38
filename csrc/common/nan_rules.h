// The few float helpers that make the kernels' NaN and Inf behaviour the documented one
// (docs/reliability.md, "NaN and Inf"): NaN in -> NaN out where the maths says so, and no
// NaN invented where the maths has a finite limit. Each is a compare and a select, so loops
// that call them still vectorise; compiled by g++ and by nvcc (SINAPSE_HD).
#pragma once

#include "macros.h"

namespace sinapse {

// clip(x, lo, hi) that keeps NaN, like np.clip / torch.clamp. fminf/fmaxf (and the SIMD
// min/max instructions they become) return the non-NaN operand, which hides a NaN.
SINAPSE_HD float clamp_keep_nan(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// max(a, b) that is NaN when either is, like np.maximum / torch.maximum.
SINAPSE_HD float max_keep_nan(float a, float b) { return (a > b || a != a) ? a : b; }
// min(a, b) that is NaN when either is, like np.minimum / torch.minimum.
SINAPSE_HD float min_keep_nan(float a, float b) { return (a < b || a != a) ? a : b; }

// x * s where s -> 0 faster than |x| -> inf (x * sigmoid(x), x * Phi(x), z * (1 - y)): the
// limit is 0, so s == 0 gives 0 even for x = +-inf (IEEE would say inf * 0 = NaN). A NaN x
// stays NaN.
SINAPSE_HD float times_vanishing(float x, float s) { return (s == 0.0f && x == x) ? 0.0f : x * s; }

}  // namespace sinapse
