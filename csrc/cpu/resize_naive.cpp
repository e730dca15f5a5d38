// The `naive` variant of resize: the definition as loops, one thread, no SIMD dispatch. The
// forward reads each output element's (up to 2 x 2) taps; the backward gathers, per input
// element, weight_y * weight_x * dy over the outputs that can read it (resize_outputs_reading:
// a short superset, the zero weights skipped) — the CUDA kernels' formulation.
#include "resize.h"

namespace sinapse::cpu {

void resize_forward_naive(const ResizeArgs& a, const float* x, float* y) {
  const bool bilinear = a.bilinear != 0;
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t o = 0; o < a.OH; ++o) {
      const ResizeTap ty = resize_tap(o, a.H, a.OH, bilinear);
      for (int64_t p = 0; p < a.OW; ++p) {
        const ResizeTap tx = resize_tap(p, a.W, a.OW, bilinear);
        const float* x0 = x + (n * a.H + ty.i0) * a.W * a.C;
        const float* x1 = x + (n * a.H + ty.i1) * a.W * a.C;
        float* yp = y + ((n * a.OH + o) * a.OW + p) * a.C;
        for (int64_t c = 0; c < a.C; ++c) {
          const float top = resize_lerp(x0[tx.i0 * a.C + c], x0[tx.i1 * a.C + c], tx.w1);
          const float bottom = resize_lerp(x1[tx.i0 * a.C + c], x1[tx.i1 * a.C + c], tx.w1);
          yp[c] = resize_lerp(top, bottom, ty.w1);
        }
      }
    }
}

void resize_backward_naive(const ResizeArgs& a, const float* dy, float* dx) {
  const bool bilinear = a.bilinear != 0;
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t h = 0; h < a.H; ++h)
      for (int64_t j = 0; j < a.W; ++j) {
        int64_t o0, o1, p0, p1;
        resize_outputs_reading(h, a.H, a.OH, o0, o1);
        resize_outputs_reading(j, a.W, a.OW, p0, p1);
        float* dp = dx + ((n * a.H + h) * a.W + j) * a.C;
        for (int64_t c = 0; c < a.C; ++c) dp[c] = 0.0f;
        for (int64_t o = o0; o < o1; ++o) {
          const float wy = resize_tap_weight(resize_tap(o, a.H, a.OH, bilinear), h);
          if (wy == 0.0f) continue;
          for (int64_t p = p0; p < p1; ++p) {
            const float wx = resize_tap_weight(resize_tap(p, a.W, a.OW, bilinear), j);
            if (wx == 0.0f) continue;
            const float* g = dy + ((n * a.OH + o) * a.OW + p) * a.C;
            for (int64_t c = 0; c < a.C; ++c) dp[c] += wy * wx * g[c];
          }
        }
      }
}

}  // namespace sinapse::cpu
