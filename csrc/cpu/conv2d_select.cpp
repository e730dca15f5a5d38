// conv2d's per-layer selection (variant "tuned"): the domains of the direct and Winograd
// algorithms and the cost model that picks among im2col + GEMM, direct and Winograd for each
// pass (forward, input gradient, filter gradient). docs/kernels/conv2d.md, "Selection".
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "conv2d.h"
#include "conv2d_direct.h"
#include "conv2d_winograd.h"

namespace sinapse::cpu {

namespace {

// The model (docs/kernels/conv2d.md, "Selection"): an algorithm's time for one pass is
//   its multiply-adds x 2 / (the fraction of the FMA peak its inner loop reaches)
//   + the elements it copies or transforms outside that loop x a cost per element,
// counted in GEMM flops at the micro-kernel's full speed (so only ratios matter). The
// constants were fitted to one-thread times on Zen 4 (AVX-512, 1 MiB L2) of the bench layers
// and two more (16 -> 16 and 16 -> 32 channels): the measured ms per 100 model units stay within
// 0.65-1.55 for every algorithm and pass that applies, and the model ranks the algorithms as
// measured for every pass of every one of those layers.
constexpr double kGemmEff = 0.85;         // the tuned GEMM's best fraction of the FMA peak
constexpr double kDepthHalf = 24;         // its inner dimension at which it runs at half that
constexpr double kRowsHalf = 4;           // its rows (M) at which it runs at half that
constexpr double kDirectEff = 0.9;        // the direct forward / dx: best fraction of the peak (AVX-512, K >= 32)
constexpr double kDirectFilterEff = 0.5;  // the direct small-dW kernel (C <= 2): the same
constexpr double kDirectDepthHalf = 12;   // taps x C per output at which they run at half that
constexpr double kDirectKHalf = 16;       // dx: output channels (its reduction) at which it runs at half that
constexpr double kCopyCost = 2.0;         // im2col / col2im: one float written, then read back by packing
constexpr double kTapCost = 250;          // im2col / col2im: one (pixel, tap) copy call (~2.5 ns: C = 1 layers)
constexpr double kTransformCost = 8;      // Winograd: one element of V or M through its transform
constexpr double kFilterCost = 16;        // Winograd: one (c, k) filter through its transform and packing, per point
// Winograd needs at least this many input and output channels: below it, its 36 GEMMs are too
// thin to beat im2col or the direct kernels by the model's margin of error, and its rounding
// error (about 7x im2col's; tests/test_conv2d_variants.py) would buy nothing.
constexpr int64_t kWinogradMinChannels = 16;
// Its filter gradient needs twice that: each of its 36 GEMMs then has C x K = 16 x 16 outputs
// over a deep reduction, and the blocked direct dW ran 16 -> 16 and 16 -> 32 layers (N128
// 28x28, Zen 4) 1.3-1.7x faster (1 thread 5.1 vs 7.95 ms and 9.2 vs 10.5; 2 threads 2.6 vs
// 4.3 and 4.6 vs 6.1); from 32 channels the two tie or Winograd wins (32 -> 64: 6.9 vs 7.9 ms).
constexpr int64_t kWinogradFilterMinChannels = 32;

double round16(double n) { return std::ceil(n / 16) * 16; }

// The tuned GEMM's efficiency for `rows` x `cols` outputs over an inner dimension `depth`: a
// short depth pays packing and the C tile's loads per few FMAs, few rows leave the packed B
// panel reused little, and columns fill 16-lane micro-tiles (the AVX-512 kernel's 32-wide
// tile has a 16-wide half).
double gemm_eff(double rows, double depth, double cols) {
  return kGemmEff * depth / (depth + kDepthHalf) * rows / (rows + kRowsHalf) * cols / round16(cols);
}

double im2col_cost(const ConvArgs& a, ConvPass pass) {
  const double pixels = static_cast<double>(a.N) * a.OH * a.OW, taps = static_cast<double>(a.KH) * a.KW;
  const double depth = taps * a.C, flops = 2.0 * pixels * depth * a.K;
  // The cols matrix (im2col for y and dw, col2im for dx), copied one (pixel, tap) run at a time.
  const double copies = conv2d_is_pointwise(a) ? 0.0 : kCopyCost * pixels * depth + kTapCost * pixels * taps;
  switch (pass) {
    case ConvPass::forward:  // (pixels x depth) @ (depth x K)
      return flops / gemm_eff(pixels, depth, a.K) + copies;
    case ConvPass::data:  // (pixels x K) @ (K x depth), then col2im adds each row back into dx
      return flops / gemm_eff(pixels, a.K, depth) + copies;
    case ConvPass::filter:  // (depth x pixels) @ (pixels x K)
      return flops / gemm_eff(depth, pixels, a.K) + copies;
  }
  return std::numeric_limits<double>::infinity();
}

double direct_cost(const ConvArgs& a, ConvPass pass) {
  if (!conv2d_direct_applies(a, pass)) return std::numeric_limits<double>::infinity();
  const double depth = static_cast<double>(a.KH) * a.KW * a.C, k = static_cast<double>(a.K);
  const double flops = 2.0 * a.N * a.OH * a.OW * depth * k;
  // A short reduction (taps x C: 9 for a 3x3 1-channel layer) pays the tile's bias, store and
  // padded-row setup per few FMAs. Forward and dw hold 16-lane tiles of K (K = 6 fills 6);
  // dx reduces over K, so few K means few FMAs per stored tile. Measured (1 thread): forward
  // 0.39 of the peak at depth 9, 0.72 at 49, 0.87 at 363 (AlexNet conv1, 96 channels).
  const double fill = pass == ConvPass::data ? k / (k + kDirectKHalf) : k / round16(k);
  // dw of C <= 2 runs the small-dW kernel (kDirectFilterEff); from C = 4 the blocked one,
  // measured as fast as the forward (~100 GFLOP/s on one thread for 16-384 channels).
  const double base = pass == ConvPass::filter && a.C <= 2 ? kDirectFilterEff : kDirectEff;
  const double eff = base * depth / (depth + kDirectDepthHalf);
  return flops / (eff * fill);
}

double winograd_cost(const ConvArgs& a, ConvPass pass) {
  if (!winograd_applies(a)) return std::numeric_limits<double>::infinity();
  if (pass == ConvPass::filter) {  // 36 products (C x tiles) @ (tiles x K), a chunk of tiles deep
    const WinogradShape s{a.N, 0, 0, 0, 0, a.OH, a.OW, 0, 0};
    const double tiles = static_cast<double>(s.tiles()), c = static_cast<double>(a.C), k = static_cast<double>(a.K);
    const double depth = std::min(tiles, static_cast<double>(winograd_tiles_per_chunk(a.C, a.K)));
    return 2.0 * kWinoPoints * tiles * c * k / gemm_eff(c, depth, k) + kTransformCost * kWinoPoints * tiles * (c + k) +
           kFilterCost * kWinoPoints * c * k;
  }
  // dx is a Winograd forward from dy (K channels) to dx (C channels, H x W outputs).
  const bool fwd = pass == ConvPass::forward;
  const double cin = static_cast<double>(fwd ? a.C : a.K), cout = static_cast<double>(fwd ? a.K : a.C);
  const WinogradShape s{a.N, 0, 0, 0, 0, fwd ? a.OH : a.H, fwd ? a.OW : a.W, 0, 0};
  const double tiles = static_cast<double>(s.tiles()), points = kWinoPoints;
  const double rows = std::min(tiles, static_cast<double>(winograd_tiles_per_chunk(a.C, a.K)));
  return 2.0 * points * tiles * cin * cout / gemm_eff(rows, cin, cout) +
         kTransformCost * points * tiles * (cin + cout) + kFilterCost * points * cin * cout;
}

}  // namespace

bool winograd_applies(const ConvArgs& a) {
  return a.KH == 3 && a.KW == 3 && a.SH == 1 && a.SW == 1 && a.DH == 1 && a.DW == 1;
}

namespace {
bool winograd_worth_it(const ConvArgs& a, ConvPass pass) {
  return std::min(a.C, a.K) >= (pass == ConvPass::filter ? kWinogradFilterMinChannels : kWinogradMinChannels);
}
}  // namespace

std::string conv2d_variant_refusal(const ConvArgs& a, ConvVariant variant) {
  if (variant == ConvVariant::winograd && !winograd_applies(a))
    return "the winograd variant needs a 3x3 kernel with stride 1 and dilation 1";
  if (variant == ConvVariant::direct && !conv2d_direct_applies(a, ConvPass::forward))
    return "the direct variant needs its scratch (padded input rows) within a few times the data; this "
           "padding or stride is too large";
  return "";
}

double conv2d_cost(const ConvArgs& a, ConvPass pass, ConvVariant variant) {
  switch (variant) {
    case ConvVariant::im2col:
      return im2col_cost(a, pass);
    case ConvVariant::direct:
      return direct_cost(a, pass);
    case ConvVariant::winograd:
      return winograd_cost(a, pass);
    default:
      return std::numeric_limits<double>::infinity();
  }
}

ConvVariant conv2d_select(const ConvArgs& a, ConvPass pass) {
  if (conv2d_is_pointwise(a)) return ConvVariant::im2col;  // one GEMM on x itself: nothing is cheaper
  ConvVariant best = ConvVariant::im2col;
  double best_cost = im2col_cost(a, pass);
  for (ConvVariant v : {ConvVariant::direct, ConvVariant::winograd}) {
    if (v == ConvVariant::winograd && !winograd_worth_it(a, pass)) continue;
    const double c = conv2d_cost(a, pass, v);
    if (c < best_cost) best = v, best_cost = c;
  }
  return best;
}

}  // namespace sinapse::cpu
