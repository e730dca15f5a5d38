// Winograd F(4x4, 3x3) convolution on the CPU (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", CVPR 2016), NHWC. Each 4x4 block of outputs of each output
// channel is computed from a 6x6 input tile (tiles overlap by 2, stride 4) with 36 products
// per input channel instead of 144:
//   U = G g G^T            per (input channel, output channel): 36 matrices C x K
//   V = B^T d B            per (tile, input channel):           36 matrices tiles x C
//   M[e] = V[e] @ U[e]     36 GEMMs (the tuned GEMM), e = one of the 6x6 transform points
//   Y = A^T M A            per (tile, output channel), + bias, activation, cropped to OH x OW
// The transform matrices use the points 0, +-1, +-2 and infinity (csrc/cpu/conv2d_winograd_transforms.cpp).
// Only 3x3 kernels with stride 1 and dilation 1 (winograd_applies); any padding (it is applied
// while gathering the input tiles, so the input gradient's "padding 2 - pad" may be negative).
// docs/kernels/conv2d.md tells the story, the error bound and the measured gains.
#pragma once

#include <cstdint>

#include "../common/conv_args.h"
#include "../common/cpu_features.h"
#include "../common/gemm_args.h"

namespace sinapse::cpu {

// One Winograd convolution: in (N, IH, IW, C) -> out (N, OH, OW, K), out[oh, ow] reading
// in[oh - pad_top + i, ow - pad_left + j] (zero outside) for i, j in 0..2.
struct WinogradShape {
  int64_t N, IH, IW, C, K, OH, OW, pad_top, pad_left;
  int64_t tiles_h() const { return (OH + 3) / 4; }
  int64_t tiles_w() const { return (OW + 3) / 4; }
  int64_t tiles() const { return N * tiles_h() * tiles_w(); }
};

constexpr int kWinoAlpha = 6;                         // input tile side: m + r - 1 = 4 + 3 - 1
constexpr int kWinoPoints = kWinoAlpha * kWinoAlpha;  // 36 transform points, one GEMM each

// Tiles per chunk for cin input and cout output channels: V and M of a chunk stay in L2/L3
// (conv2d_winograd.cpp); the rows of each of its GEMMs.
int64_t winograd_tiles_per_chunk(int64_t cin, int64_t cout);
// The filter transform U[e][ci][co] = (G g G^T)[e] of the 3x3 filter g(i, j, ci, co) read at
// g0 + i*si + j*sj + ci*sci + co*sco (HWIO forward, or rotated and transposed for dx).
void winograd_filter_transform(const float* g0, int64_t si, int64_t sj, int64_t sci, int64_t sco, int64_t cin,
                               int64_t cout, float* U, SimdPath path);
// V[e][t - t0][c] for tiles [t0, t0 + nt) of `s` (tile t = (n, th, tw) in row-major order);
// `zeros` holds s.C zeros (the padding).
void winograd_input_transform(const WinogradShape& s, const float* in, int64_t t0, int64_t nt, const float* zeros,
                              float* V, SimdPath path, int max_threads);
// out[tile pixels] = act(A^T M A + bias) for tiles [t0, t0 + nt), M[e][t - t0][k].
void winograd_output_transform(const WinogradShape& s, const float* M, int64_t t0, int64_t nt, const float* bias,
                               Activation act, float* out, SimdPath path, int max_threads);

// The filter gradient, F(3x3, 4x4) (the forward's transforms transposed): a 4x4 block of dy
// g and the 6x6 input tile d under it add G^T [(A g A^T) .* (B^T d B)] G to dw. D[e][t - t0][k]
// = (A g A^T)[e] for tiles [t0, t0 + nt) of the forward's shape `s`; `zeros` holds s.K zeros.
void winograd_dy_transform(const WinogradShape& s, const float* dy, int64_t t0, int64_t nt, const float* zeros,
                           float* D, SimdPath path, int max_threads);
// dw[i, j, c, k] = (G^T M G)[i, j] of M[e][c][k] (36 x C x K, summed over every tile).
void winograd_filter_inverse(const float* M, int64_t C, int64_t K, float* dw, SimdPath path);

}  // namespace sinapse::cpu
