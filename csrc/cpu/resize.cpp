// Resize: the taps of every output row and column are computed once per call (O(OH + OW));
// the threads split the output rows (forward) or input rows (backward), and the channel loop
// of each pixel is the vectorised one (NHWC: channels are contiguous). The backward is a
// gather: per axis, the outputs reading each input index and their weights are listed once
// (a CSR table), then every input pixel sums weight_y * weight_x * dy over them.
#include "resize.h"

#include <algorithm>
#include <cstring>
#include <vector>

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

}  // namespace

void resize_forward(const ResizeArgs& a, const float* x, float* y, SimdPath path, int max_threads) {
  const bool bilinear = a.bilinear != 0;
  const std::vector<ResizeTap> ty = taps(a.H, a.OH, bilinear), tx = taps(a.W, a.OW, bilinear);
  const int64_t rows = a.N * a.OH, C = a.C;
  const int nthreads = threads_for(static_cast<double>(rows) * a.OW * C, grain::kElementwise, max_threads, rows);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / a.OH, o = r - n * a.OH;
    const ResizeTap t = ty[o];
    const float* x0 = x + (n * a.H + t.i0) * a.W * C;
    const float* x1 = x + (n * a.H + t.i1) * a.W * C;
    float* yr = y + r * a.OW * C;
    const float wy1 = t.w1, wy0 = 1.0f - t.w1;
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t p = 0; p < a.OW; ++p) {
        const ResizeTap s = tx[p];
        const float wx1 = s.w1, wx0 = 1.0f - s.w1;
        const float *a0 = x0 + s.i0 * C, *a1 = x0 + s.i1 * C, *b0 = x1 + s.i0 * C, *b1 = x1 + s.i1 * C;
        float* __restrict yp = yr + p * C;
        for (int64_t c = 0; c < C; ++c) yp[c] = wy0 * (wx0 * a0[c] + wx1 * a1[c]) + wy1 * (wx0 * b0[c] + wx1 * b1[c]);
      }
    });
  }
}

void resize_backward(const ResizeArgs& a, const float* dy, float* dx, SimdPath path, int max_threads) {
  const bool bilinear = a.bilinear != 0;
  const Readers ry = readers(a.H, a.OH, bilinear), rx = readers(a.W, a.OW, bilinear);
  const int64_t rows = a.N * a.H, C = a.C;
  const double work = static_cast<double>(a.N) * (a.H * a.W + a.OH * a.OW) * C;
  const int nthreads = threads_for(work, grain::kElementwise, max_threads, rows);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / a.H, i = r - n * a.H;
    float* dxr = dx + r * a.W * C;
    std::memset(dxr, 0, sizeof(float) * a.W * C);
    for (int64_t e = ry.start[i]; e < ry.start[i + 1]; ++e) {
      const float* dyr = dy + (n * a.OH + ry.index[e]) * a.OW * C;
      const float wy = ry.weight[e];
      run_simd(path, [&]() SINAPSE_INLINE {
        for (int64_t j = 0; j < a.W; ++j) {
          float* __restrict dp = dxr + j * C;
          for (int64_t f = rx.start[j]; f < rx.start[j + 1]; ++f) {
            const float w = wy * rx.weight[f];
            const float* __restrict g = dyr + rx.index[f] * C;
            for (int64_t c = 0; c < C; ++c) dp[c] += w * g[c];
          }
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
