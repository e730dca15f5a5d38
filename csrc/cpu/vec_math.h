// exp for float written so the compiler vectorises it (no libm call in the loop): the CPU
// softmax and cross-entropy kernels call it inside run_simd() bodies.
//
// e^x = 2^n * e^r with n = round(x / ln 2) and |r| <= ln2 / 2; e^r by a degree-6 Taylor
// polynomial (truncation error < 2e-8 relative) in Horner form; 2^n built in the exponent
// bits. n is rounded with the 1.5 * 2^23 trick (adding it leaves n in the low mantissa
// bits), which vectorises everywhere, unlike nearbyint on baseline SSE2. Max error about
// 4 ulp (2.4e-7 relative, measured) over the normal range. Below about -87.7 the result is
// exactly 0 (expf goes denormal, then 0 at -103.9); from about 88.38 it is +inf (expf:
// from 88.72, ln(FLT_MAX) — the last 0.34 of the range, values 2.5e38..3.4e38, overflow
// early). Softmax subtracts the row maximum first, so its arguments are <= 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace sinapse::cpu {

inline float exp_approx(float x_in) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // ln 2 split in two: n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  // The clamp is also what gives the limits, at no extra cost: at -88, n = -127 and 2^n's
  // exponent bits are 0, so e^x is exactly 0 (a -inf logit has probability exactly 0,
  // sigmoid(-inf) = 0); at 88.5, n = 128 and the exponent bits are 255, so e^x is +inf. Two
  // selects, not nested: each becomes one vector blend. A NaN passes both and comes out NaN.
  float x = x_in < -88.0f ? -88.0f : x_in;
  x = x > 88.5f ? 88.5f : x;
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  int32_t ti;
  std::memcpy(&ti, &t, sizeof ti);  // the low mantissa bits of t hold n
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // (n + 127) << 23: the float 2^n. Unsigned: for a NaN x, ti is garbage and a signed
  // shift would be undefined behaviour (UBSan); the NaN still comes through p.
  const uint32_t bits = (static_cast<uint32_t>(ti) - 0x4B400000u + 127u) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace sinapse::cpu

namespace sinapse::cpu {

// sum_j e^(x[j] - shift), vectorised: float lane sums over blocks of 256 terms, the blocks
// added in double, so a row of 10^5 terms keeps float accuracy (a double accumulator in the
// loop itself would stop GCC vectorising it). Call inside a run_simd() body.
inline double sum_exp_shifted(const float* __restrict x, int64_t n, float shift) {
  constexpr int64_t kBlock = 256;
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = b + kBlock < n ? b + kBlock : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = b; j < e; ++j) s += exp_approx(x[j] - shift);
    total += s;
  }
  return total;
}

}  // namespace sinapse::cpu

namespace sinapse::cpu {

// 1 / (1 + e^-x) with exp_approx: about 3e-7 relative error; for -88.7 < x < -88 it returns
// about 6e-39 instead of the exact tiny value (both underflow a float's normal range), and
// exactly 0 below (sigmoid(-inf) = 0).
inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// tanh: an odd Taylor polynomial near 0 (where 1 - 2 / (e^2x + 1) would cancel) and that
// formula elsewhere; both computed and one selected, so the loop stays branch-free.
// About 2e-7 absolute and relative error.
inline float tanh_approx(float x) {
  const float x2 = x * x;
  // x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835: error < 3e-9 relative for |x| < 0.25
  const float poly = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
  const float far = 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f);
  return (x2 < 0.0625f) ? poly : far;
}

}  // namespace sinapse::cpu
