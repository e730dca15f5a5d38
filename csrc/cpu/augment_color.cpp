// Flip, contrast and brightness of the augment family on the CPU: per-image parameters,
// OpenMP over images (or image rows), the inner loops contiguous and vectorised.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../common/threading.h"
#include "augment.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

SINAPSE_HD_INLINE float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The mean of each channel of one image (HW rows of C), accumulated in double. One channel
// (Fashion-MNIST) sums 8 interleaved partial sums, so the loop is not one serial chain of adds.
void channel_means(int64_t HW, int64_t C, const float* x, double* mean) {
  std::fill(mean, mean + C, 0.0);
  if (C == 1) {
    double part[8] = {};
    int64_t p = 0;
    for (; p + 8 <= HW; p += 8)
      for (int k = 0; k < 8; ++k) part[k] += x[p + k];
    for (; p < HW; ++p) part[0] += x[p];
    for (int k = 0; k < 8; ++k) mean[0] += part[k];
  } else {
    for (int64_t p = 0; p < HW; ++p)
      for (int64_t c = 0; c < C; ++c) mean[c] += x[p * C + c];
  }
  for (int64_t c = 0; c < C; ++c) mean[c] /= static_cast<double>(HW);
}

}  // namespace

void flip(int64_t N, int64_t H, int64_t W, int64_t C, const uint8_t* hflags, const uint8_t* vflags, const float* x,
          float* y, SimdPath path, int max_threads) {
  const int64_t rows = N * H, row = W * C;
  if (rows == 0 || row == 0) return;
  const int nthreads = threads_for(static_cast<double>(rows * row), grain::kCopy, max_threads);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / H, h = r % H;
    const float* __restrict src = x + (n * H + (vflags[n] ? H - 1 - h : h)) * row;
    float* __restrict dst = y + r * row;
    if (!hflags[n]) {
      std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(row));
      continue;
    }
    run_simd(path, [&]() SINAPSE_INLINE {
      if (C == 1)
        for (int64_t w = 0; w < W; ++w) dst[w] = src[W - 1 - w];
      else
        for (int64_t w = 0; w < W; ++w)
          for (int64_t c = 0; c < C; ++c) dst[w * C + c] = src[(W - 1 - w) * C + c];
    });
  }
}

void adjust_contrast(int64_t N, int64_t HW, int64_t C, const float* x, const float* factors, float lo, float hi,
                     float* y, SimdPath path, int max_threads) {
  if (N == 0 || HW == 0 || C == 0) return;
  const int nthreads =
      threads_for(static_cast<double>(N * HW * C), grain::kElementwise, std::min<int64_t>(max_threads, N));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict xs = x + n * HW * C;
    float* __restrict ys = y + n * HW * C;
    std::vector<double> mean(static_cast<size_t>(C));
    channel_means(HW, C, xs, mean.data());
    std::vector<float> m(mean.begin(), mean.end());
    const float f = factors[n];
    const float* __restrict mp = m.data();
    run_simd(path, [&]() SINAPSE_INLINE {
      if (C == 1) {  // one loop over the pixels (vectorised)
        const float m0 = mp[0];
        for (int64_t p = 0; p < HW; ++p) ys[p] = clip((xs[p] - m0) * f + m0, lo, hi);
      } else {
        for (int64_t p = 0; p < HW; ++p)
          for (int64_t c = 0; c < C; ++c) ys[p * C + c] = clip((xs[p * C + c] - mp[c]) * f + mp[c], lo, hi);
      }
    });
  }
}

void adjust_contrast_backward(int64_t N, int64_t HW, int64_t C, const float* dy, const float* x, const float* factors,
                              float lo, float hi, float* dx, SimdPath path, int max_threads) {
  if (N == 0 || HW == 0 || C == 0) return;
  const int nthreads =
      threads_for(static_cast<double>(3 * N * HW * C), grain::kElementwise, std::min<int64_t>(max_threads, N));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict xs = x + n * HW * C;
    const float* __restrict gs = dy + n * HW * C;
    float* __restrict ds = dx + n * HW * C;
    std::vector<double> mean(static_cast<size_t>(C)), gsum(static_cast<size_t>(C), 0.0);
    channel_means(HW, C, xs, mean.data());
    std::vector<float> m(mean.begin(), mean.end());
    const float f = factors[n];
    // g (dy inside the clip range) goes into dx first; its channel sums give the mean's term.
    for (int64_t p = 0; p < HW; ++p)
      for (int64_t c = 0; c < C; ++c) {
        const float z = (xs[p * C + c] - m[c]) * f + m[c];
        const float g = (z >= lo && z <= hi) ? gs[p * C + c] : 0.0f;
        ds[p * C + c] = g;
        gsum[c] += g;
      }
    std::vector<float> shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c)
      shift[c] = static_cast<float>((1.0 - static_cast<double>(f)) * gsum[c] / static_cast<double>(HW));
    const float* __restrict sp = shift.data();
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t p = 0; p < HW; ++p)
        for (int64_t c = 0; c < C; ++c) ds[p * C + c] = f * ds[p * C + c] + sp[c];
    });
  }
}

void adjust_brightness(int64_t N, int64_t per_image, const float* x, const float* deltas, float lo, float hi, float* y,
                       SimdPath path, int max_threads) {
  if (N == 0 || per_image == 0) return;
  const int nthreads =
      threads_for(static_cast<double>(N * per_image), grain::kElementwise, std::min<int64_t>(max_threads, N));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict xs = x + n * per_image;
    float* __restrict ys = y + n * per_image;
    const float d = deltas[n];
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t i = 0; i < per_image; ++i) ys[i] = clip(xs[i] + d, lo, hi);
    });
  }
}

void adjust_brightness_backward(int64_t N, int64_t per_image, const float* dy, const float* x, const float* deltas,
                                float lo, float hi, float* dx, SimdPath path, int max_threads) {
  if (N == 0 || per_image == 0) return;
  const int nthreads =
      threads_for(static_cast<double>(N * per_image), grain::kElementwise, std::min<int64_t>(max_threads, N));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict xs = x + n * per_image;
    const float* __restrict gs = dy + n * per_image;
    float* __restrict ds = dx + n * per_image;
    const float d = deltas[n];
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t i = 0; i < per_image; ++i) {
        const float z = xs[i] + d;
        ds[i] = (z >= lo && z <= hi) ? gs[i] : 0.0f;
      }
    });
  }
}

}  // namespace sinapse::cpu
