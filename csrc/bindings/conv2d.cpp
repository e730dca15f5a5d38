// conv2d on the CPU.
#include <optional>
#include <stdexcept>
#include <string>

#include <pybind11/stl.h>

#include "../cpu/conv2d.h"
#include "common.h"
#include "conv_geometry.h"
#include "kernel_variant.h"
#include "shared_checks.h"

namespace sinapse::bindings {

namespace {

// The variant's enum (common/enums.h: SINAPSE_CONV_VARIANTS), refused when the layer is outside
// its domain (direct, winograd; sinapse.ops raises the same ValueError first, with the shapes).
ConvVariant conv_variant(const ConvArgs& a, const std::string& name) {
  const ConvVariant v = parse_variant("conv2d", name, enums::kConvVariantList);
  const std::string why = cpu::conv2d_variant_refusal(a, v);
  require(why.empty(), "conv2d: " + why);
  return v;
}

cpu::ConvPass conv_pass(const std::string& name) {
  if (name == "forward") return cpu::ConvPass::forward;
  if (name == "dx") return cpu::ConvPass::data;
  if (name == "dw") return cpu::ConvPass::filter;
  throw std::invalid_argument("conv2d_select: unknown pass '" + name + "' (expected forward, dx or dw)");
}

std::string conv_variant_name(ConvVariant v) {
  for (const auto& row : enums::kConvVariantList)
    if (row.value == v) return row.name;
  return "?";
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def(
      "conv2d_forward",
      [](const ConvGeometry& g, const F32Array& x, const F32Array& w, const std::optional<F32Array>& bias,
         int activation, F32Array& y, const std::string& variant, const std::string& simd, int threads) {
        const ConvArgs a = conv_args(g);
        check_conv_sizes(a, x.size(), w.size(), y.size());
        require(!bias || bias->size() == a.K, "conv2d: bias must have K values");
        const Activation act = epilogue("conv2d", activation);
        const SimdPath path = resolve_simd(simd);
        const ConvVariant v = conv_variant(a, variant);
        const float *xp = x.data(), *wp = w.data(), *bp = bias ? bias->data() : nullptr;
        float* yp = y.mutable_data();
        py::gil_scoped_release release;
        cpu::conv2d_forward(a, xp, wp, bp, act, yp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("bias").noconvert(),
      py::arg("activation"), py::arg("y").noconvert(), py::arg("variant"), py::arg("simd"), py::arg("threads") = 0);

  m.def(
      "conv2d_backward",
      [](const ConvGeometry& g, const std::optional<F32Array>& x, const F32Array& w, const F32Array& dy,
         std::optional<F32Array>& dx, std::optional<F32Array>& dw, std::optional<F32Array>& db,
         const std::string& variant, const std::string& simd, int threads) {
        const ConvArgs a = conv_args(g);
        // x is read for dw only: None when dw is not asked for (conv2d_transpose's forward has no x)
        require(x || !dw, "conv2d_backward: dw needs x");
        const int64_t x_size = a.N * a.H * a.W * a.C;
        check_conv_sizes(a, x ? x->size() : x_size, w.size(), dy.size());
        require(!dx || dx->size() == x_size, "conv2d_backward: dx has the wrong size");
        require(!dw || dw->size() == w.size(), "conv2d_backward: dw has the wrong size");
        require(!db || db->size() == a.K, "conv2d_backward: db has the wrong size");
        const SimdPath path = resolve_simd(simd);
        const ConvVariant v = conv_variant(a, variant);
        const float *xp = x ? x->data() : nullptr, *wp = w.data(), *gp = dy.data();
        float *dxp = dx ? dx->mutable_data() : nullptr, *dwp = dw ? dw->mutable_data() : nullptr,
              *dbp = db ? db->mutable_data() : nullptr;
        py::gil_scoped_release release;
        cpu::conv2d_backward(a, xp, wp, gp, dxp, dwp, dbp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("dy").noconvert(),
      py::arg("dx").noconvert(), py::arg("dw").noconvert(), py::arg("db").noconvert(), py::arg("variant"),
      py::arg("simd"), py::arg("threads") = 0);

  m.def(
      "conv2d_select",
      [](const ConvGeometry& g, const std::string& pass) {
        return conv_variant_name(cpu::conv2d_select(conv_args(g), conv_pass(pass)));
      },
      py::arg("geometry"), py::arg("pass"),
      "The algorithm conv2d's tuned variant runs for one pass (forward, dx, dw) of a layer.");
  m.def(
      "conv2d_cost",
      [](const ConvGeometry& g, const std::string& pass, const std::string& variant) {
        return cpu::conv2d_cost(conv_args(g), conv_pass(pass),
                                parse_variant("conv2d", variant, enums::kConvVariantList));
      },
      py::arg("geometry"), py::arg("pass"), py::arg("variant"),
      "The cost model's time for one algorithm and pass (GEMM flops at full speed; inf: not applicable).");
  m.def(
      "conv2d_variant_refusal",
      [](const ConvGeometry& g, const std::string& variant) {
        return cpu::conv2d_variant_refusal(conv_args(g), parse_variant("conv2d", variant, enums::kConvVariantList));
      },
      py::arg("geometry"), py::arg("variant"), "Why `variant` cannot run this layer; '' when it can.");
}

}  // namespace sinapse::bindings
