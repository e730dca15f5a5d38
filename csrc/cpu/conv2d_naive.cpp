// The "naive" conv2d variant: the definition, written as loops. One output (or gradient)
// element at a time, no workspace, no SIMD, no threads — the baseline the tuned variant
// (im2col + GEMM, direct kernels) is measured against in coursework:
//   SINAPSE_CONV2D=naive python -m bench conv2d --quick
#include <algorithm>

#include "conv2d.h"

namespace sinapse::cpu {

namespace {
// The input pixel tap (i, j) of output (oh, ow) reads, or false when it falls in the padding.
bool tap(const ConvArgs& a, int64_t oh, int64_t ow, int64_t i, int64_t j, int64_t& h, int64_t& w) {
  h = oh * a.SH - a.pad_top + i * a.DH;
  w = ow * a.SW - a.pad_left + j * a.DW;
  return h >= 0 && h < a.H && w >= 0 && w < a.W;
}
}  // namespace

void conv2d_forward_naive(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                          float* y) {
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow)
        for (int64_t k = 0; k < a.K; ++k) {
          float sum = bias ? bias[k] : 0.0f;
          for (int64_t i = 0; i < a.KH; ++i)
            for (int64_t j = 0; j < a.KW; ++j) {
              int64_t h, wc;
              // Padding is a zero that is multiplied, as in the tuned kernels: 0 * inf = NaN (IEEE).
              const bool in = tap(a, oh, ow, i, j, h, wc);
              for (int64_t c = 0; c < a.C; ++c)
                sum += (in ? x[((n * a.H + h) * a.W + wc) * a.C + c] : 0.0f) * w[((i * a.KW + j) * a.C + c) * a.K + k];
            }
          y[((n * a.OH + oh) * a.OW + ow) * a.K + k] = activate(sum, act);
        }
}

void conv2d_backward_naive(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                           float* db) {
  if (dx) std::fill(dx, dx + a.N * a.H * a.W * a.C, 0.0f);
  if (dw) std::fill(dw, dw + a.KH * a.KW * a.C * a.K, 0.0f);
  if (db) std::fill(db, db + a.K, 0.0f);
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow)
        for (int64_t k = 0; k < a.K; ++k) {
          const float g = dy[((n * a.OH + oh) * a.OW + ow) * a.K + k];
          if (db) db[k] += g;
          for (int64_t i = 0; i < a.KH; ++i)
            for (int64_t j = 0; j < a.KW; ++j) {
              int64_t h, wc;
              const bool in = tap(a, oh, ow, i, j, h, wc);  // padding: a multiplied zero, as the forward
              for (int64_t c = 0; c < a.C; ++c) {
                const int64_t xi = ((n * a.H + h) * a.W + wc) * a.C + c, wi = ((i * a.KW + j) * a.C + c) * a.K + k;
                if (dx && in) dx[xi] += g * w[wi];
                if (dw) dw[wi] += g * (in ? x[xi] : 0.0f);
              }
            }
        }
}

}  // namespace sinapse::cpu
