// Resize: the taps of every output row and column are computed once per call (O(OH + OW));
// the threads split the output rows (forward) or input rows (backward), and the loops over a
// row's W x C floats (NHWC: a pixel's channels are contiguous) are the vectorised ones. Both
// passes work separably, one axis after the other, through one row buffer per thread. The
// backward is a gather: per axis, the outputs reading each input index and their weights are
// listed once (a CSR table), then every input pixel sums weight * dy over them.
#include "resize.h"

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/aligned_buffer.h"

#include "../common/threading.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

std::vector<ResizeTap> taps(int64_t in, int64_t out, bool bilinear) {
  std::vector<ResizeTap> t(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) t[o] = resize_tap(o, in, out, bilinear);
  return t;
}

// For each input index i of one axis: the outputs reading it, entries [start[i], start[i+1]).
struct Readers {
  std::vector<int64_t> start, index;
  std::vector<float> weight;
};

Readers readers(int64_t in, int64_t out, bool bilinear) {
  Readers r;
  r.start.assign(static_cast<size_t>(in) + 1, 0);
  for (int64_t i = 0; i < in; ++i) {
    int64_t o0, o1;
    resize_outputs_reading(i, in, out, o0, o1);
    for (int64_t o = o0; o < o1; ++o) {
      const float w = resize_tap_weight(resize_tap(o, in, out, bilinear), i);
      if (w == 0.0f) continue;
      r.index.push_back(o);
      r.weight.push_back(w);
    }
    r.start[i + 1] = static_cast<int64_t>(r.index.size());
  }
  return r;
}

// Every thread's row of `floats`, allocated on the calling thread (grow-only, reused across
// calls): a failed allocation throws here (MemoryError in Python), never inside the parallel
// region. Slices padded to 64 bytes: no false sharing between threads.
float* thread_rows(int nthreads, int64_t floats, int64_t& per_thread) {
  thread_local AlignedBuffer scratch;
  per_thread = (floats + 15) / 16 * 16;
  return scratch.floats(static_cast<size_t>(std::max(nthreads, 1) * per_thread));
}

float* my_row(float* base, int64_t per_thread) {
#ifdef _OPENMP
  return base + omp_get_thread_num() * per_thread;
#else
  (void)per_thread;
  return base;
#endif
}

// Nearest: every output pixel is a copy of one input pixel's channels.
void nearest_forward(const ResizeArgs& a, const std::vector<ResizeTap>& ty, const std::vector<ResizeTap>& tx,
                     const float* x, float* y, int nthreads) {
  const int64_t rows = a.N * a.OH, C = a.C;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / a.OH, o = r - n * a.OH;
    const float* xr = x + (n * a.H + ty[o].i0) * a.W * C;
    float* yr = y + r * a.OW * C;
    for (int64_t p = 0; p < a.OW; ++p) std::memcpy(yr + p * C, xr + tx[p].i0 * C, sizeof(float) * C);
  }
}

// Bilinear, separably: per output row, the two source rows blended into one (W x C) row, then
// each output pixel blends two pixels of it: 2 (W + OW) multiply-adds per channel instead of
// 6 OW. The blended row lives in a buffer of each thread's own.
void bilinear_forward(const ResizeArgs& a, const std::vector<ResizeTap>& ty, const std::vector<ResizeTap>& tx,
                      const float* x, float* y, SimdPath path, int nthreads) {
  const int64_t rows = a.N * a.OH, C = a.C, WC = a.W * a.C;
  int64_t per_thread = 0;
  float* base = thread_rows(nthreads, WC, per_thread);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    float* __restrict t = my_row(base, per_thread);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / a.OH, o = r - n * a.OH;
      const float* __restrict x0 = x + (n * a.H + ty[o].i0) * WC;
      const float* __restrict x1 = x + (n * a.H + ty[o].i1) * WC;
      float* yr = y + r * a.OW * C;
      const float wy1 = ty[o].w1, wy0 = 1.0f - ty[o].w1;
      // A zero weight is never multiplied (resize_lerp's rule: 0 * inf would be NaN).
      run_simd(path, [&]() SINAPSE_INLINE {
        if (wy1 == 0.0f)
          for (int64_t k = 0; k < WC; ++k) t[k] = x0[k];
        else
          for (int64_t k = 0; k < WC; ++k) t[k] = wy0 * x0[k] + wy1 * x1[k];
        for (int64_t p = 0; p < a.OW; ++p) {
          const float wx1 = tx[p].w1, wx0 = 1.0f - tx[p].w1;
          const float* __restrict a0 = t + tx[p].i0 * C, * __restrict a1 = t + tx[p].i1 * C;
          float* __restrict yp = yr + p * C;
          if (wx1 == 0.0f)
            for (int64_t c = 0; c < C; ++c) yp[c] = a0[c];
          else
            for (int64_t c = 0; c < C; ++c) yp[c] = wx0 * a0[c] + wx1 * a1[c];
        }
      });
    }
  }
}

}  // namespace

void resize_forward(const ResizeArgs& a, const float* x, float* y, KernelVariant variant, SimdPath path,
                    int max_threads) {
  if (variant == KernelVariant::naive) return resize_forward_naive(a, x, y);
  const bool bilinear = a.bilinear != 0;
  const std::vector<ResizeTap> ty = taps(a.H, a.OH, bilinear), tx = taps(a.W, a.OW, bilinear);
  const int64_t rows = a.N * a.OH;
  const double work = static_cast<double>(rows) * a.OW * a.C;
  if (!bilinear) return nearest_forward(a, ty, tx, x, y, threads_for(work, grain::kCopy, max_threads, rows));
  bilinear_forward(a, ty, tx, x, y, path, threads_for(work, grain::kElementwise, max_threads, rows));
}

// The gather, separably: per input row i, the output rows reading it summed (weighted) into
// one (OW x C) row, then each input pixel sums its reading output columns of that row. Each
// dx element has one writer and a fixed order: no atomics, the same bits for any thread count.
void resize_backward(const ResizeArgs& a, const float* dy, float* dx, KernelVariant variant, SimdPath path,
                     int max_threads) {
  if (variant == KernelVariant::naive) return resize_backward_naive(a, dy, dx);
  const bool bilinear = a.bilinear != 0;
  const Readers ry = readers(a.H, a.OH, bilinear), rx = readers(a.W, a.OW, bilinear);
  const int64_t rows = a.N * a.H, C = a.C, OWC = a.OW * a.C;
  const double work = static_cast<double>(a.N) * (a.H * a.W + a.OH * a.OW) * C;
  const int nthreads = threads_for(work, grain::kElementwise, max_threads, rows);
  int64_t per_thread = 0;
  float* base = thread_rows(nthreads, OWC, per_thread);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    float* __restrict t = my_row(base, per_thread);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / a.H, i = r - n * a.H;
      float* dxr = dx + r * a.W * C;
      run_simd(path, [&]() SINAPSE_INLINE {
        // The first reader assigns, the others add (no zeroing pass); no reader: zeros.
        const int64_t e0 = ry.start[i], e1 = ry.start[i + 1];
        for (int64_t e = e0; e < e1; ++e) {
          const float* __restrict g = dy + (n * a.OH + ry.index[e]) * OWC;
          const float wy = ry.weight[e];
          if (e == e0)
            for (int64_t k = 0; k < OWC; ++k) t[k] = wy * g[k];
          else
            for (int64_t k = 0; k < OWC; ++k) t[k] += wy * g[k];
        }
        if (e0 == e1)
          for (int64_t k = 0; k < OWC; ++k) t[k] = 0.0f;
        for (int64_t j = 0; j < a.W; ++j) {
          float* __restrict dp = dxr + j * C;
          const int64_t f0 = rx.start[j], f1 = rx.start[j + 1];
          for (int64_t f = f0; f < f1; ++f) {
            const float w = rx.weight[f];
            const float* __restrict s = t + rx.index[f] * C;
            if (f == f0)
              for (int64_t c = 0; c < C; ++c) dp[c] = w * s[c];
            else
              for (int64_t c = 0; c < C; ++c) dp[c] += w * s[c];
          }
          if (f0 == f1)
            for (int64_t c = 0; c < C; ++c) dp[c] = 0.0f;
        }
      });
    }
  }
}

void crop_forward(const CropArgs& a, const float* x, float* y, int max_threads) {
  const int64_t rows = a.N * a.OH, row = a.OW * a.C;
  const int nthreads = threads_for(static_cast<double>(rows) * row, grain::kCopy, max_threads, rows);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / a.OH, o = r - n * a.OH;
    std::memcpy(y + r * row, x + ((n * a.H + a.top + o) * a.W + a.left) * a.C, sizeof(float) * row);
  }
}

void crop_backward(const CropArgs& a, const float* dy, float* dx, float fill, int max_threads) {
  const int64_t rows = a.N * a.H, row = a.W * a.C, inner = a.OW * a.C;
  const int nthreads = threads_for(static_cast<double>(rows) * row, grain::kCopy, max_threads, rows);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / a.H, i = r - n * a.H;
    float* d = dx + r * row;
    if (i < a.top || i >= a.top + a.OH) {
      std::fill(d, d + row, fill);
      continue;
    }
    std::fill(d, d + a.left * a.C, fill);
    std::memcpy(d + a.left * a.C, dy + (n * a.OH + i - a.top) * inner, sizeof(float) * inner);
    std::fill(d + a.left * a.C + inner, d + row, fill);
  }
}

}  // namespace sinapse::cpu
