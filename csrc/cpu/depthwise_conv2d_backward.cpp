// The tuned backward: dx gathered per input row (each input pixel sums the taps that read
// it, no scatter), dW and db reduced deterministically over fixed chunks of output rows.
#include <algorithm>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "depthwise_conv2d.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int64_t kVec = 16;  // channels per register block

// The output index o with o * stride + tap == i + pad, or -1 when there is none in [0, out).
[[gnu::always_inline]] inline int64_t source(int64_t i, int64_t pad, int64_t tap, int64_t stride, int64_t out) {
  const int64_t t = i + pad - tap;
  if (t < 0 || t % stride) return -1;
  return t / stride < out ? t / stride : -1;
}

// dx of input row (n, ih), channel-wise groups: blocks of 16 channels, a register accumulator per pixel.
[[gnu::always_inline]] inline void dx_channelwise_row(const ConvArgs& a, const float* __restrict w,
                                                      const float* __restrict dy_img, float* __restrict dx_row,
                                                      int64_t ih) {
  for (int64_t c0 = 0; c0 < a.K; c0 += kVec) {
    const int64_t cb = std::min(kVec, a.K - c0);
    auto pixel = [&](int64_t iw, int64_t width) SINAPSE_INLINE {
      float acc[kVec] = {};
      for (int64_t kh = 0; kh < a.KH; ++kh) {
        const int64_t oh = source(ih, a.pad_top, kh * a.DH, a.SH, a.OH);
        if (oh < 0) continue;
        for (int64_t kw = 0; kw < a.KW; ++kw) {
          const int64_t ow = source(iw, a.pad_left, kw * a.DW, a.SW, a.OW);
          if (ow < 0) continue;
          const float* __restrict g = dy_img + (oh * a.OW + ow) * a.K + c0;
          const float* __restrict wv = w + (kh * a.KW + kw) * a.K + c0;
          for (int64_t c = 0; c < width; ++c) acc[c] += g[c] * wv[c];
        }
      }
      for (int64_t c = 0; c < width; ++c) dx_row[iw * a.C + c0 + c] = acc[c];
    };
    for (int64_t iw = 0; iw < a.W; ++iw) {
      if (cb == kVec)
        pixel(iw, kVec);
      else
        pixel(iw, cb);
    }
  }
}

// dx of input row (n, ih), any groups: per pixel and input channel, the dot product of dy's
// group channels with the weights' row of that channel.
[[gnu::always_inline]] inline void dx_grouped_row(const DepthwiseArgs& d, const float* __restrict w,
                                                  const float* __restrict dy_img, float* __restrict dx_row,
                                                  int64_t ih) {
  const ConvArgs& a = d.c;
  for (int64_t iw = 0; iw < a.W; ++iw) {
    float* __restrict dxp = dx_row + iw * a.C;
    for (int64_t c = 0; c < a.C; ++c) dxp[c] = 0.0f;
    for (int64_t kh = 0; kh < a.KH; ++kh) {
      const int64_t oh = source(ih, a.pad_top, kh * a.DH, a.SH, a.OH);
      if (oh < 0) continue;
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const int64_t ow = source(iw, a.pad_left, kw * a.DW, a.SW, a.OW);
        if (ow < 0) continue;
        const float* __restrict g = dy_img + (oh * a.OW + ow) * a.K;
        const float* __restrict wp = w + (kh * a.KW + kw) * d.CG * a.K;
        for (int64_t grp = 0; grp < d.G; ++grp)
          for (int64_t i = 0; i < d.CG; ++i) {
            const float* __restrict wr = wp + i * a.K + grp * d.KG;
            const float* __restrict gr = g + grp * d.KG;
            float s = 0.0f;
            for (int64_t j = 0; j < d.KG; ++j) s += gr[j] * wr[j];
            dxp[grp * d.CG + i] += s;
          }
      }
    }
  }
}

// dW of one kernel row of a 3-wide, stride-1, dilation-1 channel-wise layer, for 16 channels:
// one walk along the output row with three register accumulators (one per tap), each dy
// vector loaded once for the three taps; the interior [in_lo, in_hi) without bounds tests.
[[gnu::always_inline]] inline void dw_three_taps(const ConvArgs& a, const float* __restrict x_row,
                                                 const float* __restrict dy_row, float* __restrict out, int64_t in_lo,
                                                 int64_t in_hi) {
  Vec16 acc0{}, acc1{}, acc2{};
  auto border = [&](int64_t ow) SINAPSE_INLINE {
    const Vec16 g = load16(dy_row + ow * a.K);
    const int64_t iw = ow - a.pad_left;
    const float* __restrict xv = x_row + iw * a.C;
    if (iw >= 0 && iw < a.W) acc0 += load16(xv) * g;
    if (iw + 1 >= 0 && iw + 1 < a.W) acc1 += load16(xv + a.C) * g;
    if (iw + 2 >= 0 && iw + 2 < a.W) acc2 += load16(xv + 2 * a.C) * g;
  };
  int64_t ow = 0;
  for (; ow < in_lo; ++ow) border(ow);
  for (; ow < in_hi; ++ow) {
    const Vec16 g = load16(dy_row + ow * a.K);
    const float* __restrict xv = x_row + (ow - a.pad_left) * a.C;
    acc0 += load16(xv) * g;
    acc1 += load16(xv + a.C) * g;
    acc2 += load16(xv + 2 * a.C) * g;
  }
  for (; ow < a.OW; ++ow) border(ow);
  store16(out, load16(out) + acc0);
  store16(out + a.K, load16(out + a.K) + acc1);
  store16(out + 2 * a.K, load16(out + 2 * a.K) + acc2);
}

// Adds output row (n, oh)'s contribution to dW (`pw`, may be null) and db (`pb`, may be
// null), channel-wise groups: per tap, a register accumulator over the row's valid columns.
[[gnu::always_inline]] inline void dw_channelwise_row(const ConvArgs& a, const float* __restrict x_img,
                                                      const float* __restrict dy_row, float* __restrict pw,
                                                      float* __restrict pb, int64_t oh) {
  const bool three = a.KW == 3 && a.SW == 1 && a.DW == 1;  // MobileNet's 3x3 stride-1 rows
  int64_t in_lo, in_hi;
  interior_columns(a, in_lo, in_hi);
  for (int64_t c0 = 0; c0 < a.K; c0 += kVec) {
    const int64_t cb = std::min(kVec, a.K - c0);
    auto block = [&](int64_t width) SINAPSE_INLINE {
      if (pb) {
        float acc[kVec] = {};
        for (int64_t ow = 0; ow < a.OW; ++ow)
          for (int64_t c = 0; c < width; ++c) acc[c] += dy_row[ow * a.K + c0 + c];
        for (int64_t c = 0; c < width; ++c) pb[c0 + c] += acc[c];
      }
      if (!pw) return;
      for (int64_t kh = 0; kh < a.KH; ++kh) {
        const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH;
        if (ih < 0 || ih >= a.H) continue;
        const float* __restrict x_row = x_img + ih * a.W * a.C + c0;
        if (three && width == kVec) {  // one walk along the row for the kernel row's three taps
          dw_three_taps(a, x_row, dy_row + c0, pw + kh * 3 * a.K + c0, in_lo, in_hi);
          continue;
        }
        for (int64_t kw = 0; kw < a.KW; ++kw) {
          int64_t lo, hi;
          valid_outputs(a.pad_left, kw * a.DW, a.SW, a.W, a.OW, lo, hi);
          float acc[kVec] = {};
          for (int64_t ow = lo; ow < hi; ++ow) {
            const float* __restrict xv = x_row + (ow * a.SW - a.pad_left + kw * a.DW) * a.C;
            const float* __restrict g = dy_row + ow * a.K + c0;
            for (int64_t c = 0; c < width; ++c) acc[c] += xv[c] * g[c];
          }
          float* __restrict out = pw + (kh * a.KW + kw) * a.K + c0;
          for (int64_t c = 0; c < width; ++c) out[c] += acc[c];
        }
      }
    };
    if (cb == kVec)
      block(kVec);
    else
      block(cb);
  }
}

// The same for any groups: per output pixel, tap and input channel, a row of the group's
// output channels.
[[gnu::always_inline]] inline void dw_grouped_row(const DepthwiseArgs& d, const float* __restrict x_img,
                                                  const float* __restrict dy_row, float* __restrict pw,
                                                  float* __restrict pb, int64_t oh) {
  const ConvArgs& a = d.c;
  for (int64_t ow = 0; ow < a.OW; ++ow) {
    const float* __restrict g = dy_row + ow * a.K;
    if (pb)
      for (int64_t k = 0; k < a.K; ++k) pb[k] += g[k];
    if (!pw) continue;
    for (int64_t kh = 0; kh < a.KH; ++kh) {
      const int64_t ih = oh * a.SH - a.pad_top + kh * a.DH;
      if (ih < 0 || ih >= a.H) continue;
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
        if (iw < 0 || iw >= a.W) continue;
        const float* __restrict xp = x_img + (ih * a.W + iw) * a.C;
        float* __restrict wp = pw + (kh * a.KW + kw) * d.CG * a.K;
        for (int64_t grp = 0; grp < d.G; ++grp)
          for (int64_t i = 0; i < d.CG; ++i) {
            const float xv = xp[grp * d.CG + i];
            float* __restrict wr = wp + i * a.K + grp * d.KG;
            const float* __restrict gr = g + grp * d.KG;
            for (int64_t j = 0; j < d.KG; ++j) wr[j] += xv * gr[j];
          }
      }
    }
  }
}

// How many chunks dW's rows are cut into: a function of the shape only (never of the thread
// count), so the sums are the same bits on every machine; at most 64, and the partials at
// most ~16 MiB.
int64_t dw_chunks(const DepthwiseArgs& d) {
  const ConvArgs& a = d.c;
  const int64_t partial = a.KH * a.KW * d.CG * a.K + a.K;
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{1} << 22) / partial);
  return std::max<int64_t>(1, std::min({a.N * a.OH, int64_t{64}, by_memory}));
}

// dx of a channel-wise layer with unit strides is a forward convolution of dy by the kernel
// turned 180 degrees, with padding (KH - 1) * DH - pad_top (and the same for columns):
// dx[ih] = sum_kh dy[ih + pad_top - kh DH] w[kh] = sum_kh' dy[ih - pad' + kh' DH] w[KH - 1 - kh'].
// So it runs the tuned forward, register blocking included.
void dx_as_forward(const DepthwiseArgs& d, const float* w, const float* dy, float* dx, SimdPath path, int max_threads) {
  const ConvArgs& a = d.c;
  thread_local AlignedBuffer buffer;  // the calling thread's
  float* turned = buffer.floats(static_cast<std::size_t>(a.KH * a.KW * a.K));
  for (int64_t kh = 0; kh < a.KH; ++kh)
    for (int64_t kw = 0; kw < a.KW; ++kw)
      std::copy_n(w + ((a.KH - 1 - kh) * a.KW + (a.KW - 1 - kw)) * a.K, a.K, turned + (kh * a.KW + kw) * a.K);
  DepthwiseArgs t = d;
  t.c.H = a.OH;
  t.c.W = a.OW;
  t.c.OH = a.H;
  t.c.OW = a.W;
  t.c.pad_top = (a.KH - 1) * a.DH - a.pad_top;
  t.c.pad_left = (a.KW - 1) * a.DW - a.pad_left;
  depthwise_conv2d_forward_tuned(t, dy, turned, nullptr, dx, path, max_threads);
}

}  // namespace

void depthwise_conv2d_dx(const DepthwiseArgs& d, const float* w, const float* dy, float* dx, SimdPath path,
                         int max_threads) {
  const ConvArgs& a = d.c;
  if (a.N * a.H * a.W * a.C == 0) return;
  if (d.CG == 1 && d.KG == 1 && a.SH == 1 && a.SW == 1) return dx_as_forward(d, w, dy, dx, path, max_threads);
  const double flops = 2.0 * a.N * a.OH * a.OW * a.K * a.KH * a.KW * d.CG;
  const int nt = threads_for(flops, grain::kFlops, max_threads, a.N * a.H);
  const bool channelwise = d.CG == 1 && d.KG == 1;
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t ih = 0; ih < a.H; ++ih) {
      const float* dy_img = dy + n * a.OH * a.OW * a.K;
      float* dx_row = dx + (n * a.H + ih) * a.W * a.C;
      run_simd(path, [&]() SINAPSE_INLINE {
        if (channelwise)
          dx_channelwise_row(a, w, dy_img, dx_row, ih);
        else
          dx_grouped_row(d, w, dy_img, dx_row, ih);
      });
    }
}

void depthwise_conv2d_dw(const DepthwiseArgs& d, const float* x, const float* dy, float* dw, float* db, SimdPath path,
                         int max_threads) {
  const ConvArgs& a = d.c;
  const int64_t wsize = a.KH * a.KW * d.CG * a.K, rows = a.N * a.OH;
  const int64_t chunks = dw_chunks(d), stride = wsize + a.K;
  thread_local AlignedBuffer buffer;  // the calling thread's, allocated before the parallel region
  float* partials = buffer.floats(static_cast<std::size_t>(chunks * stride));
  const double flops = 2.0 * a.N * a.OH * a.OW * a.K * a.KH * a.KW * d.CG;
  const int nt = threads_for(flops, grain::kFlops, max_threads, chunks);
  const bool channelwise = d.CG == 1 && d.KG == 1;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t r = 0; r < chunks; ++r) {
    float* pw = partials + r * stride;
    std::fill(pw, pw + stride, 0.0f);
    for (int64_t row = rows * r / chunks; row < rows * (r + 1) / chunks; ++row) {
      const int64_t n = row / a.OH, oh = row % a.OH;
      const float* x_img = x + n * a.H * a.W * a.C;
      const float* dy_row = dy + row * a.OW * a.K;
      float *qw = dw ? pw : nullptr, *qb = db ? pw + wsize : nullptr;
      run_simd(path, [&]() SINAPSE_INLINE {
        if (channelwise)
          dw_channelwise_row(a, x_img, dy_row, qw, qb, oh);
        else
          dw_grouped_row(d, x_img, dy_row, qw, qb, oh);
      });
    }
  }
  // The partials in chunk order (each element's sum the same whatever ran the chunks).
  auto reduce = [&](float* out, int64_t offset, int64_t count) {
    run_simd(path, [&]() SINAPSE_INLINE {
      for (int64_t e = 0; e < count; ++e) out[e] = partials[offset + e];
      for (int64_t r = 1; r < chunks; ++r) {
        const float* __restrict p = partials + r * stride + offset;
        for (int64_t e = 0; e < count; ++e) out[e] += p[e];
      }
    });
  };
  if (dw) reduce(dw, 0, wsize);
  if (db) reduce(db, wsize, a.K);
}

}  // namespace sinapse::cpu
