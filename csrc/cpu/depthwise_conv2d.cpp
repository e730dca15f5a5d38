// The tuned forward, and the variant switch of both passes.
//
// Two bodies per output row (n, oh), each compiled per SIMD path by run_simd:
// - channel-wise (one input and one output channel per group: depthwise with multiplier 1,
//   MobileNet's layers): blocks of 16 channels (one AVX-512 vector, two AVX2 ones) times 4
//   output columns held in registers while every tap (kh, kw) is added, so each weight vector
//   loaded serves 4 columns and each output is stored once. The columns whose taps all fall
//   inside the image (the interior) run without bounds tests; the border columns test each tap.
// - grouped (anything else): each output pixel accumulates, per tap and input channel of a
//   group, a row of the group's output channels (vectorised over them).
#include <algorithm>

#include "../common/threading.h"
#include "depthwise_conv2d.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

constexpr int64_t kVec = 16;  // channels per register block
constexpr int64_t kCols = 4;  // output columns per register block

// The kernel rows [kh0, kh1) whose input row oh * SH - pad_top + kh * DH is inside the image.
void valid_taps(const ConvArgs& a, int64_t oh, int64_t& kh0, int64_t& kh1) {
  valid_outputs(a.pad_top - oh * a.SH, 0, a.DH, a.H, a.KH, kh0, kh1);
}

// `cols` (1..kCols) output columns from ow of channels [c0, c0 + cb) of one output row, kernel
// rows [kh0, kh1) (those inside the image); `checked`: test each tap's column (the border).
// The general case (tail channels, borders); channelwise_block below is the hot path.
[[gnu::always_inline]] inline void channelwise_columns(const ConvArgs& a, const float* __restrict x_img,
                                                       const float* __restrict w, const float* __restrict bias,
                                                       float* __restrict y_row, int64_t oh, int64_t kh0, int64_t kh1,
                                                       int64_t ow, int64_t c0, int64_t cb, int64_t cols, bool checked) {
  float acc[kCols][kVec];
  for (int64_t r = 0; r < cols; ++r)
    for (int64_t c = 0; c < cb; ++c) acc[r][c] = bias ? bias[c0 + c] : 0.0f;
  for (int64_t kh = kh0; kh < kh1; ++kh) {
    const float* __restrict x_row = x_img + (oh * a.SH - a.pad_top + kh * a.DH) * a.W * a.C + c0;
    for (int64_t kw = 0; kw < a.KW; ++kw) {
      const float* __restrict wv = w + (kh * a.KW + kw) * a.K + c0;
      for (int64_t r = 0; r < cols; ++r) {
        const int64_t iw = (ow + r) * a.SW - a.pad_left + kw * a.DW;
        if (checked && (iw < 0 || iw >= a.W)) continue;
        const float* __restrict xv = x_row + iw * a.C;
        for (int64_t c = 0; c < cb; ++c) acc[r][c] += xv[c] * wv[c];
      }
    }
  }
  for (int64_t r = 0; r < cols; ++r)
    for (int64_t c = 0; c < cb; ++c) y_row[(ow + r) * a.K + c0 + c] = acc[r][c];
}

// The hot path of channelwise_columns: 16 channels x 4 interior columns, four Vec16
// accumulators, rows [kh0, kh1). kKW > 0: kKW wide, stride and dilation 1 along the row.
template <int64_t kKW>
[[gnu::always_inline]] inline void channelwise_block(const ConvArgs& a, const float* __restrict x_img,
                                                     const float* __restrict w, const float* __restrict bias,
                                                     float* __restrict y_row, int64_t oh, int64_t kh0, int64_t kh1,
                                                     int64_t ow, int64_t c0) {
  const int64_t KW = kKW > 0 ? kKW : a.KW, SW = kKW > 0 ? 1 : a.SW, DW = kKW > 0 ? 1 : a.DW;
  const Vec16 b = bias ? load16(bias + c0) : Vec16{};
  Vec16 a0 = b, a1 = b, a2 = b, a3 = b;
  const int64_t step = SW * a.C;  // from one output column's input to the next's
  for (int64_t kh = kh0; kh < kh1; ++kh) {
    const float* __restrict x_row = x_img + (oh * a.SH - a.pad_top + kh * a.DH) * a.W * a.C + c0;
    for (int64_t kw = 0; kw < KW; ++kw) {
      const Vec16 wv = load16(w + (kh * KW + kw) * a.K + c0);
      const float* __restrict xp = x_row + (ow * SW - a.pad_left + kw * DW) * a.C;
      a0 += load16(xp) * wv;
      a1 += load16(xp + step) * wv;
      a2 += load16(xp + 2 * step) * wv;
      a3 += load16(xp + 3 * step) * wv;
    }
  }
  float* out = y_row + ow * a.K + c0;
  store16(out, a0);
  store16(out + a.K, a1);
  store16(out + 2 * a.K, a2);
  store16(out + 3 * a.K, a3);
}

// One column of 16 channels with each tap's column tested: the image's left and right edges
// and the interior's leftover columns, in one Vec16 accumulator (the float-array path kept them
// in memory: on 14-pixel rows the 2 edge columns of 14 took about a third of the time).
[[gnu::always_inline]] inline void channelwise_edge(const ConvArgs& a, const float* __restrict x_img,
                                                    const float* __restrict w, const float* __restrict bias,
                                                    float* __restrict y_row, int64_t oh, int64_t kh0, int64_t kh1,
                                                    int64_t ow, int64_t c0) {
  Vec16 acc = bias ? load16(bias + c0) : Vec16{};
  for (int64_t kh = kh0; kh < kh1; ++kh) {
    const float* __restrict x_row = x_img + (oh * a.SH - a.pad_top + kh * a.DH) * a.W * a.C + c0;
    for (int64_t kw = 0; kw < a.KW; ++kw) {
      const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
      if (iw < 0 || iw >= a.W) continue;
      acc += load16(x_row + iw * a.C) * load16(w + (kh * a.KW + kw) * a.K + c0);
    }
  }
  store16(y_row + ow * a.K + c0, acc);
}

// One output row, channel-wise. Columns outer, channel blocks inner: the taps of a column
// block read whole input pixels (C contiguous floats) in order, which the prefetcher follows;
// channel blocks outer would stride through the rows C floats at a time.
[[gnu::always_inline]] inline void channelwise_row(const ConvArgs& a, const float* x_img, const float* w,
                                                   const float* bias, float* y_row, int64_t oh, int64_t in_lo,
                                                   int64_t in_hi) {
  int64_t kh0, kh1;
  valid_taps(a, oh, kh0, kh1);
  const bool three = a.KW == 3 && a.SW == 1 && a.DW == 1;  // MobileNet's 3x3 stride-1 rows
  auto columns = [&](int64_t ow, int64_t cols, bool checked) SINAPSE_INLINE {
    for (int64_t c0 = 0; c0 < a.K; c0 += kVec) {
      const int64_t cb = std::min(kVec, a.K - c0);
      if (cb == kVec && cols == kCols && !checked && three)  // the hot path
        channelwise_block<3>(a, x_img, w, bias, y_row, oh, kh0, kh1, ow, c0);
      else if (cb == kVec && cols == kCols && !checked)
        channelwise_block<0>(a, x_img, w, bias, y_row, oh, kh0, kh1, ow, c0);
      else if (cb == kVec && cols == 1)
        channelwise_edge(a, x_img, w, bias, y_row, oh, kh0, kh1, ow, c0);
      else
        channelwise_columns(a, x_img, w, bias, y_row, oh, kh0, kh1, ow, c0, cb, cols, checked);
    }
  };
  int64_t ow = 0;
  for (; ow < in_lo; ++ow) columns(ow, 1, true);
  for (; ow + kCols <= in_hi; ow += kCols) columns(ow, kCols, false);
  for (; ow < in_hi; ++ow) columns(ow, 1, false);
  for (; ow < a.OW; ++ow) columns(ow, 1, true);
}

[[gnu::always_inline]] inline void grouped_row(const DepthwiseArgs& d, const float* __restrict x_img,
                                               const float* __restrict w, const float* __restrict bias,
                                               float* __restrict y_row, int64_t oh) {
  const ConvArgs& a = d.c;
  int64_t kh0, kh1;
  valid_taps(a, oh, kh0, kh1);
  for (int64_t ow = 0; ow < a.OW; ++ow) {
    float* __restrict yp = y_row + ow * a.K;
    for (int64_t k = 0; k < a.K; ++k) yp[k] = bias ? bias[k] : 0.0f;
    for (int64_t kh = kh0; kh < kh1; ++kh)
      for (int64_t kw = 0; kw < a.KW; ++kw) {
        const int64_t iw = ow * a.SW - a.pad_left + kw * a.DW;
        if (iw < 0 || iw >= a.W) continue;
        const float* __restrict xp = x_img + ((oh * a.SH - a.pad_top + kh * a.DH) * a.W + iw) * a.C;
        const float* __restrict wp = w + (kh * a.KW + kw) * d.CG * a.K;
        for (int64_t g = 0; g < d.G; ++g)
          for (int64_t i = 0; i < d.CG; ++i) {
            const float xv = xp[g * d.CG + i];
            const float* __restrict wr = wp + i * a.K + g * d.KG;
            float* __restrict yr = yp + g * d.KG;
            for (int64_t j = 0; j < d.KG; ++j) yr[j] += xv * wr[j];
          }
      }
  }
}

}  // namespace

void depthwise_conv2d_forward(const DepthwiseArgs& d, const float* x, const float* w, const float* bias, float* y,
                              KernelVariant variant, SimdPath path, int max_threads) {
  const ConvArgs& a = d.c;
  if (a.N * a.OH * a.OW * a.K == 0) return;
  if (variant == KernelVariant::naive) return depthwise_conv2d_forward_naive(d, x, w, bias, y);
  depthwise_conv2d_forward_tuned(d, x, w, bias, y, path, max_threads);
  if (!all_finite(w, a.KH * a.KW * d.CG * a.K)) depthwise_padding_forward(d, w, y);
}

void depthwise_conv2d_forward_tuned(const DepthwiseArgs& d, const float* x, const float* w, const float* bias, float* y,
                                    SimdPath path, int max_threads) {
  const ConvArgs& a = d.c;
  if (a.N * a.OH * a.OW * a.K == 0) return;
  const double flops = 2.0 * a.N * a.OH * a.OW * a.K * a.KH * a.KW * d.CG;
  const int nt = threads_for(flops, grain::kFlops, max_threads, a.N * a.OH);
  const bool channelwise = d.CG == 1 && d.KG == 1;
  int64_t in_lo, in_hi;
  interior_columns(a, in_lo, in_hi);
#pragma omp parallel for collapse(2) num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t n = 0; n < a.N; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh) {
      const float* x_img = x + n * a.H * a.W * a.C;
      float* y_row = y + (n * a.OH + oh) * a.OW * a.K;
      run_simd(path, [&]() SINAPSE_INLINE {
        if (channelwise)
          channelwise_row(a, x_img, w, bias, y_row, oh, in_lo, in_hi);
        else
          grouped_row(d, x_img, w, bias, y_row, oh);
      });
    }
}

void depthwise_conv2d_backward(const DepthwiseArgs& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* db, KernelVariant variant, SimdPath path, int max_threads) {
  if (variant == KernelVariant::naive) return depthwise_conv2d_backward_naive(d, x, w, dy, dx, dw, db);
  if (dx) depthwise_conv2d_dx(d, w, dy, dx, path, max_threads);
  if (dw || db) depthwise_conv2d_dw(d, x, dy, dw, db, path, max_threads);
  // A non-finite dy makes its channel's dW non-finite through a tap inside the image (x * inf,
  // or 0 * inf), so a finite dW proves dy finite and the padding terms zero, without a pass over
  // dy (which cost 1.3x on 112x112x32's dW) -- when every window meets the image.
  if (!dw) return;
  const ConvArgs& a = d.c;
  const bool suspect =
      windows_meet_image(a) ? !all_finite(dw, a.KH * a.KW * d.CG * a.K) : !all_finite(dy, a.N * a.OH * a.OW * a.K);
  if (suspect) depthwise_padding_dw(d, dy, dw);
}

}  // namespace sinapse::cpu
