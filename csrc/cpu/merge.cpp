#include "merge.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../common/threading.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

// The forward's elements per run_simd() call: small enough that the chunk of the output stays in
// L1 while the inputs are folded into it, large enough that the call and the loop set-up are noise.
constexpr int64_t kChunk = 2048;
// The backward's chunk: its passes touch dy, every input and every gradient (and the scratch)
// per chunk, 5 arrays for 2 inputs (the scratch, suffix products or winners, on the stack); at
// 2048 they spilled L1 and the multiply / maximum
// backward of 2 inputs (8x28x28x256, 1 thread, Zen 4) took 1.8 / 2.2 ms, at 512 1.2 / 1.6 ms.
constexpr int64_t kBackwardChunk = 512;

// o = acc (op) a (op) b (op) c over one chunk, m = 1, 2 or 3 of a, b, c used, left to right (the
// rounding of the plain left fold, and of the CUDA kernel). kFromOut: acc is o itself (a later
// pass), read through the same pointer so that the compiler sees no overlap to check for.
template <bool kFromOut, class Op>
SINAPSE_INLINE inline void fold_pass(int64_t len, const float* __restrict x0, const float* const* x, int64_t m,
                                     float* __restrict o, Op op) {
  const float* __restrict a = x[0];
  const float* __restrict b = x[1];
  const float* __restrict c = x[2];
  if (m == 1) {
    for (int64_t i = 0; i < len; ++i) o[i] = op(kFromOut ? o[i] : x0[i], a[i]);
  } else if (m == 2) {
    for (int64_t i = 0; i < len; ++i) o[i] = op(op(kFromOut ? o[i] : x0[i], a[i]), b[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) o[i] = op(op(op(kFromOut ? o[i] : x0[i], a[i]), b[i]), c[i]);
  }
}

// out[0, len) = x0 (op) x1 (op) ... for one chunk; `op` is one of merge_step's cases, written
// as its own loops so that every loop is a straight vectorisable body. Up to 3 inputs per pass
// over the chunk: measured on Zen 4 (1 thread, 8 x 56 x 56 x 256 floats), one input per pass made
// an add of 3 inputs 1.26x PyTorch's two full passes (add, then add_), though it moves less.
template <class Op>
SINAPSE_INLINE inline void fold(int64_t c0, int64_t len, int64_t count, const float* const* in, float* out, Op op) {
  float* o = out + c0;
  const float* x0 = in[0] + c0;
  if (count == 1) {
    for (int64_t i = 0; i < len; ++i) o[i] = x0[i];
    return;
  }
  for (int64_t k = 1; k < count; k += 3) {
    const int64_t m = std::min<int64_t>(3, count - k);
    const float* x[3] = {in[k] + c0, m > 1 ? in[k + 1] + c0 : nullptr, m > 2 ? in[k + 2] + c0 : nullptr};
    if (k == 1)
      fold_pass<false>(len, x0, x, m, o, op);
    else
      fold_pass<true>(len, nullptr, x, m, o, op);
  }
}

SINAPSE_INLINE inline void forward_chunk(MergeMode mode, int64_t c0, int64_t len, int64_t count, const float* const* in,
                                         float* out) {
  switch (mode) {
    case MergeMode::subtract:
      return fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return a - b; });
    case MergeMode::multiply:
      return fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return a * b; });
    case MergeMode::maximum:
      return fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return max_keep_nan(a, b); });
    case MergeMode::minimum:
      return fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return min_keep_nan(a, b); });
    case MergeMode::average: {
      fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return a + b; });
      const float n = static_cast<float>(count);
      float* __restrict o = out + c0;
      for (int64_t i = 0; i < len; ++i) o[i] = o[i] / n;  // a division, as Keras's output / len(inputs)
      return;
    }
    default:
      return fold(c0, len, count, in, out, [](float a, float b) SINAPSE_INLINE { return a + b; });
  }
}

// dx_k = dy * (product of the inputs before k) * (product of those after k): a prefix pass
// writes the first factor into each dx_k, a suffix pass multiplies the second in. 2(n-1)
// multiplies per element and input, no division (so zeros and infinities give what the
// product of the others gives).
SINAPSE_INLINE inline void multiply_backward_chunk(int64_t c0, int64_t len, int64_t count, const float* dy,
                                                   const float* const* in, float* const* dx) {
  float suffix[kBackwardChunk];
  {
    float* __restrict d0 = dx[0] + c0;
    const float* __restrict g = dy + c0;
    for (int64_t i = 0; i < len; ++i) d0[i] = g[i];
  }
  for (int64_t k = 1; k < count; ++k) {
    float* __restrict dk = dx[k] + c0;
    const float* __restrict prev = dx[k - 1] + c0;
    const float* __restrict xp = in[k - 1] + c0;
    for (int64_t i = 0; i < len; ++i) dk[i] = prev[i] * xp[i];
  }
  float* __restrict s = suffix;
  for (int64_t i = 0; i < len; ++i) s[i] = 1.0f;
  for (int64_t k = count - 1; k >= 0; --k) {
    float* __restrict dk = dx[k] + c0;
    const float* __restrict xk = in[k] + c0;
    for (int64_t i = 0; i < len; ++i) dk[i] *= s[i];
    if (k > 0)
      for (int64_t i = 0; i < len; ++i) s[i] *= xk[i];
  }
}

// dy to the first input that attains the maximum / minimum (merge_takes_over), 0 elsewhere.
SINAPSE_INLINE inline void extremum_backward_chunk(MergeMode mode, int64_t c0, int64_t len, int64_t count,
                                                   const float* dy, const float* const* in, float* const* dx) {
  float best[kBackwardChunk];
  int32_t winner[kBackwardChunk];
  float* __restrict b = best;
  int32_t* __restrict w = winner;
  const float* __restrict x0 = in[0] + c0;
  for (int64_t i = 0; i < len; ++i) {
    b[i] = x0[i];
    w[i] = 0;
  }
  const bool is_max = mode == MergeMode::maximum;
  for (int64_t k = 1; k < count; ++k) {
    const float* __restrict xk = in[k] + c0;
    const int32_t kk = static_cast<int32_t>(k);
    for (int64_t i = 0; i < len; ++i) {
      const float x = xk[i], cur = b[i];
      const bool take = (is_max ? x > cur : x < cur) || (x != x && cur == cur);
      b[i] = take ? x : cur;
      w[i] = take ? kk : w[i];
    }
  }
  const float* __restrict g = dy + c0;
  for (int64_t k = 0; k < count; ++k) {
    float* __restrict dk = dx[k] + c0;
    const int32_t kk = static_cast<int32_t>(k);
    for (int64_t i = 0; i < len; ++i) dk[i] = w[i] == kk ? g[i] : 0.0f;
  }
}

SINAPSE_INLINE inline void backward_chunk(MergeMode mode, int64_t c0, int64_t len, int64_t count, const float* dy,
                                          const float* const* in, float* const* dx) {
  if (mode == MergeMode::multiply) return multiply_backward_chunk(c0, len, count, dy, in, dx);
  if (mode == MergeMode::maximum || mode == MergeMode::minimum)
    return extremum_backward_chunk(mode, c0, len, count, dy, in, dx);
  const float* __restrict g = dy + c0;
  for (int64_t k = 0; k < count; ++k) {
    float* __restrict dk = dx[k] + c0;
    if (mode == MergeMode::average) {
      const float n = static_cast<float>(count);
      for (int64_t i = 0; i < len; ++i) dk[i] = g[i] / n;
    } else if (mode == MergeMode::subtract && k == 1) {
      for (int64_t i = 0; i < len; ++i) dk[i] = -g[i];
    } else {
      for (int64_t i = 0; i < len; ++i) dk[i] = g[i];
    }
  }
}

int64_t chunks_of(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

}  // namespace

void merge_forward(int64_t n, int64_t count, const float* const* inputs, float* out, MergeMode mode, SimdPath path,
                   int max_threads) {
  const int64_t chunks = chunks_of(n, kChunk);
  // Work: every input read and the output written once per element.
  const int nthreads = threads_for(static_cast<double>(n) * (count + 1), grain::kCopy, max_threads, chunks);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t c0 = c * kChunk, len = std::min(kChunk, n - c0);
    run_simd(path, [&]() SINAPSE_INLINE { forward_chunk(mode, c0, len, count, inputs, out); });
  }
}

void merge_backward(int64_t n, int64_t count, const float* dy, const float* const* inputs, float* const* dx,
                    MergeMode mode, SimdPath path, int max_threads) {
  const int64_t chunks = chunks_of(n, kBackwardChunk);
  const int nthreads = threads_for(static_cast<double>(n) * (2 * count + 1), grain::kCopy, max_threads, chunks);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t c0 = c * kBackwardChunk, len = std::min(kBackwardChunk, n - c0);
    run_simd(path, [&]() SINAPSE_INLINE { backward_chunk(mode, c0, len, count, dy, inputs, dx); });
  }
}

namespace {

// The rows [r0, r1) of thread t of nthreads (equal shares).
inline void row_range(int64_t rows, int t, int nthreads, int64_t* r0, int64_t* r1) {
  *r0 = rows * t / nthreads;
  *r1 = rows * (t + 1) / nthreads;
}

// Input k takes part in row r: it has no mask, or its mask marks the row.
inline bool valid(const uint8_t* const* masks, int64_t k, int64_t r) { return masks[k] == nullptr || masks[k][r]; }

}  // namespace

void merge_forward_masked(int64_t rows, int64_t inner, int64_t count, const float* const* inputs,
                          const uint8_t* const* masks, float* out, MergeMode mode, SimdPath path, int max_threads) {
  const int nthreads = threads_for(static_cast<double>(rows) * inner * (count + 1), grain::kCopy, max_threads,
                                   std::max<int64_t>(rows, 1));
  std::vector<const float*> scratch(static_cast<size_t>(nthreads * count));  // each thread's valid inputs
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int t = 0; t < nthreads; ++t) {
    int64_t r0, r1;
    row_range(rows, t, nthreads, &r0, &r1);
    const float** vin = scratch.data() + t * count;
    for (int64_t r = r0; r < r1; ++r) {
      int64_t nv = 0;
      for (int64_t k = 0; k < count; ++k)
        if (valid(masks, k, r)) vin[nv++] = inputs[k] + r * inner;
      float* o = out + r * inner;
      if (nv == 0) {  // no input marks the row: maximum / minimum give inputs[0], multiply 0
        if (mode == MergeMode::multiply)
          std::fill(o, o + inner, 0.0f);
        else
          std::copy(inputs[0] + r * inner, inputs[0] + (r + 1) * inner, o);
        continue;
      }
      for (int64_t c0 = 0; c0 < inner; c0 += kChunk) {
        const int64_t len = std::min(kChunk, inner - c0);
        run_simd(path, [&]() SINAPSE_INLINE { forward_chunk(mode, c0, len, nv, vin, o); });
      }
    }
  }
}

void merge_backward_masked(int64_t rows, int64_t inner, int64_t count, const float* dy, const float* const* inputs,
                           const uint8_t* const* masks, float* const* dx, MergeMode mode, SimdPath path,
                           int max_threads) {
  const int nthreads = threads_for(static_cast<double>(rows) * inner * (2 * count + 1), grain::kCopy, max_threads,
                                   std::max<int64_t>(rows, 1));
  std::vector<const float*> scratch_in(static_cast<size_t>(nthreads * count));
  std::vector<float*> scratch_dx(static_cast<size_t>(nthreads * count));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int t = 0; t < nthreads; ++t) {
    int64_t r0, r1;
    row_range(rows, t, nthreads, &r0, &r1);
    const float** vin = scratch_in.data() + t * count;
    float** vdx = scratch_dx.data() + t * count;
    for (int64_t r = r0; r < r1; ++r) {
      int64_t nv = 0;
      for (int64_t k = 0; k < count; ++k) {
        if (valid(masks, k, r)) {
          vin[nv] = inputs[k] + r * inner;
          vdx[nv++] = dx[k] + r * inner;
        } else {
          std::fill(dx[k] + r * inner, dx[k] + (r + 1) * inner, 0.0f);  // a masked input: no gradient
        }
      }
      const float* g = dy + r * inner;
      if (nv == 0) {  // maximum / minimum passed inputs[0] on; multiply's 0 has no gradient
        if (mode != MergeMode::multiply) std::copy(g, g + inner, dx[0] + r * inner);
        continue;
      }
      for (int64_t c0 = 0; c0 < inner; c0 += kBackwardChunk) {
        const int64_t len = std::min(kBackwardChunk, inner - c0);
        run_simd(path, [&]() SINAPSE_INLINE { backward_chunk(mode, c0, len, nv, g, vin, vdx); });
      }
    }
  }
}

void concat_copy(int64_t outer, int64_t count, const int64_t* inner, float* const* parts, float* whole, bool split,
                 int max_threads) {
  std::vector<int64_t> off(static_cast<size_t>(count) + 1, 0);  // where each input starts in a row
  for (int64_t k = 0; k < count; ++k) off[k + 1] = off[k] + inner[k];
  const int64_t width = off[count], total = outer * width;
  if (total == 0) return;
  // The flat result cut into one range per thread, whatever the axis (outer may be 1 or the
  // rows may be short): each range is walked as runs of contiguous floats, one memcpy each.
  const int nthreads = threads_for(static_cast<double>(total), grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int t = 0; t < nthreads; ++t) {
    const int64_t end = total / nthreads * (t + 1) + (t + 1 == nthreads ? total % nthreads : 0);
    int64_t p = total / nthreads * t, row = p / width, col = p % width, k = 0;
    while (p < end) {
      while (off[k + 1] <= col) ++k;  // the input owning column col (skips empty ones)
      const int64_t len = std::min(end - p, off[k + 1] - col);
      float* w = whole + row * width + col;
      float* part = parts[k] + row * inner[k] + (col - off[k]);
      if (split)
        std::memcpy(part, w, static_cast<size_t>(len) * sizeof(float));
      else
        std::memcpy(w, part, static_cast<size_t>(len) * sizeof(float));
      p += len;
      col += len;
      if (col == width) {
        col = 0;
        k = 0;
        ++row;
      }
    }
  }
}

}  // namespace sinapse::cpu
