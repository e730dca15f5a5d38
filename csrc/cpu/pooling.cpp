// Loops run over output (or input) rows in parallel; the innermost loop walks the channels,
// contiguous in NHWC, so it vectorises.
#include "pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/threading.h"

namespace sinapse::cpu {

namespace {

constexpr double kMinWorkPerThread = 32768;

int threads(const PoolArgs& p, int64_t work_per_elem, int max_threads) {
  return std::min(max_threads, threads_for(static_cast<double>(p.N) * p.OH * p.OW * p.C * work_per_elem,
                                           kMinWorkPerThread));
}

const float* pixel(const PoolArgs& p, const float* x, int64_t n, int64_t h, int64_t w) {
  return x + ((n * p.H + h) * p.W + w) * p.C;
}

}  // namespace

void max_pool_forward(const PoolArgs& p, const float* x, float* y, int max_threads) {
  const int nt = threads(p, p.KH * p.KW, max_threads);
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ++ow) {
        int64_t h0, h1, w0, w1;
        pool_window(p, oh, ow, h0, h1, w0, w1);
        float* out = y + ((n * p.OH + oh) * p.OW + ow) * p.C;
        std::copy(pixel(p, x, n, h0, w0), pixel(p, x, n, h0, w0) + p.C, out);  // first pixel of the window
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float* v = pixel(p, x, n, h, w);
            for (int64_t c = 0; c < p.C; ++c) out[c] = v[c] > out[c] ? v[c] : out[c];  // strict: first wins
          }
      }
}

void max_pool_backward(const PoolArgs& p, const float* x, const float* dy, float* dx, int max_threads) {
  // Per image: find each window's argmax per channel once (the forward's rule), then add
  // its dy there. Windows are visited in increasing (oh, ow) order, so every input pixel
  // receives its contributions in the same order as the CUDA kernel's gather: same bits.
  const int nt = std::min<int>(threads(p, p.KH * p.KW, max_threads), static_cast<int>(std::max<int64_t>(p.N, 1)));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    std::vector<float> best(p.C);
    std::vector<int64_t> arg(p.C);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < p.N; ++n) {
      float* dxn = dx + n * p.H * p.W * p.C;
      std::fill(dxn, dxn + p.H * p.W * p.C, 0.0f);
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow) {
          int64_t h0, h1, w0, w1;
          pool_window(p, oh, ow, h0, h1, w0, w1);
          const float* first = pixel(p, x, n, h0, w0);
          std::copy(first, first + p.C, best.begin());
          std::fill(arg.begin(), arg.end(), h0 * p.W + w0);
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              const float* v = pixel(p, x, n, h, w);
              for (int64_t c = 0; c < p.C; ++c)
                if (v[c] > best[c]) {  // strict: the first of equal maxima keeps it
                  best[c] = v[c];
                  arg[c] = h * p.W + w;
                }
            }
          const float* d = dy + ((n * p.OH + oh) * p.OW + ow) * p.C;
          for (int64_t c = 0; c < p.C; ++c) dxn[arg[c] * p.C + c] += d[c];
        }
    }
  }
}

void avg_pool_forward(const PoolArgs& p, const float* x, float* y, int max_threads) {
  const int nt = threads(p, p.KH * p.KW, max_threads);
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oh = 0; oh < p.OH; ++oh)
      for (int64_t ow = 0; ow < p.OW; ++ow) {
        int64_t h0, h1, w0, w1;
        pool_window(p, oh, ow, h0, h1, w0, w1);
        float* out = y + ((n * p.OH + oh) * p.OW + ow) * p.C;
        std::fill(out, out + p.C, 0.0f);
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const float* v = pixel(p, x, n, h, w);
            for (int64_t c = 0; c < p.C; ++c) out[c] += v[c];
          }
        const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t c = 0; c < p.C; ++c) out[c] *= inv;
      }
}

void avg_pool_backward(const PoolArgs& p, const float* dy, float* dx, int max_threads) {
  const int nt = threads(p, p.KH * p.KW, max_threads);
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t w = 0; w < p.W; ++w) {
        int64_t oh0, oh1, ow0, ow1;
        pool_outputs_covering(h, p.KH, p.SH, p.pad_top, p.OH, oh0, oh1);
        pool_outputs_covering(w, p.KW, p.SW, p.pad_left, p.OW, ow0, ow1);
        float* g = dx + ((n * p.H + h) * p.W + w) * p.C;
        std::fill(g, g + p.C, 0.0f);
        for (int64_t oh = oh0; oh < oh1; ++oh)
          for (int64_t ow = ow0; ow < ow1; ++ow) {
            int64_t h0, h1, w0, w1;
            pool_window(p, oh, ow, h0, h1, w0, w1);
            const float inv = 1.0f / static_cast<float>((h1 - h0) * (w1 - w0));
            const float* d = dy + ((n * p.OH + oh) * p.OW + ow) * p.C;
            for (int64_t c = 0; c < p.C; ++c) g[c] += d[c] * inv;
          }
      }
}

}  // namespace sinapse::cpu
