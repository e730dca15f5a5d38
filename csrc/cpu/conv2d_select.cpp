// conv2d's per-layer selection (variant "tuned"): the domains of the direct and Winograd
// algorithms and the cost model that picks among im2col + GEMM, direct and Winograd for each
// pass (forward, input gradient, filter gradient). docs/kernels/conv2d.md, "Selection".
#include <algorithm>
#include <limits>
#include <string>

#include "conv2d.h"
#include "conv2d_rows.h"
#include "conv2d_winograd.h"

namespace sinapse::cpu {

namespace {

// The direct kernels keep padded input rows (for dx: a whole padded image) per thread, whose
// size grows with the padding and strides, not with the data: a legal geometry with huge
// padding or strides (an extent up to 2**31 - 1) would need terabytes. Past a few times the
// image (plus 64 MiB) the im2col path runs instead, whose workspace follows the output.
// Sizes in double: the products may exceed int64.
bool direct_scratch_ok(const ConvArgs& a) {
  const double wpad = static_cast<double>(padded_row_width(a, 32));  // the widest tile any direct kernel uses
  const double hp = std::max<double>((a.OH - 1) * a.SH + (a.KH - 1) * a.DH + 1, a.pad_top + a.H);
  const double limit = 4.0 * a.H * a.W * a.C + static_cast<double>(1 << 24);
  return hp * wpad * a.C <= limit && a.KH * wpad * a.C <= limit;
}

// The model's constants, measured on Zen 4 (1 thread, AVX-512; docs/kernels/conv2d.md).
// Time is counted in GEMM flops at the micro-kernel's full speed.
constexpr double kGemmEff = 0.85;     // the tuned GEMM's best fraction of the FMA peak
constexpr double kDepthHalf = 24;     // inner dimension at which the GEMM runs at half that
constexpr double kColsHalf = 8;       // output columns (K) at which it runs at half that
constexpr double kDirectEff = 0.45;   // the direct kernels' fraction of the peak at full 16-lane tiles
constexpr double kCopyCost = 2.0;     // im2col / col2im: one float written and read back (packing)
constexpr double kTransformCost = 8;  // Winograd: one element of V or M through its transform
constexpr double kFilterCost = 16;    // Winograd: one (c, k) filter through its transform, per point

// The tuned GEMM's efficiency for an inner dimension `depth` and `cols` output columns: it
// packs A's panels once per KC x NC block, so a short depth pays the packing and the C tile
// loads per few FMAs, and fewer columns than the micro-kernel's width leave lanes idle.
double gemm_eff(double depth, double cols) {
  return kGemmEff * depth / (depth + kDepthHalf) * cols / (cols + kColsHalf);
}

bool is_pointwise(const ConvArgs& a) {
  return a.KH == 1 && a.KW == 1 && a.SH == 1 && a.SW == 1 && a.pad_top == 0 && a.pad_left == 0 && a.OH == a.H &&
         a.OW == a.W;
}

double im2col_cost(const ConvArgs& a, ConvPass pass) {
  const double pixels = static_cast<double>(a.N) * a.OH * a.OW, depth = static_cast<double>(a.KH) * a.KW * a.C;
  const double flops = 2.0 * pixels * depth * a.K;
  const double copies = is_pointwise(a) ? 0.0 : pixels * depth;  // the cols matrix, once per pass
  switch (pass) {
    case ConvPass::forward:  // (pixels x depth) @ (depth x K)
      return flops / gemm_eff(depth, a.K) + kCopyCost * copies;
    case ConvPass::data:  // (pixels x K) @ (K x depth), then col2im adds each row back into dx
      return flops / gemm_eff(a.K, depth) + 1.5 * kCopyCost * copies;
    case ConvPass::filter:  // (depth x pixels) @ (pixels x K)
      return flops / gemm_eff(pixels, a.K) + kCopyCost * copies;
  }
  return std::numeric_limits<double>::infinity();
}

double direct_cost(const ConvArgs& a, ConvPass pass) {
  if (!conv2d_direct_applies(a, pass)) return std::numeric_limits<double>::infinity();
  const double flops = 2.0 * a.N * a.OH * a.OW * a.KH * a.KW * a.C * static_cast<double>(a.K);
  // The register tiles run 16 lanes of K (forward, dw) or of C (dx): a partial tile idles the rest.
  const double lanes = static_cast<double>(pass == ConvPass::data ? a.C : a.K);
  return flops / (kDirectEff * lanes / (static_cast<double>((static_cast<int64_t>(lanes) + 15) / 16) * 16));
}

double winograd_cost(const ConvArgs& a, ConvPass pass) {
  if (!winograd_applies(a) || pass == ConvPass::filter) return std::numeric_limits<double>::infinity();
  // dx is a Winograd forward from dy (K channels) to dx (C channels, H x W outputs).
  const bool fwd = pass == ConvPass::forward;
  const double cin = static_cast<double>(fwd ? a.C : a.K), cout = static_cast<double>(fwd ? a.K : a.C);
  const double tiles = static_cast<double>(a.N) * ((fwd ? a.OH : a.H) + 3) / 4 * ((fwd ? a.OW : a.W) + 3) / 4;
  const double points = kWinoPoints;
  return 2.0 * points * tiles * cin * cout / gemm_eff(cin, cout) + kTransformCost * points * tiles * (cin + cout) +
         kFilterCost * points * cin * cout;
}

}  // namespace

bool winograd_applies(const ConvArgs& a) {
  return a.KH == 3 && a.KW == 3 && a.SH == 1 && a.SW == 1 && a.DH == 1 && a.DW == 1;
}

// The one predicate of the direct kernels' domain (another branch widens it past 8 channels).
bool conv2d_direct_applies(const ConvArgs& a, ConvPass pass) {
  const bool ok = a.C <= kDirectMaxChannels && direct_scratch_ok(a);
  return pass == ConvPass::filter ? ok && conv2d_filter_direct_applies(a) : ok;
}

std::string conv2d_variant_refusal(const ConvArgs& a, ConvVariant variant) {
  if (variant == ConvVariant::winograd && !winograd_applies(a))
    return "the winograd variant needs a 3x3 kernel with stride 1 and dilation 1";
  if (variant == ConvVariant::direct && !conv2d_direct_applies(a, ConvPass::forward))
    return "the direct variant needs at most " + std::to_string(kDirectMaxChannels) +
           " input channels (and padding and strides within a few times the image)";
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
  if (is_pointwise(a)) return ConvVariant::im2col;  // one GEMM on x itself: nothing is cheaper
  ConvVariant best = ConvVariant::im2col;
  double best_cost = im2col_cost(a, pass);
  for (ConvVariant v : {ConvVariant::direct, ConvVariant::winograd}) {
    const double c = conv2d_cost(a, pass, v);
    if (c < best_cost) best = v, best_cost = c;
  }
  return best;
}

}  // namespace sinapse::cpu
