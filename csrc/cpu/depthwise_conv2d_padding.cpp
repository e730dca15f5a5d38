// Padding as a multiplied zero (conv2d's rule, TF's and PyTorch's: docs/reliability.md): a tap
// that falls on the padding adds 0 * w to its output and 0 * dy to its weight's gradient. The
// kernels skip those taps; 0 * v is 0 for a finite v, so only a non-finite weight (forward) or
// dy (dW) changes anything, and these passes run only when one is there: they add the NaNs
// (0 * inf) the skipped taps would have added. dx has no such term (padding has no gradient).
#include "depthwise_conv2d.h"

namespace sinapse::cpu {

namespace {
// Calls visit(p, tap) for every output pixel p (n, oh, ow flattened) and kernel tap
// (kh * KW + kw) that lands on the padding.
template <class Visit>
void each_padding_tap(const ConvArgs& a, Visit visit) {
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow)
        for (int64_t kh = 0; kh < a.KH; ++kh) {
          const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH;
          for (int64_t kw = 0; kw < a.KW; ++kw) {
            const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
            if (ih < 0 || ih >= a.H || iw < 0 || iw >= a.W) visit((n * a.OH + oh) * a.OW + ow, kh * a.KW + kw);
          }
        }
}
}  // namespace

// 0 * v is 0 for a finite v and NaN for inf or NaN: the lanes of s stay 0 until a non-finite
// value passes (Vec16 lanes: a vectorised pass).
bool all_finite(const float* p, int64_t n) {
  Vec16 s{};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) s += load16(p + i) * 0.0f;
  float tail = 0.0f;
  for (; i < n; ++i) tail += p[i] * 0.0f;
  for (int64_t c = 0; c < 16; ++c) tail += s[c];
  return tail == 0.0f;
}

// Whether every output's window has a tap inside the image (always, unless the padding is wider
// than the dilated kernel, or the dilation steps over the image).
bool windows_meet_image(const ConvArgs& a) {
  auto meets = [](int64_t out, int64_t taps, int64_t stride, int64_t dilation, int64_t pad, int64_t size) {
    for (int64_t o = 0; o < out; ++o) {
      bool any = false;
      for (int64_t t = 0; t < taps && !any; ++t) {
        const int64_t i = o * stride - pad + t * dilation;
        any = i >= 0 && i < size;
      }
      if (!any) return false;
    }
    return true;
  };
  return meets(a.OH, a.KH, a.SH, a.DH, a.pad_top, a.H) && meets(a.OW, a.KW, a.SW, a.DW, a.pad_left, a.W);
}

void depthwise_padding_forward(const DepthwiseArgs& d, const float* w, float* y) {
  const ConvArgs& a = d.c;
  each_padding_tap(a, [&](int64_t p, int64_t tap) {
    for (int64_t k = 0; k < a.K; ++k)
      for (int64_t i = 0; i < d.CG; ++i) y[p * a.K + k] += 0.0f * w[(tap * d.CG + i) * a.K + k];
  });
}

void depthwise_padding_dw(const DepthwiseArgs& d, const float* dy, float* dw) {
  const ConvArgs& a = d.c;
  each_padding_tap(a, [&](int64_t p, int64_t tap) {
    for (int64_t i = 0; i < d.CG; ++i)
      for (int64_t k = 0; k < a.K; ++k) dw[(tap * d.CG + i) * a.K + k] += 0.0f * dy[p * a.K + k];
  });
}

}  // namespace sinapse::cpu
