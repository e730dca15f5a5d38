#include "conv2d.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "bias.h"
#include "conv2d_direct.h"
#include "gemm.h"

namespace sinapse::cpu {

bool conv2d_is_pointwise(const ConvArgs& a) {
  return a.KH == 1 && a.KW == 1 && a.SH == 1 && a.SW == 1 && a.pad_top == 0 && a.pad_left == 0 && a.OH == a.H &&
         a.OW == a.W;
}

namespace {

// Rows of the cols matrix for images [n0, n0 + nt): row (n, oh, ow), column (i, j, c).
void im2col(const ConvArgs& a, const float* x, int64_t n0, int64_t nt, float* cols, int max_threads) {
  const int64_t row_len = a.KH * a.KW * a.C;
  const int nthreads = threads_for(static_cast<double>(nt) * a.OH * a.OW * row_len, grain::kCopy, max_threads);
#pragma omp parallel for collapse(2) num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < nt; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow) {
        float* row = cols + ((n * a.OH + oh) * a.OW + ow) * row_len;
        for (int64_t i = 0; i < a.KH; ++i) {
          const int64_t h = oh * a.SH - a.pad_top + i * a.DH;
          for (int64_t j = 0; j < a.KW; ++j) {
            const int64_t wc = ow * a.SW - a.pad_left + j * a.DW;
            float* dst = row + (i * a.KW + j) * a.C;
            if (h < 0 || h >= a.H || wc < 0 || wc >= a.W) {
              std::memset(dst, 0, sizeof(float) * a.C);  // zero padding
            } else {
              std::memcpy(dst, x + (((n0 + n) * a.H + h) * a.W + wc) * a.C, sizeof(float) * a.C);
            }
          }
        }
      }
}

// dx[n0 + n] += the cols rows of image n, scattered back. One image per thread: images
// never share dx, and each image adds in a fixed order (deterministic).
void col2im(const ConvArgs& a, const float* cols, int64_t n0, int64_t nt, float* dx, int max_threads) {
  const int64_t row_len = a.KH * a.KW * a.C;
  const int nthreads = threads_for(static_cast<double>(nt) * a.OH * a.OW * row_len, grain::kCopy, max_threads, nt);
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
  for (int64_t n = 0; n < nt; ++n)
    for (int64_t oh = 0; oh < a.OH; ++oh)
      for (int64_t ow = 0; ow < a.OW; ++ow) {
        const float* row = cols + ((n * a.OH + oh) * a.OW + ow) * row_len;
        for (int64_t i = 0; i < a.KH; ++i) {
          const int64_t h = oh * a.SH - a.pad_top + i * a.DH;
          if (h < 0 || h >= a.H) continue;
          for (int64_t j = 0; j < a.KW; ++j) {
            const int64_t wc = ow * a.SW - a.pad_left + j * a.DW;
            if (wc < 0 || wc >= a.W) continue;
            float* dst = dx + (((n0 + n) * a.H + h) * a.W + wc) * a.C;
            const float* src = row + (i * a.KW + j) * a.C;
            for (int64_t c = 0; c < a.C; ++c) dst[c] += src[c];
          }
        }
      }
}

// Images per tile so the cols matrix stays within the workspace budget (at least one).
int64_t images_per_tile(const ConvArgs& a) {
  const int64_t per_image = a.OH * a.OW * a.KH * a.KW * a.C * static_cast<int64_t>(sizeof(float));
  return std::max<int64_t>(1, std::min<int64_t>(a.N, kConvWorkspaceBytes / std::max<int64_t>(per_image, 1)));
}

// The im2col forward: y = im2col(x) @ w per tile of images (a pointwise layer: x @ w).
void forward_im2col(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    SimdPath path, int max_threads) {
  const int64_t row_len = a.KH * a.KW * a.C;
  if (conv2d_is_pointwise(a)) {  // y = x_rows @ w: no im2col
    const GemmArgs g = make_dense_gemm_args(a.N * a.H * a.W, a.K, a.C, x, false, w, false, y, 0.0f, bias, act);
    return gemm(g, GemmVariant::tuned, path, max_threads);
  }
  const int64_t tile = images_per_tile(a);
  thread_local AlignedBuffer workspace;
  float* cols = workspace.floats(static_cast<size_t>(tile * a.OH * a.OW * row_len));
  for (int64_t n0 = 0; n0 < a.N; n0 += tile) {
    const int64_t nt = std::min(tile, a.N - n0);
    im2col(a, x, n0, nt, cols, max_threads);
    const GemmArgs g = make_dense_gemm_args(nt * a.OH * a.OW, a.K, row_len, cols, false, w, false,
                                            y + n0 * a.OH * a.OW * a.K, 0.0f, bias, act);
    gemm(g, GemmVariant::tuned, path, max_threads);
  }
}

// The im2col backward of whichever of dx, dw are not null (db is done by the caller).
void backward_im2col(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     SimdPath path, int max_threads) {
  const int64_t row_len = a.KH * a.KW * a.C;
  if (conv2d_is_pointwise(a)) {
    const int64_t rows = a.N * a.H * a.W;
    if (dw)
      gemm(make_dense_gemm_args(a.C, a.K, rows, x, true, dy, false, dw, 0.0f), GemmVariant::tuned, path, max_threads);
    if (dx)
      gemm(make_dense_gemm_args(rows, a.C, a.K, dy, false, w, true, dx, 0.0f), GemmVariant::tuned, path, max_threads);
    return;
  }
  if (dx) std::fill(dx, dx + a.N * a.H * a.W * a.C, 0.0f);
  const int64_t tile = images_per_tile(a);
  thread_local AlignedBuffer workspace;
  float* cols = workspace.floats(static_cast<size_t>(tile * a.OH * a.OW * row_len));
  for (int64_t n0 = 0; n0 < a.N; n0 += tile) {
    const int64_t nt = std::min(tile, a.N - n0), rows = nt * a.OH * a.OW;
    const float* dy_tile = dy + n0 * a.OH * a.OW * a.K;
    if (dw) {  // dw (+)= cols^T @ dy_tile
      im2col(a, x, n0, nt, cols, max_threads);
      gemm(make_dense_gemm_args(row_len, a.K, rows, cols, true, dy_tile, false, dw, n0 == 0 ? 0.0f : 1.0f),
           GemmVariant::tuned, path, max_threads);
    }
    if (dx) {  // dcols = dy_tile @ w^T, then scattered back
      gemm(make_dense_gemm_args(rows, row_len, a.K, dy_tile, false, w, true, cols, 0.0f), GemmVariant::tuned, path,
           max_threads);
      col2im(a, cols, n0, nt, dx, max_threads);
    }
  }
}

// The algorithm a pass runs: tuned's selection, or the requested variant where it has a
// kernel for that pass (direct has none for a dw past its size limit: that takes tuned's
// choice among the others).
ConvVariant algorithm(const ConvArgs& a, ConvPass pass, ConvVariant variant) {
  if (variant == ConvVariant::winograd || variant == ConvVariant::im2col) return variant;
  if (variant == ConvVariant::direct && conv2d_direct_applies(a, pass)) return variant;
  return conv2d_select(a, pass);
}

void check_domain(const ConvArgs& a, ConvVariant variant) {
  const std::string why = conv2d_variant_refusal(a, variant);
  if (!why.empty()) throw std::invalid_argument("conv2d: " + why);
}

}  // namespace

void conv2d_forward(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act, float* y,
                    ConvVariant variant, SimdPath path, int max_threads) {
  if (variant == ConvVariant::naive) return conv2d_forward_naive(a, x, w, bias, act, y);
  check_domain(a, variant);
  switch (algorithm(a, ConvPass::forward, variant)) {
    case ConvVariant::direct:
      return conv2d_forward_direct(a, x, w, bias, act, y, path, max_threads);
    case ConvVariant::winograd:
      return conv2d_forward_winograd(a, x, w, bias, act, y, path, max_threads);
    default:
      return forward_im2col(a, x, w, bias, act, y, path, max_threads);
  }
}

void conv2d_backward(const ConvArgs& a, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, ConvVariant variant, SimdPath path, int max_threads) {
  if (variant == ConvVariant::naive) return conv2d_backward_naive(a, x, w, dy, dx, dw, db);
  check_domain(a, variant);
  if (a.N == 0 || a.OH == 0 || a.OW == 0) {  // no output: every gradient is zero
    if (dx) std::fill(dx, dx + a.N * a.H * a.W * a.C, 0.0f);
    if (dw) std::fill(dw, dw + a.KH * a.KW * a.C * a.K, 0.0f);
    if (db) std::fill(db, db + a.K, 0.0f);
    return;
  }
  if (db) bias_backward(a.N * a.OH * a.OW, a.K, dy, db, path, max_threads);
  if (dw) {
    const ConvVariant alg = algorithm(a, ConvPass::filter, variant);
    if (alg == ConvVariant::direct) conv2d_backward_filter_direct(a, x, dy, dw, path, max_threads);
    if (alg == ConvVariant::winograd) conv2d_backward_filter_winograd(a, x, dy, dw, path, max_threads);
    if (alg != ConvVariant::im2col) dw = nullptr;  // done
  }
  if (dx) {
    const ConvVariant alg = algorithm(a, ConvPass::data, variant);
    if (alg == ConvVariant::direct) conv2d_backward_data_direct(a, w, dy, dx, path, max_threads);
    if (alg == ConvVariant::winograd) conv2d_backward_data_winograd(a, w, dy, dx, path, max_threads);
    if (alg != ConvVariant::im2col) dx = nullptr;  // done
  }
  if (dx || dw) backward_im2col(a, x, w, dy, dx, dw, path, max_threads);
}

}  // namespace sinapse::cpu
