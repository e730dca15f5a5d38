// conv2d on the CPU.
#include <optional>

#include <pybind11/stl.h>

#include "../cpu/conv2d.h"
#include "common.h"
#include "conv_geometry.h"
#include "kernel_variant.h"
#include "shared_checks.h"

namespace sinapse::bindings {

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
        const KernelVariant v = parse_kernel_variant("conv2d", variant);
        const float *xp = x.data(), *wp = w.data(), *bp = bias ? bias->data() : nullptr;
        float* yp = y.mutable_data();
        py::gil_scoped_release release;
        cpu::conv2d_forward(a, xp, wp, bp, act, yp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("bias").noconvert(),
      py::arg("activation"), py::arg("y").noconvert(), py::arg("variant"), py::arg("simd"), py::arg("threads") = 0);

  m.def(
      "conv2d_backward",
      [](const ConvGeometry& g, const F32Array& x, const F32Array& w, const F32Array& dy, std::optional<F32Array>& dx,
         std::optional<F32Array>& dw, std::optional<F32Array>& db, const std::string& variant, const std::string& simd,
         int threads) {
        const ConvArgs a = conv_args(g);
        check_conv_sizes(a, x.size(), w.size(), dy.size());
        require(!dx || dx->size() == x.size(), "conv2d_backward: dx has the wrong size");
        require(!dw || dw->size() == w.size(), "conv2d_backward: dw has the wrong size");
        require(!db || db->size() == a.K, "conv2d_backward: db has the wrong size");
        const SimdPath path = resolve_simd(simd);
        const KernelVariant v = parse_kernel_variant("conv2d", variant);
        const float *xp = x.data(), *wp = w.data(), *gp = dy.data();
        float *dxp = dx ? dx->mutable_data() : nullptr, *dwp = dw ? dw->mutable_data() : nullptr,
              *dbp = db ? db->mutable_data() : nullptr;
        py::gil_scoped_release release;
        cpu::conv2d_backward(a, xp, wp, gp, dxp, dwp, dbp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("dy").noconvert(),
      py::arg("dx").noconvert(), py::arg("dw").noconvert(), py::arg("db").noconvert(), py::arg("variant"),
      py::arg("simd"), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
