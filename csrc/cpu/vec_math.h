// The CPU's one vectorisable exp, sigmoid and tanh for float (no libm call in the loop, so
// the compiler vectorises it): the activation, softmax and cross-entropy kernels and the RNN
// gates all call these inside run_simd() bodies, so an LSTM gate and the sigmoid/tanh
// activation compute the same function.
//
// exp: e^x = 2^n * e^r with n = round(x / ln 2) and |r| <= ln2 / 2; e^r by a degree-6
// polynomial in Horner form, 1 + r + c2 r^2 + ... + c6 r^6 with c2..c6 fitted for minimal
// relative error on that interval (3e-9; the Taylor coefficients' truncation error is 40x
// that, and Cephes's expf gets this accuracy with one more term); 2^n built in the exponent
// bits. n is rounded with the 1.5 * 2^23 trick (adding it leaves n in the low mantissa
// bits), which vectorises everywhere, unlike nearbyint on baseline SSE2. Max error 7.7e-8
// relative with FMA, 9.4e-8 without (about 1 ulp; measured against double exp over
// [-87, 88.3]). Below about -87.7
// the result is exactly 0 (expf goes denormal, then 0 at -103.9); from about 88.38 it is
// +inf (expf: from 88.72, ln(FLT_MAX) — the last 0.34 of the range, values 2.5e38..3.4e38,
// overflow early). Softmax subtracts the row maximum first, so its arguments are <= 0.
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
  float p = 1.381461275741458e-3f;
  p = p * r + 8.368710055947304e-3f;
  p = p * r + 4.166838899254799e-2f;
  p = p * r + 1.666652113199234e-1f;
  p = p * r + 4.999999403953552e-1f;
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

// 1 / (1 + e^-x) with exp_approx: about 1.5e-7 relative error; for -88.7 < x < -88 it returns
// about 6e-39 instead of the exact tiny value (both underflow a float's normal range), and
// exactly 0 below (sigmoid(-inf) = 0, sigmoid(inf) = 1, so the gate derivatives there are 0).
inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// tanh: an odd Taylor polynomial near 0 (where 1 - 2 / (e^2x + 1) would cancel) and that
// formula elsewhere; both computed and one selected, so the loop stays branch-free.
// Measured: 5e-7 relative and 2e-7 absolute error (the worst just above |x| = 0.25, where
// the formula still loses a bit to cancellation); exactly +-1 at +-inf. (The sign-symmetric
// (1 - e) / (1 + e), e = e^-2|x|, is 3x more accurate there but 40% slower per element.)
inline float tanh_approx(float x) {
  const float x2 = x * x;
  // x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835: error < 3e-9 relative for |x| < 0.25
  const float poly = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
  const float far = 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f);
  return (x2 < 0.0625f) ? poly : far;
}

// The three, as the struct the shared RNN cell formulas take (common/rnn_args.h).
struct VecMath {
  [[gnu::always_inline]] static inline float exp(float x) { return exp_approx(x); }
  [[gnu::always_inline]] static inline float sigmoid(float x) { return sigmoid_approx(x); }
  [[gnu::always_inline]] static inline float tanh(float x) { return tanh_approx(x); }
};

}  // namespace sinapse::cpu
