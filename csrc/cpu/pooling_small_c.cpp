// Average pooling with few channels (C < 16: LeNet's 6), forward and backward, vectorised over
// pixels instead of channels (docs/kernels/pooling.md, "Few channels").
//
// The channel-vector kernels of pooling.cpp walk one window per output pixel with a loop of
// C lanes: with C = 6 that loop is all set-up and remainder. Here both passes are split into
// a part that is contiguous over a whole image row (pixels x channels flattened, full vectors
// whatever C is) and a fixed rearrangement of that row:
//   forward   rowsum = (sum of the window's input rows) / rows      contiguous adds
//             y[ow, c] = sum over the window's columns w of rowsum[w, c] / columns
//   backward  drow = sum over the output rows covering h of dy[oh] / (rows * columns)
//             dx[h][w, c] = sum over the outputs ow covering column w of drow[ow, c]
// The rearrangement is the same for every row of every image, so it is tabulated once per
// call (PixelGather): out[j] = scale[j] * sum_q in[src[q][j]]. On AVX2 and AVX-512, when
// every block of V outputs reads, per q, from a span of at most 2V inputs (strides up to 2:
// every usual pooling), each block is V-lane permutes of two loaded vectors (vpermt2ps on
// AVX-512); otherwise, and on the baseline path, the table is walked one element at a time.
// Sums run in another order than the naive kernel's (rows first), so the last bit may
// differ; tests/test_pooling_small_c.py bounds it against the reference.
#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "pooling.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int kMaxV = 16;

// out[j] = scale[j] * sum over q < Q of (src[q][j] >= 0 ? in[src[q][j]] : 0), j in [0, n).
struct PixelGather {
  int64_t n = 0, Q = 0, blocks = 0;
  int V = 1;                  // lanes of the vector form (1: the element loop only)
  std::vector<int32_t> src;   // (Q, n); -1: no term
  std::vector<float> scale;   // (n)
  std::vector<int32_t> base;  // (blocks, Q): the first input a block's q-th permute loads
  std::vector<int32_t> rel;   // (blocks, Q, V): lane sources in [0, 2V) from base; -1: no term
  std::vector<float> vscale;  // (blocks, V)
};

// Fills the vector form for V lanes; false when some block's sources span more than 2V.
bool vectorise(PixelGather& t, int V) {
  t.V = V;
  t.blocks = (t.n + V - 1) / V;
  t.base.assign(t.blocks * t.Q, 0);
  t.rel.assign(t.blocks * t.Q * V, -1);
  t.vscale.assign(t.blocks * V, 0.0f);
  for (int64_t b = 0; b < t.blocks; ++b) {
    const int64_t j0 = b * V, j1 = std::min<int64_t>(t.n, j0 + V);
    for (int64_t j = j0; j < j1; ++j) t.vscale[b * V + j - j0] = t.scale[j];
    for (int64_t q = 0; q < t.Q; ++q) {
      const int32_t* s = t.src.data() + q * t.n;
      int32_t lo = -1, hi = -1;
      for (int64_t j = j0; j < j1; ++j)
        if (s[j] >= 0) {
          lo = lo < 0 ? s[j] : std::min(lo, s[j]);
          hi = std::max(hi, s[j]);
        }
      if (lo < 0) continue;  // no term in this block
      if (hi - lo >= 2 * V) return false;
      t.base[b * t.Q + q] = lo;
      for (int64_t j = j0; j < j1; ++j)
        if (s[j] >= 0) t.rel[(b * t.Q + q) * V + j - j0] = s[j] - lo;
    }
  }
  return true;
}

// The path's lanes (the baseline walks the table element by element).
int lanes(SimdPath path) { return path == SimdPath::avx512 ? 16 : path == SimdPath::avx2 ? 8 : 1; }

void finish(PixelGather& t, SimdPath path) {
  if (lanes(path) == 1 || !vectorise(t, lanes(path))) t.V = 1;
}

// Forward: output j = (ow, c) of a row sums the columns w of its window: src[q] = (w0 + q, c).
PixelGather forward_table(const PoolArgs& p, SimdPath path) {
  PixelGather t;
  t.n = p.OW * p.C;
  t.Q = p.KW;
  t.src.assign(t.Q * t.n, -1);
  t.scale.resize(t.n);
  for (int64_t ow = 0; ow < p.OW; ++ow) {
    int64_t h0, h1, w0, w1;
    pool_window(p, 0, ow, h0, h1, w0, w1);
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t j = ow * p.C + c;
      t.scale[j] = 1.0f / static_cast<float>(w1 - w0);
      for (int64_t w = w0; w < w1; ++w) t.src[(w - w0) * t.n + j] = static_cast<int32_t>(w * p.C + c);
    }
  }
  finish(t, path);
  return t;
}

// Backward: dx column j = (w, c) sums the outputs ow covering w: src[q] = (ow0 + q, c).
PixelGather backward_table(const PoolArgs& p, SimdPath path) {
  PixelGather t;
  t.n = p.W * p.C;
  t.Q = 1;
  for (int64_t w = 0; w < p.W; ++w) {
    int64_t ow0, ow1;
    pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
    t.Q = std::max(t.Q, ow1 - ow0);
  }
  t.src.assign(t.Q * t.n, -1);
  t.scale.assign(t.n, 1.0f);
  for (int64_t w = 0; w < p.W; ++w) {
    int64_t ow0, ow1;
    pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t ow = ow0; ow < ow1; ++ow) t.src[(ow - ow0) * t.n + w * p.C + c] = static_cast<int32_t>(ow * p.C + c);
  }
  finish(t, path);
  return t;
}

// The vector types of the permute form (GCC vector extensions, lowered per target).
typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));
typedef float vf16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
template <int V>
struct Lanes;
template <>
struct Lanes<8> {
  using F = vf8;
  using I = vi8;
};
template <>
struct Lanes<16> {
  using F = vf16;
  using I = vi16;
};

// out = the table applied to `in` (which has 2 * kMaxV readable floats past its end).
template <int V>
[[gnu::always_inline]] inline void apply(const PixelGather& t, const float* __restrict in, float* __restrict out) {
  if constexpr (V > 1) {
    if (t.V == V) {
      using vf = typename Lanes<V>::F;
      using vi = typename Lanes<V>::I;
      for (int64_t b = 0; b < t.blocks; ++b) {
        vf acc = {};
        for (int64_t q = 0; q < t.Q; ++q) {
          const float* at = in + t.base[b * t.Q + q];
          vf lo, hi;
          vi r;
          std::memcpy(&lo, at, sizeof lo);
          std::memcpy(&hi, at + V, sizeof hi);
          std::memcpy(&r, t.rel.data() + (b * t.Q + q) * V, sizeof r);
          const vf v = __builtin_shuffle(lo, hi, r);
          acc += reinterpret_cast<vf>(reinterpret_cast<vi>(v) & (r >= 0));  // no term: +0, not a NaN's
        }
        vf s;
        std::memcpy(&s, t.vscale.data() + b * V, sizeof s);
        acc *= s;
        const int64_t j0 = b * V;
        std::memcpy(out + j0, &acc, sizeof(float) * std::min<int64_t>(V, t.n - j0));
      }
      return;
    }
  }
  for (int64_t j = 0; j < t.n; ++j) {
    float s = 0.0f;
    for (int64_t q = 0; q < t.Q; ++q) {
      const int32_t k = t.src[q * t.n + j];
      s += k >= 0 ? in[k] : 0.0f;
    }
    out[j] = s * t.scale[j];
  }
}

// One image of the forward: each output row from the rows sum of its window.
template <int V>
[[gnu::always_inline]] inline void forward_image(const PoolArgs& p, const PixelGather& t, const float* x, float* y,
                                                 float* __restrict rowsum) {
  const int64_t row = p.W * p.C;
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    int64_t h0, h1, w0, w1;
    pool_window(p, oh, 0, h0, h1, w0, w1);
    const float inv = 1.0f / static_cast<float>(h1 - h0);
    const float* __restrict first = x + h0 * row;
    for (int64_t j = 0; j < row; ++j) rowsum[j] = first[j];
    for (int64_t h = h0 + 1; h < h1; ++h) {
      const float* __restrict v = x + h * row;
      for (int64_t j = 0; j < row; ++j) rowsum[j] += v[j];
    }
    for (int64_t j = 0; j < row; ++j) rowsum[j] *= inv;
    apply<V>(t, rowsum, y + oh * p.OW * p.C);
  }
}

// One image of the backward: each input row from the output rows covering it; a row covered
// by the same output rows as the previous one is a copy of it.
template <int V>
[[gnu::always_inline]] inline void backward_image(const PoolArgs& p, const PixelGather& t, const float* inv_w,
                                                  const float* dy, float* dx, float* __restrict drow) {
  const int64_t row = p.W * p.C, orow = p.OW * p.C;
  int64_t prev0 = -1, prev1 = -1;
  for (int64_t h = 0; h < p.H; ++h) {
    int64_t oh0, oh1;
    pool_outputs_covering(h, p.KH, p.SH, p.pad_top, p.OH, oh0, oh1);
    float* __restrict g = dx + h * row;
    if (oh0 == prev0 && oh1 == prev1) {
      std::memcpy(g, g - row, sizeof(float) * row);
      continue;
    }
    prev0 = oh0;
    prev1 = oh1;
    for (int64_t j = 0; j < orow; ++j) drow[j] = 0.0f;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      int64_t h0, h1, w0, w1;
      pool_window(p, oh, 0, h0, h1, w0, w1);
      const float inv = 1.0f / static_cast<float>(h1 - h0);
      const float* __restrict d = dy + oh * orow;
      for (int64_t j = 0; j < orow; ++j) drow[j] += d[j] * inv;
    }
    for (int64_t j = 0; j < orow; ++j) drow[j] *= inv_w[j];
    apply<V>(t, drow, g);
  }
}

using ForwardImage = void (*)(const PoolArgs&, const PixelGather&, const float*, float*, float*);
using BackwardImage = void (*)(const PoolArgs&, const PixelGather&, const float*, const float*, float*, float*);

void fwd_generic(const PoolArgs& p, const PixelGather& t, const float* x, float* y, float* s) {
  forward_image<1>(p, t, x, y, s);
}
void bwd_generic(const PoolArgs& p, const PixelGather& t, const float* iw, const float* dy, float* dx, float* s) {
  backward_image<1>(p, t, iw, dy, dx, s);
}
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void fwd_avx2(const PoolArgs& p, const PixelGather& t, const float* x, float* y, float* s) {
  forward_image<8>(p, t, x, y, s);
}
SINAPSE_TARGET_AVX2 void bwd_avx2(const PoolArgs& p, const PixelGather& t, const float* iw, const float* dy, float* dx,
                                  float* s) {
  backward_image<8>(p, t, iw, dy, dx, s);
}
SINAPSE_TARGET_AVX512 void fwd_avx512(const PoolArgs& p, const PixelGather& t, const float* x, float* y, float* s) {
  forward_image<16>(p, t, x, y, s);
}
SINAPSE_TARGET_AVX512 void bwd_avx512(const PoolArgs& p, const PixelGather& t, const float* iw, const float* dy,
                                      float* dx, float* s) {
  backward_image<16>(p, t, iw, dy, dx, s);
}
#endif

// Runs image(n, scratch) for every image, images split over threads, each thread with its own
// scratch row of `floats` (+ the permutes' overread, zeroed), allocated here on the calling
// thread (a failed allocation throws here, never inside the parallel region).
template <class Image>
void over_images(const PoolArgs& p, int64_t floats, int max_threads, Image image) {
  const int nt = std::min<int>(
      threads_for(static_cast<double>(p.N) * p.H * p.W * p.C, grain::kElementwise, std::max(1, max_threads)),
      static_cast<int>(std::max<int64_t>(p.N, 1)));
  const int64_t per_thread = (floats + 2 * kMaxV + 15) / 16 * 16;
  thread_local AlignedBuffer scratch;
  float* all = scratch.floats(static_cast<size_t>(nt * per_thread));
  std::fill(all, all + nt * per_thread, 0.0f);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#ifdef _OPENMP
    float* mine = all + omp_get_thread_num() * per_thread;
#else
    float* mine = all;
#endif
#pragma omp for schedule(static)
    for (int64_t n = 0; n < p.N; ++n) image(n, mine);
  }
}

}  // namespace

void avg_pool2d_forward_small_c(const PoolArgs& p, const float* x, float* y, SimdPath path, int max_threads) {
  const PixelGather t = forward_table(p, path);
  const ForwardImage f = pick_simd(path, SINAPSE_SIMD_VERSIONS(fwd_generic, fwd_avx2, fwd_avx512));
  over_images(p, p.W * p.C, max_threads,
              [&](int64_t n, float* rowsum) { f(p, t, x + n * p.H * p.W * p.C, y + n * p.OH * p.OW * p.C, rowsum); });
}

void avg_pool2d_backward_small_c(const PoolArgs& p, const float* dy, float* dx, SimdPath path, int max_threads) {
  const PixelGather t = backward_table(p, path);
  std::vector<float> inv_w(static_cast<size_t>(p.OW * p.C));  // 1 / the columns of each output's window
  for (int64_t ow = 0; ow < p.OW; ++ow) {
    int64_t h0, h1, w0, w1;
    pool_window(p, 0, ow, h0, h1, w0, w1);
    std::fill(inv_w.begin() + ow * p.C, inv_w.begin() + (ow + 1) * p.C, 1.0f / static_cast<float>(w1 - w0));
  }
  const BackwardImage f = pick_simd(path, SINAPSE_SIMD_VERSIONS(bwd_generic, bwd_avx2, bwd_avx512));
  over_images(p, p.OW * p.C, max_threads, [&](int64_t n, float* drow) {
    f(p, t, inv_w.data(), dy + n * p.OH * p.OW * p.C, dx + n * p.H * p.W * p.C, drow);
  });
}

}  // namespace sinapse::cpu
