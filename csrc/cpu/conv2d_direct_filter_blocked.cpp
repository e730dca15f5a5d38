// Direct conv2d filter gradient for any channel count: dW[i, j, c, k] =
//   sum over (n, oh, ow) of x[n, oh*SH - pt + i*DH, ow*SW - pl + j*DW, c] * dy[n, oh, ow, k].
//
// Why not im2col + GEMM: im2col writes KH*KW copies of the input before the GEMM reads them
// back. Here each tap (i, j) is a GEMM of its shifted input pixels' channels (C) by the
// pixels' dy (K), reduced over the pixels, read in place from a zero-padded copy of the image.
// Blocking: a CB x KB tile of dW (input channels x output channels) stays in registers while
// all of one image's pixels stream through: per pixel, KB/16 vector loads of dy and CB
// broadcasts of x feed CB*KB/16 FMAs.
//   AVX-512: KB = 32 (16 when K <= 16), CB <= 12: 24 accumulators, 2 loads + 12 broadcasts per
//            24 FMAs.
//   AVX2:    KB = 16, CB <= 6 (12 accumulators).  generic: KB = 16, CB <= 3.
// CB is chosen per layer so C splits into equal blocks. Each thread owns a K-padded dW part,
// laid out [K/KB][KH*KW*C][KB] (a tile's rows are contiguous), for its images; the parts are
// added in thread order at the end (deterministic for a thread count). One image of x and dy
// stays in L2 while every (tap, c-block, k-block) tile passes over it.
#include <algorithm>
#include <cstring>
#include <utility>

#include "../common/aligned_buffer.h"
#include "../common/macros.h"
#include "../common/threading.h"
#include "conv2d_direct.h"
#include "conv2d_rows.h"
#include "simd_run.h"

namespace sinapse::cpu {

namespace {

// Padded-image geometry: rows [0, hp) x columns [0, wp) cover every tap of every output.
struct Padded {
  int64_t hp, wp;
  explicit Padded(const ConvArgs& a)
      : hp(std::max((a.OH - 1) * a.SH + (a.KH - 1) * a.DH + 1, a.pad_top + a.H)),
        wp(std::max((a.OW - 1) * a.SW + (a.KW - 1) * a.DW + 1, a.pad_left + a.W)) {}
};

struct ImageJob {
  const ConvArgs* a;
  const float* img;  // nimg images, zero-padded: hp x wp x C each (img_len floats)
  int64_t wp, img_len, nimg;
  const float* dyi;  // their dy: OH*OW rows of dstride floats (K, or K padded to kb) each
  int64_t dstride;
  float* part;  // this thread's dW part, [kblocks][taps][KB]
  int cb;       // input channels per tile
};

// acc (dW rows c0..c0+CB of tap (i, j), channels [b*KB, b*KB + KB)) += this image's pixels.
template <int CB, int KB>
[[gnu::always_inline]] inline void filter_tile(const ImageJob& jb, int64_t i, int64_t j, int64_t c0, int64_t b) {
  const ConvArgs& a = *jb.a;
  const int64_t taps = a.KH * a.KW * a.C;
  float* __restrict out = jb.part + (b * taps + (i * a.KW + j) * a.C + c0) * KB;
  float acc[CB][KB];
#pragma GCC unroll 16
  for (int r = 0; r < CB; ++r)
#pragma omp simd
    for (int t = 0; t < KB; ++t) acc[r][t] = out[r * KB + t];
  const int64_t step = a.SW * a.C;
  for (int64_t m = 0; m < jb.nimg; ++m)
    for (int64_t oh = 0; oh < a.OH; ++oh) {
      const float* __restrict xs = jb.img + m * jb.img_len + ((oh * a.SH + i * a.DH) * jb.wp + j * a.DW) * a.C + c0;
      const float* __restrict ds = jb.dyi + (m * a.OH + oh) * a.OW * jb.dstride + b * KB;
      for (int64_t ow = 0; ow < a.OW; ++ow, xs += step, ds += jb.dstride) {
#pragma GCC unroll 16
        for (int r = 0; r < CB; ++r) {
          const float xv = xs[r];
#pragma omp simd
          for (int t = 0; t < KB; ++t) acc[r][t] += xv * ds[t];
        }
      }
    }
#pragma GCC unroll 16
  for (int r = 0; r < CB; ++r)
#pragma omp simd
    for (int t = 0; t < KB; ++t) out[r * KB + t] = acc[r][t];
}

template <int KB, int... Cs>
[[gnu::always_inline]] inline void tile_of(int nc, std::integer_sequence<int, Cs...>, const ImageJob& jb, int64_t i,
                                           int64_t j, int64_t c0, int64_t b) {
  (void)((nc == Cs + 1 ? (filter_tile<Cs + 1, KB>(jb, i, j, c0, b), true) : false) || ...);
}

// Every tile of dW over one image.
template <int KB, int kMaxCB>
[[gnu::always_inline]] inline void filter_image(const ImageJob& jb) {
  const ConvArgs& a = *jb.a;
  for (int64_t b = 0; b * KB < a.K; ++b)
    for (int64_t i = 0; i < a.KH; ++i)
      for (int64_t j = 0; j < a.KW; ++j)
        for (int64_t c0 = 0; c0 < a.C; c0 += jb.cb) {
          const int nc = static_cast<int>(std::min<int64_t>(jb.cb, a.C - c0));
          tile_of<KB>(nc, std::make_integer_sequence<int, kMaxCB>(), jb, i, j, c0, b);
        }
}

using ImageFn = void (*)(const ImageJob&);
struct PathTile {
  ImageFn image;
  int kb, max_cb;
};

void image_generic(const ImageJob& jb) { filter_image<16, 3>(jb); }
#if SINAPSE_X86
SINAPSE_TARGET_AVX2 void image_avx2(const ImageJob& jb) { filter_image<16, 6>(jb); }
SINAPSE_TARGET_AVX512 void image_avx512(const ImageJob& jb) { filter_image<16, 12>(jb); }
SINAPSE_TARGET_AVX512 void image_avx512_wide(const ImageJob& jb) { filter_image<32, 12>(jb); }
#endif

PathTile path_tile(SimdPath path, int64_t K) {
  note_simd_path(path);
#if SINAPSE_X86
  if (path == SimdPath::avx512) return K > 16 ? PathTile{image_avx512_wide, 32, 12} : PathTile{image_avx512, 16, 12};
  if (path == SimdPath::avx2) return {image_avx2, 16, 6};
#endif
  return {image_generic, 16, 3};
}

// Images per tile pass: at least ~256 pixels, so loading and storing a tile of the dW part
// is amortised (Fashion conv3's 7x7 images: 6 at a time).
int64_t images_per_pass(const ConvArgs& a) {
  return std::max<int64_t>(
      1, std::min(a.N, std::clamp<int64_t>((256 + a.OH * a.OW - 1) / std::max<int64_t>(a.OH * a.OW, 1), 1, 8)));
}

}  // namespace

bool direct_detail::filter_blocked_fits(const ConvArgs& a) {
  const Padded pd(a);
  const double kp = static_cast<double>(a.K + 31);
  return direct_scratch_within(a, images_per_pass(a) * (static_cast<double>(pd.hp) * pd.wp * a.C + a.OH * a.OW * kp)) &&
         direct_scratch_within(a, a.KH * a.KW * a.C * kp);
}

void direct_detail::backward_filter_blocked(const ConvArgs& a, const float* x, const float* dy, float* dw,
                                            SimdPath path, int max_threads) {
  const PathTile pt = path_tile(path, a.K);
  const int64_t kb = pt.kb, kp = (a.K + kb - 1) / kb * kb, taps = a.KH * a.KW * a.C;
  const Padded pd(a);
  const bool copy_dy = kp != a.K;  // a partial last k-block reads a zero-padded copy of dy
  const int64_t group = images_per_pass(a);
  const int64_t groups = (a.N + group - 1) / group;
  const int nthreads = threads_for(2.0 * a.N * a.OH * a.OW * a.K * taps, grain::kFlops, max_threads, groups);
  // All scratch allocated here, outside the parallel region; slices rounded to 16 floats.
  const int64_t img_len = pd.hp * pd.wp * a.C, dy_len = copy_dy ? a.OH * a.OW * kp : 0;
  const int64_t per_thread = (taps * kp + group * (img_len + dy_len) + 15) / 16 * 16;
  thread_local AlignedBuffer scratch;
  float* base = scratch.floats(static_cast<size_t>(nthreads * per_thread));
  const int64_t cblocks = (a.C + pt.max_cb - 1) / pt.max_cb;
  const int cb = static_cast<int>((a.C + cblocks - 1) / cblocks);  // equal blocks of at most max_cb
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
  {
    const int t = team_index();
    float* part = base + t * per_thread;
    float* img = part + taps * kp;
    float* dyb = img + group * img_len;
    std::fill(part, part + taps * kp, 0.0f);
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t n0 = g * group, nimg = std::min(group, a.N - n0);
      std::fill(img, img + nimg * img_len, 0.0f);  // the images, zero-padded
      for (int64_t m = 0; m < nimg; ++m)
        for (int64_t h = 0; h < a.H; ++h)
          std::memcpy(img + m * img_len + ((h + a.pad_top) * pd.wp + a.pad_left) * a.C,
                      x + ((n0 + m) * a.H + h) * a.W * a.C, sizeof(float) * a.W * a.C);
      const float* dyi = dy + n0 * a.OH * a.OW * a.K;
      if (copy_dy) {
        for (int64_t p = 0; p < nimg * a.OH * a.OW; ++p) {
          std::memcpy(dyb + p * kp, dyi + p * a.K, sizeof(float) * a.K);
          std::fill(dyb + p * kp + a.K, dyb + (p + 1) * kp, 0.0f);
        }
        dyi = dyb;
      }
      const ImageJob jb{&a, img, pd.wp, img_len, nimg, dyi, copy_dy ? kp : a.K, part, cb};
      pt.image(jb);
    }
  }
  // Drop the K padding and the blocked layout; add the threads' parts in thread order.
  for (int64_t r = 0; r < taps; ++r)
    for (int64_t k = 0; k < a.K; ++k) {
      const int64_t at = ((k / kb) * taps + r) * kb + k % kb;
      float s = 0.0f;
      for (int t = 0; t < nthreads; ++t) s += base[t * per_thread + at];
      dw[r * a.K + k] = s;
    }
}

}  // namespace sinapse::cpu
