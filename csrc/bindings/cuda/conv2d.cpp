// conv2d on the GPU / the simulator; CPU twin: bindings/conv2d.cpp. The variant picks the
// kernels as on the CPU (cuda/conv2d.h: tuned runs a pointwise convolution as one GEMM).
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "../../cuda/conv2d.h"
#include "../conv_geometry.h"
#include "../kernel_variant.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
// CUDA has conv2d's naive and tuned variants only (im2col, direct and winograd are CPU
// algorithms): the names come from the CPU's table, so a CPU-only one gets its own message.
KernelVariant cuda_conv_variant(const std::string& name) {
  ConvVariant v;
  if (enums::parse(enums::kConvVariantList, name, &v) && v != ConvVariant::naive && v != ConvVariant::tuned)
    throw std::invalid_argument("conv2d: variant '" + name +
                                "' runs on the CPU only; on a CUDA device conv2d has naive or tuned");
  return parse_kernel_variant("conv2d", name);
}
}  // namespace

void bind_conv2d(py::module_& m) {
  m.def(
      "conv2d_forward",
      [](const ConvGeometry& g, ArrayObject x, ArrayObject w, ArrayObject bias, int activation, ArrayObject y,
         const std::string& variant, const std::string& simd, std::uintptr_t stream) {
        const char* op = "conv2d_forward";
        const ConvArgs a = conv_args(g);
        const auto xa = array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto ba = optional_array_arg<float>(bias, op, "bias");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_conv_sizes(a, xa.size(), wa.size(), ya.size());
        check(!ba || ba.size() == a.K, "conv2d: bias must have K values");
        const Activation act = epilogue("conv2d", activation);
        const KernelVariant v = cuda_conv_variant(variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::conv2d_forward(a, xa.data(), wa.data(), ba.data(), act, ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("activation"), py::arg("y"),
      py::arg("variant"), py::arg("simd"), py::arg("stream") = 0);

  m.def(
      "conv2d_backward",
      [](const ConvGeometry& g, ArrayObject x, ArrayObject w, ArrayObject dy, ArrayObject dx, ArrayObject dw,
         ArrayObject db, const std::string& variant, const std::string& simd, std::uintptr_t stream) {
        const char* op = "conv2d_backward";
        const ConvArgs a = conv_args(g);
        // x is read for dw only: None when dw is not asked for (conv2d_transpose's forward has no x)
        const auto xa = optional_array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto dya = array_arg<float>(dy, op, "dy");
        const auto dxa = optional_array_arg<float>(dx, op, "dx", Access::write);
        const auto dwa = optional_array_arg<float>(dw, op, "dw", Access::write);
        const auto dba = optional_array_arg<float>(db, op, "db", Access::write);
        check(xa || !dwa, "conv2d_backward: dw needs x");
        const int64_t x_size = a.N * a.H * a.W * a.C;
        check_conv_sizes(a, xa ? xa.size() : x_size, wa.size(), dya.size());
        check(!dxa || dxa.size() == x_size, "conv2d_backward: dx has the wrong size");
        check(!dwa || dwa.size() == wa.size(), "conv2d_backward: dw has the wrong size");
        check(!dba || dba.size() == a.K, "conv2d_backward: db has the wrong size");
        const KernelVariant v = cuda_conv_variant(variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::conv2d_backward(a, xa.data(), wa.data(), dya.data(), dxa.data(), dwa.data(), dba.data(), v,
                                       as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("dx"), py::arg("dw"), py::arg("db"),
      py::arg("variant"), py::arg("simd"), py::arg("stream") = 0);

#if defined(SINAPSE_SIM)
  m.def(
      "conv2d_mutant",
      [](const ConvGeometry& g, ArrayObject x, ArrayObject w, ArrayObject y, const std::string& which) {
        const char* op = "conv2d_mutant";
        const ConvArgs a = conv_args(g);
        const auto xa = array_arg<float>(x, op, "x"), wa = array_arg<float>(w, op, "w");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_conv_sizes(a, xa.size(), wa.size(), ya.size());
        py::gil_scoped_release release;
        sinapse::cuda::conv2d_mutant(a, xa.data(), wa.data(), ya.data(), which);
      },
      py::arg("geometry"), py::arg("x"), py::arg("w"), py::arg("y"), py::arg("which"),
      "A deliberately broken conv2d kernel (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
