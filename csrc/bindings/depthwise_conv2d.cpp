// depthwise_conv2d (depthwise and grouped convolution) on the CPU; CUDA twin:
// bindings/cuda/depthwise_conv2d.cpp.
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "../cpu/depthwise_conv2d.h"
#include "common.h"
#include "depthwise_conv2d_geometry.h"
#include "kernel_variant.h"

namespace sinapse::bindings {

void bind_depthwise_conv2d(py::module_& m) {
  m.def(
      "depthwise_conv2d_forward",
      [](const DepthwiseGeometry& g, const F32Array& x, const F32Array& w, const std::optional<F32Array>& bias,
         F32Array& y, const std::string& variant, const std::string& simd, int threads) {
        const DepthwiseArgs d = depthwise_args(g);
        check_depthwise_sizes(d, x.size(), w.size(), y.size());
        require(!bias || bias->size() == d.c.K, "depthwise_conv2d: bias must have K values");
        const SimdPath path = resolve_simd(simd);
        const KernelVariant v = parse_kernel_variant("depthwise_conv2d", variant);
        const float *xp = x.data(), *wp = w.data(), *bp = bias ? bias->data() : nullptr;
        float* yp = y.mutable_data();
        py::gil_scoped_release release;
        cpu::depthwise_conv2d_forward(d, xp, wp, bp, yp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("bias").noconvert(),
      py::arg("y").noconvert(), py::arg("variant"), py::arg("simd"), py::arg("threads") = 0);

  m.def(
      "depthwise_conv2d_backward",
      [](const DepthwiseGeometry& g, const F32Array& x, const F32Array& w, const F32Array& dy,
         std::optional<F32Array>& dx, std::optional<F32Array>& dw, std::optional<F32Array>& db,
         const std::string& variant, const std::string& simd, int threads) {
        const DepthwiseArgs d = depthwise_args(g);
        check_depthwise_sizes(d, x.size(), w.size(), dy.size());
        require(!dx || dx->size() == x.size(), "depthwise_conv2d_backward: dx has the wrong size");
        require(!dw || dw->size() == w.size(), "depthwise_conv2d_backward: dw has the wrong size");
        require(!db || db->size() == d.c.K, "depthwise_conv2d_backward: db has the wrong size");
        const SimdPath path = resolve_simd(simd);
        const KernelVariant v = parse_kernel_variant("depthwise_conv2d", variant);
        const float *xp = x.data(), *wp = w.data(), *gp = dy.data();
        float *dxp = dx ? dx->mutable_data() : nullptr, *dwp = dw ? dw->mutable_data() : nullptr,
              *dbp = db ? db->mutable_data() : nullptr;
        py::gil_scoped_release release;
        cpu::depthwise_conv2d_backward(d, xp, wp, gp, dxp, dwp, dbp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("w").noconvert(), py::arg("dy").noconvert(),
      py::arg("dx").noconvert(), py::arg("dw").noconvert(), py::arg("db").noconvert(), py::arg("variant"),
      py::arg("simd"), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
