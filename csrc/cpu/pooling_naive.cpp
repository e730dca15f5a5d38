// The "naive" pooling variant: the definition, written as loops. One output (or gradient)
// element at a time, channel innermost but never vectorised across channels, one thread,
// no scratch — the baseline the tuned kernels (pooling.cpp) are measured against:
//   SINAPSE_POOLING=naive python -m bench pooling --quick
// Same rules as the tuned kernels (pooling.h): padding never wins a max, ties and NaNs go
// to the first pixel in row-major window order, averages divide by the real pixels; the
// backward adds each window's contribution in increasing (oh, ow) order. So max pooling
// gives the same bits in both variants; an average may differ in the last bit, where the
// tuned SIMD code fuses a multiply-add (FMA on the AVX paths).
#include <algorithm>

#include "pooling.h"

namespace sinapse::cpu {

namespace {
int64_t in_at(const PoolArgs& p, int64_t n, int64_t h, int64_t w, int64_t c) {
  return ((n * p.H + h) * p.W + w) * p.C + c;
}

// Calls f(n, c, window rows [h0, h1), columns [w0, w1), flat output index) for every output
// element, in NHWC order: the loop nest of the definition, shared by the four kernels.
template <class F>
void each_output(const PoolArgs& p, F f) {
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ++ow)
        for (int64_t c = 0; c < p.C; ++c) {
          int64_t h0, h1, w0, w1;
          pool_window(p, oh, ow, h0, h1, w0, w1);
          f(n, c, h0, h1, w0, w1, ((n * p.OH + oh) * p.OW + ow) * p.C + c);
        }
}
}  // namespace

void max_pool2d_forward_naive(const PoolArgs& p, const float* x, float* y) {
  each_output(p, [&](int64_t n, int64_t c, int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t o) {
    float best = x[in_at(p, n, h0, w0, c)];
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const float v = x[in_at(p, n, h, w, c)];
        if (v > best || v != v) best = v;  // strict: the first of equal maxima; a NaN is kept
      }
    y[o] = best;
  });
}

void max_pool2d_backward_naive(const PoolArgs& p, const float* x, const float* dy, float* dx) {
  std::fill(dx, dx + p.N * p.H * p.W * p.C, 0.0f);
  each_output(p, [&](int64_t n, int64_t c, int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t o) {
    int64_t arg = in_at(p, n, h0, w0, c);  // the window's first maximum (or first NaN)
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const int64_t i = in_at(p, n, h, w, c);
        if (x[i] > x[arg] || (x[i] != x[i] && x[arg] == x[arg])) arg = i;
      }
    dx[arg] += dy[o];
  });
}

void avg_pool2d_forward_naive(const PoolArgs& p, const float* x, float* y) {
  each_output(p, [&](int64_t n, int64_t c, int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t o) {
    float sum = 0.0f;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += x[in_at(p, n, h, w, c)];
    y[o] = sum * (1.0f / static_cast<float>((h1 - h0) * (w1 - w0)));
  });
}

void avg_pool2d_backward_naive(const PoolArgs& p, const float* dy, float* dx) {
  std::fill(dx, dx + p.N * p.H * p.W * p.C, 0.0f);
  each_output(p, [&](int64_t n, int64_t c, int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t o) {
    const float share = dy[o] * (1.0f / static_cast<float>((h1 - h0) * (w1 - w0)));
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) dx[in_at(p, n, h, w, c)] += share;
  });
}

}  // namespace sinapse::cpu
