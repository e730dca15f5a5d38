// The affine transform of the augment family on the CPU: RandomTranslation, RandomRotation,
// RandomZoom and RandomCrop all come here. The forward is a gather: OpenMP over output rows
// of the batch; per row the taps of every pixel are computed first (common/augment_args.h),
// then applied — per pixel over channels (C > 1, contiguous, vectorised) or, for C = 1
// (Fashion-MNIST), as one loop over the row's pixels. The backward is the scatter of the
// same taps, one thread per image (images are independent): deterministic, no atomics.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../common/threading.h"
#include "augment.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

// One output row's taps, structure of arrays: tap t of pixel ox at [t * OW + ox].
struct RowTaps {
  std::vector<int64_t> offset;
  std::vector<float> weight;
  int count = 4;

  [[gnu::always_inline]] inline void compute(const AffineArgs& a, const float* t, int64_t oy) {
    offset.resize(4 * a.OW);
    weight.resize(4 * a.OW);
    AffineTaps taps;
    for (int64_t ox = 0; ox < a.OW; ++ox) {
      affine_taps(a, t, ox, oy, taps);
      count = taps.count;
      for (int k = 0; k < taps.count; ++k) {
        offset[k * a.OW + ox] = taps.offset[k];
        weight[k * a.OW + ox] = taps.weight[k];
      }
    }
  }
};

// Output row oy of image n (C = 1): y[ox] = sum over taps of weight * (pixel or fill).
[[gnu::always_inline]] inline void row_single_channel(const AffineArgs& a, const RowTaps& rt,
                                                      const float* __restrict img, float* __restrict y) {
  const int64_t ow = a.OW;
  const float fill = a.fill_value;
  const int64_t* __restrict off = rt.offset.data();
  const float* __restrict w = rt.weight.data();
  for (int64_t ox = 0; ox < ow; ++ox) y[ox] = w[ox] * (off[ox] >= 0 ? img[off[ox]] : fill);
  for (int k = 1; k < rt.count; ++k)
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t o = off[k * ow + ox];
      y[ox] += w[k * ow + ox] * (o >= 0 ? img[o] : fill);
    }
}

// Output row oy of image n (C > 1): per pixel, the taps' channel vectors blended.
[[gnu::always_inline]] inline void row_channels(const AffineArgs& a, const RowTaps& rt, const float* __restrict img,
                                                float* __restrict y) {
  const int64_t ow = a.OW, C = a.C;
  const float fill = a.fill_value;
  for (int64_t ox = 0; ox < ow; ++ox) {
    float* __restrict out = y + ox * C;
    for (int k = 0; k < rt.count; ++k) {
      const int64_t o = rt.offset[k * ow + ox];
      const float w = rt.weight[k * ow + ox];
      if (o >= 0) {
        const float* __restrict src = img + o * C;
        if (k == 0)
          for (int64_t c = 0; c < C; ++c) out[c] = w * src[c];
        else
          for (int64_t c = 0; c < C; ++c) out[c] += w * src[c];
      } else {
        const float v = w * fill;
        if (k == 0)
          for (int64_t c = 0; c < C; ++c) out[c] = v;
        else
          for (int64_t c = 0; c < C; ++c) out[c] += v;
      }
    }
  }
}

}  // namespace

void affine_transform(const AffineArgs& a, const float* x, const float* transforms, float* y, SimdPath path,
                      int max_threads) {
  const int64_t rows = a.N * a.OH;
  if (rows == 0 || a.OW == 0 || a.C == 0) return;
  const int nthreads = threads_for(static_cast<double>(rows * a.OW * a.C), grain::kHeavyElementwise, max_threads);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    RowTaps rt;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / a.OH, oy = r % a.OH;
      const float* img = x + n * a.H * a.W * a.C;
      float* out = y + r * a.OW * a.C;
      run_simd(path, [&]() SINAPSE_INLINE {
        rt.compute(a, transforms + 8 * n, oy);  // here: floorf/roundf become single instructions
        if (a.C == 1)
          row_single_channel(a, rt, img, out);
        else
          row_channels(a, rt, img, out);
      });
    }
  }
}

void affine_transform_backward(const AffineArgs& a, const float* dy, const float* transforms, float* dx, SimdPath path,
                               int max_threads) {
  const int64_t image = a.H * a.W * a.C, out_image = a.OH * a.OW * a.C;
  if (a.N == 0 || image == 0) return;
  const int nthreads = threads_for(static_cast<double>(a.N * (image + out_image)), grain::kHeavyElementwise,
                                   std::min<int64_t>(max_threads, a.N));
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < a.N; ++n) {
    float* __restrict d = dx + n * image;
    std::memset(d, 0, sizeof(float) * static_cast<size_t>(image));
    const float* g = dy + n * out_image;
    AffineTaps taps;
    run_simd(path, [&]() SINAPSE_INLINE {
      const int64_t C = a.C;
      for (int64_t oy = 0; oy < a.OH; ++oy)
        for (int64_t ox = 0; ox < a.OW; ++ox) {
          affine_taps(a, transforms + 8 * n, ox, oy, taps);
          const float* __restrict src = g + (oy * a.OW + ox) * C;
          for (int k = 0; k < taps.count; ++k) {
            if (taps.offset[k] < 0) continue;  // a fill tap: fill_value does not depend on x
            float* __restrict dst = d + taps.offset[k] * C;
            const float w = taps.weight[k];
            for (int64_t c = 0; c < C; ++c) dst[c] += w * src[c];
          }
        }
    });
  }
}

}  // namespace sinapse::cpu
