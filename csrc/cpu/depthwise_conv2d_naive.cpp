// The naive variant: the definition of a grouped convolution as loops, one thread, no SIMD
// (the coursework baseline the tuned kernels are measured against).
#include <algorithm>

#include "depthwise_conv2d.h"

namespace sinapse::cpu {

namespace {
// Calls visit(x index, w index, y index) for every multiply-add of the convolution.
template <class Visit>
void each_tap(const DepthwiseArgs& d, Visit visit) {
  const ConvArgs& a = d.c;
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow)
        for (int64_t k = 0; k < a.K; ++k) {
          const int64_t group = k / d.KG, yi = ((n * a.OH + oh) * a.OW + ow) * a.K + k;
          for (int64_t kh = 0; kh < a.KH; ++kh) {
            const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH;
            if (ih < 0 || ih >= a.H) continue;
            for (int64_t kw = 0; kw < a.KW; ++kw) {
              const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
              if (iw < 0 || iw >= a.W) continue;
              for (int64_t i = 0; i < d.CG; ++i)
                visit(((n * a.H + ih) * a.W + iw) * a.C + group * d.CG + i, ((kh * a.KW + kw) * d.CG + i) * a.K + k,
                      yi);
            }
          }
        }
}
}  // namespace

void depthwise_conv2d_forward_naive(const DepthwiseArgs& d, const float* x, const float* w, const float* bias,
                                    float* y) {
  const ConvArgs& a = d.c;
  const int64_t pixels = a.N * a.OH * a.OW;
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t k = 0; k < a.K; ++k) y[p * a.K + k] = bias ? bias[k] : 0.0f;
  each_tap(d, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
  depthwise_padding_forward(d, w, y);  // padding taps: 0 * w
}

void depthwise_conv2d_backward_naive(const DepthwiseArgs& d, const float* x, const float* w, const float* dy, float* dx,
                                     float* dw, float* db) {
  const ConvArgs& a = d.c;
  if (dx) std::fill(dx, dx + a.N * a.H * a.W * a.C, 0.0f);
  if (dw) std::fill(dw, dw + a.KH * a.KW * d.CG * a.K, 0.0f);
  if (dx || dw)
    each_tap(d, [&](int64_t xi, int64_t wi, int64_t yi) {
      if (dx) dx[xi] += dy[yi] * w[wi];
      if (dw) dw[wi] += x[xi] * dy[yi];
    });
  if (dw) depthwise_padding_dw(d, dy, dw);  // padding taps: 0 * dy
  if (db) {
    std::fill(db, db + a.K, 0.0f);
    const int64_t pixels = a.N * a.OH * a.OW;
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t k = 0; k < a.K; ++k) db[k] += dy[p * a.K + k];
  }
}

}  // namespace sinapse::cpu
