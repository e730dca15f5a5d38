// depthwise_conv2d on the GPU / the simulator; CPU twin: bindings/depthwise_conv2d.cpp.
#include <pybind11/stl.h>

#include <string>

#include "../../cuda/depthwise_conv2d.h"
#include "../depthwise_conv2d_geometry.h"
#include "../kernel_variant.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_depthwise_conv2d(py::module_& m) {
  m.def(
      "depthwise_conv2d_forward",
      [](const DepthwiseGeometry& g, ArrayObject x, ArrayObject w, ArrayObject bias, ArrayObject y,
         const std::string& variant, const std::string& simd, std::uintptr_t stream) {
        const char* op = "depthwise_conv2d_forward";
        const DepthwiseArgs d = depthwise_args(g);
        const auto xa = array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto ba = optional_array_arg<float>(bias, op, "bias");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_depthwise_sizes(d, xa.size(), wa.size(), ya.size());
        check(!ba || ba.size() == d.c.K, "depthwise_conv2d: bias must have K values");
        const KernelVariant v = parse_kernel_variant("depthwise_conv2d", variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::depthwise_conv2d_forward(d, xa.data(), wa.data(), ba.data(), ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("y"), py::arg("variant"),
      py::arg("simd"), py::arg("stream") = 0);

  m.def(
      "depthwise_conv2d_backward",
      [](const DepthwiseGeometry& g, ArrayObject x, ArrayObject w, ArrayObject dy, ArrayObject dx, ArrayObject dw,
         ArrayObject db, const std::string& variant, const std::string& simd, std::uintptr_t stream) {
        const char* op = "depthwise_conv2d_backward";
        const DepthwiseArgs d = depthwise_args(g);
        const auto xa = array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto dya = array_arg<float>(dy, op, "dy");
        const auto dxa = optional_array_arg<float>(dx, op, "dx", Access::write);
        const auto dwa = optional_array_arg<float>(dw, op, "dw", Access::write);
        const auto dba = optional_array_arg<float>(db, op, "db", Access::write);
        check_depthwise_sizes(d, xa.size(), wa.size(), dya.size());
        check(!dxa || dxa.size() == xa.size(), "depthwise_conv2d_backward: dx has the wrong size");
        check(!dwa || dwa.size() == wa.size(), "depthwise_conv2d_backward: dw has the wrong size");
        check(!dba || dba.size() == d.c.K, "depthwise_conv2d_backward: db has the wrong size");
        const KernelVariant v = parse_kernel_variant("depthwise_conv2d", variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::depthwise_conv2d_backward(d, xa.data(), wa.data(), dya.data(), dxa.data(), dwa.data(),
                                                 dba.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("dx"), py::arg("dw"), py::arg("db"),
      py::arg("variant"), py::arg("simd"), py::arg("stream") = 0);

#if defined(SINAPSE_SIM)
  m.def(
      "depthwise_conv2d_mutant",
      [](const DepthwiseGeometry& g, ArrayObject x, ArrayObject w, ArrayObject y, const std::string& which) {
        const char* op = "depthwise_conv2d_mutant";
        const DepthwiseArgs d = depthwise_args(g);
        const auto xa = array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_depthwise_sizes(d, xa.size(), wa.size(), ya.size());
        py::gil_scoped_release release;
        sinapse::cuda::depthwise_conv2d_mutant(d, xa.data(), wa.data(), ya.data(), which);
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("y"), py::arg("which"),
      "A deliberately broken depthwise_conv2d kernel (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
