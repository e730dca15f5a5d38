// CUDA's approximate maths intrinsics under the simulator, as models of what the GPU computes
// (included by sim.h).
//
// The kernels use exact maths: expf, logf, tanhf, x / y, sqrtf — sinapse._cuda is built
// without --use_fast_math (CMakeLists.txt refuses it), so on the GPU these are CUDA's accurate
// functions (at most 2 ulp from the correctly rounded result; CUDA C++ Programming Guide,
// "Mathematical Functions", "Standard Functions") and here the host's libm. A kernel that
// wants an approximation calls the intrinsic by name, and then it must be tested against the
// approximation it ships with: each model below follows the GPU's recipe (libdevice's
// __nv_fast_*: a single-precision scaling around a MUFU instruction, ex2.approx, lg2.approx,
// rcp.approx in PTX), so the error that depends on the input is the GPU's — the rounding of
// x * log2(e) that makes __expf worse as |x| grows, the flush of 1/y to zero that makes
// __fdividef return 0 for |y| > 2^126. The MUFU step itself is computed exactly (double,
// rounded once), not with the hardware's own small error. Measured against an H200 (16M
// inputs each): the __expf model is within 2 ulp of the GPU's result everywhere; the GPU's
// __logf reaches 3 ulp and __fdividef 2 ulp where these models reach 1 — tolerances should be
// set from the documented bounds below, not from what the simulator happens to show.
//
// Documented maximum errors (Programming Guide, "Intrinsic Functions", single precision; ulp
// error = distance in ulps from the correctly rounded result; the Guide's bounds come "from
// extensive but not exhaustive tests, so they are not guaranteed bounds"):
//   __expf(x)        2 + floor(|1.173 x|) ulp. This recipe, scanned over every float in
//                    [1, 88.7] and its negation (107M inputs), is 1 ulp beyond that at 2
//                    inputs (-44.36467, -45.05711), where the H200 returns exactly the bound.
//   __logf(x)        absolute error 2^-21.41 for x in [0.5, 2], 3 ulp elsewhere.
//   __fdividef(x, y) 2 ulp for |y| in [2^-126, 2^126]; 0 for 2^126 < |y| < 2^128 (NaN if x is
//                    infinite: infinity times the flushed reciprocal).
//   rsqrtf(x)        2 ulp (a standard function, not affected by fast math; here correctly rounded).
//   __saturatef(x)   exact: clamps to [+0, 1], NaN to +0 (PTX cvt .sat).
// tests/test_cuda_math.py checks each model against float64 and these bounds.
#pragma once

#include <cfloat>
#include <cmath>

namespace sinapse::sim::detail {
constexpr float kLog2E = 1.44269504088896340736f;  // rounded to float, as libdevice's constant
constexpr float kLn2 = 0.693147180559945309417f;
inline float flush_denormal(float v) { return std::fabs(v) < FLT_MIN ? std::copysign(0.0f, v) : v; }
}  // namespace sinapse::sim::detail

// ex2.approx(x * log2(e)): the product rounded to float first, as on the GPU.
inline float __expf(float x) {
  const float p = x * ::sinapse::sim::detail::kLog2E;
  return static_cast<float>(std::exp2(static_cast<double>(p)));
}

// lg2.approx(x) * ln(2), the product in single precision.
inline float __logf(float x) {
  const float l = static_cast<float>(std::log2(static_cast<double>(x)));
  return l * ::sinapse::sim::detail::kLn2;
}

// x * rcp.approx.ftz(y): the reciprocal of |y| > 2^126 is a denormal, flushed to zero.
inline float __fdividef(float x, float y) {
  const float r = ::sinapse::sim::detail::flush_denormal(static_cast<float>(1.0 / static_cast<double>(y)));
  return x * r;
}

inline float rsqrtf(float x) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x))); }

inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }
