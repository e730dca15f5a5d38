// Loops run over output (or input) rows in parallel; the innermost loop walks the channels,
// contiguous in NHWC, so it vectorises. One window walker (walk_window) serves the max
// forward, the max backward's recomputed maximum and the average forward. Fewer than 16
// channels fill too few lanes: the average kernels then vectorise over pixels instead
// (pooling_small_c.cpp).
#include "pooling.h"

#include <algorithm>
#include <cmath>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

int threads(const PoolArgs& p, int64_t work_per_elem, int max_threads) {
  return threads_for(static_cast<double>(p.N) * p.OH * p.OW * p.C * work_per_elem, grain::kElementwise, max_threads);
}

const float* pixel(const PoolArgs& p, const float* x, int64_t n, int64_t h, int64_t w) {
  return x + ((n * p.H + h) * p.W + w) * p.C;
}

// strict: first of equal maxima wins; a NaN is taken and kept (torch.max_pool2d)
[[gnu::always_inline]] inline float max_step(float best, float v) { return (v > best || v != v) ? v : best; }

// The one window walker of the channel-vector kernels: visit(h, w, v) for every pixel (h, w)
// of the window rows [h0, h1) x columns [w0, w1) of image n, in row-major order, v its C
// channels. Each kernel's channel loop is the visitor; inlined into run_simd bodies, so it
// is vectorised per path. The max forward, both passes of the max backward and the average
// forward walk their windows with it.
template <class Visit>
[[gnu::always_inline]] inline void walk_window(const PoolArgs& p, const float* x, int64_t n, int64_t h0, int64_t h1,
                                               int64_t w0, int64_t w1, Visit visit) {
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) visit(h, w, pixel(p, x, n, h, w));
}

// out = the window maximum per channel, starting from the first pixel.
[[gnu::always_inline]] inline void window_max(const PoolArgs& p, const float* x, int64_t n, int64_t h0, int64_t h1,
                                              int64_t w0, int64_t w1, float* __restrict out) {
  walk_window(p, x, n, h0, h1, w0, w1, [&](int64_t, int64_t, const float* __restrict v) SINAPSE_INLINE {
    for (int64_t c = 0; c < p.C; ++c) out[c] = max_step(out[c], v[c]);
  });
}

// Every output row (n, oh) in parallel, body(n, oh) compiled for `path`.
template <class Body>
void over_output_rows(const PoolArgs& p, int nt, SimdPath path, Body body) {
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh) run_simd(path, [&]() SINAPSE_INLINE { body(n, oh); });
}

// Channels too few to fill a vector: the pixel-vectorised average kernels (pooling_small_c.cpp).
constexpr int64_t kSmallChannels = 16;

}  // namespace

void max_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, SimdPath path,
                        int max_threads) {
  if (variant == KernelVariant::naive) return max_pool2d_forward_naive(p, x, y);
  over_output_rows(p, threads(p, p.KH * p.KW, max_threads), path, [&](int64_t n, int64_t oh) SINAPSE_INLINE {
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      int64_t h0, h1, w0, w1;
      pool_window(p, oh, ow, h0, h1, w0, w1);
      float* __restrict out = y + ((n * p.OH + oh) * p.OW + ow) * p.C;
      const float* __restrict first = pixel(p, x, n, h0, w0);
      for (int64_t c = 0; c < p.C; ++c) out[c] = first[c];
      window_max(p, x, n, h0, h1, w0, w1, out);
    }
  });
}

void max_pool2d_backward(const PoolArgs& p, const float* x, const float* dy, float* dx, KernelVariant variant,
                         SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return max_pool2d_backward_naive(p, x, dy, dx);
  // Per window: recompute the maximum per channel (the forward's rule), then walk the window's
  // pixels in row-major order and hand dy to the first pixel equal to it ("taken" marks the
  // channels already served) — ties go to the first maximum in row-major order, as in the
  // forward and the CUDA kernel. Written as compare-and-select over the channel vector, so it
  // vectorises (a scatter through a stored argmax would not). Windows are visited in
  // increasing (oh, ow) order, so every input pixel receives its contributions in the same
  // order as the CUDA kernel's gather: same bits. A NaN anywhere in the window makes the
  // maximum NaN, and the first NaN pixel takes the gradient (np.argmax's rule).
  const bool tiles = p.SH == p.KH && p.SW == p.KW && p.pad_top == 0 && p.pad_left == 0 && p.OH * p.SH == p.H &&
                     p.OW * p.SW == p.W;  // every input pixel in exactly one window: no zero-fill
  const int nt = std::min<int>(threads(p, p.KH * p.KW, max_threads), static_cast<int>(std::max<int64_t>(p.N, 1)));
  // Every thread's two channel vectors, allocated here on the calling thread (grow-only,
  // reused across calls): a failed allocation throws here (MemoryError in Python), never
  // inside the parallel region. Slices padded to 64 bytes: no false sharing between threads.
  const int64_t per_thread = (2 * p.C + 15) / 16 * 16;
  thread_local AlignedBuffer scratch;
  float* base = scratch.floats(static_cast<size_t>(nt * per_thread));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#ifdef _OPENMP
    float* __restrict best = base + omp_get_thread_num() * per_thread;
#else
    float* __restrict best = base;
#endif
    float* __restrict taken = best + p.C;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < p.N; ++n) {
      float* dxn = dx + n * p.H * p.W * p.C;
      if (!tiles) std::fill(dxn, dxn + p.H * p.W * p.C, 0.0f);
      for (int64_t oh = 0; oh < p.OH; ++oh)
        run_simd(path, [&]() SINAPSE_INLINE {
          for (int64_t ow = 0; ow < p.OW; ++ow) {
            int64_t h0, h1, w0, w1;
            pool_window(p, oh, ow, h0, h1, w0, w1);
            const float* __restrict first = pixel(p, x, n, h0, w0);
            for (int64_t c = 0; c < p.C; ++c) {
              best[c] = first[c];
              taken[c] = 0.0f;
            }
            window_max(p, x, n, h0, h1, w0, w1, best);
            const float* __restrict d = dy + ((n * p.OH + oh) * p.OW + ow) * p.C;
            walk_window(p, x, n, h0, h1, w0, w1, [&](int64_t h, int64_t w, const float* __restrict v) SINAPSE_INLINE {
              float* __restrict g = dxn + (h * p.W + w) * p.C;
              for (int64_t c = 0; c < p.C; ++c) {  // branch-free: every load unconditional
                const float vc = v[c], bc = best[c], dc = d[c], tc = taken[c];
                const bool hit = (tc == 0.0f) & ((vc == bc) | (vc != vc));  // NaN max: the first NaN
                const float add = hit ? dc : 0.0f;
                g[c] = tiles ? add : g[c] + add;
                taken[c] = hit ? 1.0f : tc;
              }
            });
          }
        });
    }
  }
}

void avg_pool2d_forward(const PoolArgs& p, const float* x, float* y, KernelVariant variant, SimdPath path,
                        int max_threads) {
  if (variant == KernelVariant::naive) return avg_pool2d_forward_naive(p, x, y);
  if (p.C < kSmallChannels) return avg_pool2d_forward_small_c(p, x, y, path, max_threads);
  over_output_rows(p, threads(p, p.KH * p.KW, max_threads), path, [&](int64_t n, int64_t oh) SINAPSE_INLINE {
    for (int64_t ow = 0; ow < p.OW; ++ow) {
      int64_t h0, h1, w0, w1;
      pool_window(p, oh, ow, h0, h1, w0, w1);
      float* __restrict out = y + ((n * p.OH + oh) * p.OW + ow) * p.C;
      for (int64_t c = 0; c < p.C; ++c) out[c] = 0.0f;
      walk_window(p, x, n, h0, h1, w0, w1, [&](int64_t, int64_t, const float* __restrict v) SINAPSE_INLINE {
        for (int64_t c = 0; c < p.C; ++c) out[c] += v[c];
      });
      const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
      for (int64_t c = 0; c < p.C; ++c) out[c] *= inv;
    }
  });
}

void avg_pool2d_backward(const PoolArgs& p, const float* dy, float* dx, KernelVariant variant, SimdPath path,
                         int max_threads) {
  if (variant == KernelVariant::naive) return avg_pool2d_backward_naive(p, dy, dx);
  if (p.C < kSmallChannels) return avg_pool2d_backward_small_c(p, dy, dx, path, max_threads);
  const int nt = threads(p, p.KH * p.KW, max_threads);
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t h = 0; h < p.H; ++h)
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t w = 0; w < p.W; ++w) {
          int64_t oh0, oh1, ow0, ow1;
          pool_outputs_covering(h, p.KH, p.SH, p.pad_top, p.OH, oh0, oh1);
          pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
          float* __restrict g = dx + ((n * p.H + h) * p.W + w) * p.C;
          for (int64_t c = 0; c < p.C; ++c) g[c] = 0.0f;
          for (int64_t oh = oh0; oh < oh1; ++oh)
            for (int64_t ow = ow0; ow < ow1; ++ow) {
              int64_t h0, h1, w0, w1;
              pool_window(p, oh, ow, h0, h1, w0, w1);
              const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
              const float* __restrict d = dy + ((n * p.OH + oh) * p.OW + ow) * p.C;
              for (int64_t c = 0; c < p.C; ++c) g[c] += d[c] * inv;
            }
        }
      });
}

}  // namespace sinapse::cpu
