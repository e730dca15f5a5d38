// The Winograd F(4x4, 3x3) driver (conv2d_winograd.h): the forward and the input gradient
// as one routine on a WinogradShape, over chunks of tiles.
#include <algorithm>
#include <cstring>
#include <exception>

#include "../common/aligned_buffer.h"
#include "../common/threading.h"
#include "conv2d.h"
#include "conv2d_winograd.h"
#include "gemm.h"

namespace sinapse::cpu {

namespace {

// Tiles per chunk: V (36 x tiles x C) and M (36 x tiles x K) of one chunk take at most this
// many bytes, so the input transform's V is still in L2/L3 when the GEMMs pack it, and M when
// the output transform reads it (the cols tile of im2col, conv2d.cpp, has the same budget).
constexpr int64_t kWinogradWorkspaceBytes = 2 << 20;

int64_t tiles_per_chunk(const WinogradShape& s) { return std::min(s.tiles(), winograd_tiles_per_chunk(s.C, s.K)); }

// body(e) for the 36 transform points, one GEMM per thread at a time: each is too thin (a few
// MFLOP) to split between threads. Each GEMM sizes its packing buffer on its thread
// (grow-only): a failed allocation is caught and rethrown after the region (an exception
// escaping an OpenMP region would terminate the process).
template <class Body>
void for_each_point(double flops, int max_threads, Body body) {
  const int nthreads = threads_for(flops, grain::kFlops, max_threads);
  std::exception_ptr failure;
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(dynamic)
  for (int e = 0; e < kWinoPoints; ++e) {
    try {
      body(e);
    } catch (...) {
#pragma omp critical(sinapse_winograd_failure)
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

// The GEMM of transform point e for a chunk of nt tiles: M[e] (nt x K) = V[e] (nt x C) @ U[e] (C x K).
GemmArgs point_gemm(const WinogradShape& s, int64_t nt, int e, const float* V, const float* U, float* M) {
  return make_dense_gemm_args(nt, s.K, s.C, V + e * nt * s.C, false, U + e * s.C * s.K, false, M + e * nt * s.K);
}

// out = act(winograd(in, U) + bias), U already transformed (36 x C x K).
void winograd_run(const WinogradShape& s, const float* in, const float* U, const float* bias, Activation act,
                  float* out, SimdPath path, int max_threads) {
  const int64_t chunk = tiles_per_chunk(s), total = s.tiles();
  // U[e] packed once for every chunk (PackedB, the GEMM's own panel layout): repacked per
  // chunk, a 256 x 384 layer's 36 x 98K floats would cost as much as the chunk's products.
  PackedB packed[kWinoPoints];
  const int64_t packed_floats = gemm_packed_b_floats(point_gemm(s, chunk, 0, nullptr, U, nullptr), path);
  thread_local AlignedBuffer work, pack_buf;
  float* pk = pack_buf.floats(static_cast<size_t>(kWinoPoints * packed_floats));
  const int pack_threads = threads_for(static_cast<double>(kWinoPoints) * s.C * s.K, grain::kCopy, max_threads);
#pragma omp parallel for num_threads(pack_threads) if (pack_threads > 1) schedule(static)
  for (int e = 0; e < kWinoPoints; ++e)
    gemm_pack_b(point_gemm(s, chunk, e, nullptr, U, nullptr), path, pk + e * packed_floats, packed[e]);
  const int64_t v_floats = kWinoPoints * chunk * s.C, m_floats = kWinoPoints * chunk * s.K;
  float* V = work.floats(static_cast<size_t>(v_floats + m_floats + s.C));
  float* M = V + v_floats;
  float* zeros = M + m_floats;
  std::fill(zeros, zeros + s.C, 0.0f);
  // Loop 1: chunks of tiles (over images and tile rows alike), each through the three steps.
  for (int64_t t0 = 0; t0 < total; t0 += chunk) {
    const int64_t nt = std::min(chunk, total - t0);
    winograd_input_transform(s, in, t0, nt, zeros, V, path, max_threads);
    // Loop 2: the 36 independent products M[e] = V[e] @ U[e] (nt x C times C x K).
    for_each_point(2.0 * kWinoPoints * nt * s.C * s.K, max_threads, [&](int e) {
      const GemmArgs g = point_gemm(s, nt, e, V, U, M);
      if (g.M > kSmallM && packed[e].valid_for(g, path)) {
        gemm_tuned_prepacked(g, packed[e], path, 1);
      } else {
        gemm(g, GemmVariant::tuned, path, 1);
      }
    });
    winograd_output_transform(s, M, t0, nt, bias, act, out, path, max_threads);
  }
}

}  // namespace

int64_t winograd_tiles_per_chunk(int64_t cin, int64_t cout) {
  const int64_t per_tile = kWinoPoints * (cin + cout) * static_cast<int64_t>(sizeof(float));
  // At least 16 rows per GEMM, so its micro-kernel tiles are full even for huge C + K.
  return std::max<int64_t>(16, kWinogradWorkspaceBytes / per_tile);
}

void conv2d_forward_winograd(const ConvArgs& a, const float* x, const float* w, const float* bias, Activation act,
                             float* y, SimdPath path, int max_threads) {
  const WinogradShape s{a.N, a.H, a.W, a.C, a.K, a.OH, a.OW, a.pad_top, a.pad_left};
  if (s.tiles() == 0 || a.K == 0) return;
  thread_local AlignedBuffer ubuf;
  float* U = ubuf.floats(static_cast<size_t>(kWinoPoints * a.C * a.K));
  // g(i, j, c, k) = w[i, j, c, k] (HWIO)
  winograd_filter_transform(w, 3 * a.C * a.K, a.C * a.K, a.K, 1, a.C, a.K, U, path);
  winograd_run(s, x, U, bias, act, y, path, max_threads);
}

void conv2d_backward_data_winograd(const ConvArgs& a, const float* w, const float* dy, float* dx, SimdPath path,
                                   int max_threads) {
  // dx = the stride-1 convolution of dy (K channels) with the filter rotated by 180 degrees
  // and transposed, g'(i, j, k, c) = w[2 - i, 2 - j, c, k], padded by 2 - pad (negative: cropped).
  const WinogradShape s{a.N, a.OH, a.OW, a.K, a.C, a.H, a.W, 2 - a.pad_top, 2 - a.pad_left};
  if (s.tiles() == 0 || a.C == 0) return;
  thread_local AlignedBuffer ubuf;
  float* U = ubuf.floats(static_cast<size_t>(kWinoPoints * a.C * a.K));
  const int64_t si = 3 * a.C * a.K, sj = a.C * a.K;
  winograd_filter_transform(w + 2 * si + 2 * sj, -si, -sj, 1, a.K, a.K, a.C, U, path);
  winograd_run(s, dy, U, nullptr, Activation::none, dx, path, max_threads);
}

void conv2d_backward_filter_winograd(const ConvArgs& a, const float* x, const float* dy, float* dw, SimdPath path,
                                     int max_threads) {
  const WinogradShape s{a.N, a.H, a.W, a.C, a.K, a.OH, a.OW, a.pad_top, a.pad_left};
  const int64_t chunk = tiles_per_chunk(s), total = s.tiles();
  thread_local AlignedBuffer work;
  const int64_t v_floats = kWinoPoints * chunk * s.C, d_floats = kWinoPoints * chunk * s.K;
  const int64_t m_floats = kWinoPoints * s.C * s.K;
  float* V = work.floats(static_cast<size_t>(v_floats + d_floats + m_floats + s.C + s.K));
  float* D = V + v_floats;
  float* M = D + d_floats;
  float* zeros = M + m_floats;
  std::fill(zeros, zeros + s.C + s.K, 0.0f);
  // Loop 1: chunks of tiles; each adds its 36 products M[e] (C x K) += V[e]^T @ D[e].
  for (int64_t t0 = 0; t0 < total; t0 += chunk) {
    const int64_t nt = std::min(chunk, total - t0);
    winograd_input_transform(s, x, t0, nt, zeros, V, path, max_threads);
    winograd_dy_transform(s, dy, t0, nt, zeros, D, path, max_threads);
    // Loop 2: the 36 products, summed over the chunks (beta = 1 after the first).
    for_each_point(2.0 * kWinoPoints * nt * s.C * s.K, max_threads, [&](int e) {
      gemm(make_dense_gemm_args(s.C, s.K, nt, V + e * nt * s.C, true, D + e * nt * s.K, false, M + e * s.C * s.K,
                                t0 == 0 ? 0.0f : 1.0f),
           GemmVariant::tuned, path, 1);
    });
  }
  winograd_filter_inverse(M, s.C, s.K, dw, path);
}

}  // namespace sinapse::cpu
