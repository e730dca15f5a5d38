// Resize (nearest / bilinear) and crop on the GPU / the simulator; CPU twin: bindings/resize.cpp.
#include <pybind11/stl.h>

#include "../../cuda/resize.h"
#include "../kernel_variant.h"
#include "../resize_geometry.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_resize(py::module_& m) {
  m.def(
      "resize_forward",
      [](const std::array<int64_t, 7>& g, ArrayObject x, ArrayObject y, const std::string& variant,
         std::uintptr_t stream) {
        const ResizeArgs a = resize_args(g);
        const KernelVariant v = parse_kernel_variant("resize", variant);
        const auto xa = array_arg<float>(x, "resize", "x");
        const auto ya = array_arg<float>(y, "resize", "y", Access::write);
        check_sizes("resize", xa.size(), ya.size(), input_size(a), output_size(a));
        py::gil_scoped_release release;
        sinapse::cuda::resize_forward(a, xa.data(), ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("y"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "resize_backward",
      [](const std::array<int64_t, 7>& g, ArrayObject dy, ArrayObject dx, const std::string& variant,
         std::uintptr_t stream) {
        const ResizeArgs a = resize_args(g);
        const KernelVariant v = parse_kernel_variant("resize_backward", variant);
        const auto ga = array_arg<float>(dy, "resize_backward", "dy");
        const auto da = array_arg<float>(dx, "resize_backward", "dx", Access::write);
        check_sizes("resize_backward", da.size(), ga.size(), input_size(a), output_size(a));
        py::gil_scoped_release release;
        sinapse::cuda::resize_backward(a, ga.data(), da.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy"), py::arg("dx"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "crop_forward",
      [](const std::array<int64_t, 8>& g, ArrayObject x, ArrayObject y, std::uintptr_t stream) {
        const CropArgs a = crop_args(g);
        const auto xa = array_arg<float>(x, "crop", "x");
        const auto ya = array_arg<float>(y, "crop", "y", Access::write);
        check_sizes("crop", xa.size(), ya.size(), input_size(a), output_size(a));
        py::gil_scoped_release release;
        sinapse::cuda::crop_forward(a, xa.data(), ya.data(), as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("y"), py::arg("stream") = 0);

  m.def(
      "crop_backward",
      [](const std::array<int64_t, 8>& g, ArrayObject dy, ArrayObject dx, float fill, std::uintptr_t stream) {
        const CropArgs a = crop_args(g);
        const auto ga = array_arg<float>(dy, "crop_backward", "dy");
        const auto da = array_arg<float>(dx, "crop_backward", "dx", Access::write);
        check_sizes("crop_backward", da.size(), ga.size(), input_size(a), output_size(a));
        py::gil_scoped_release release;
        sinapse::cuda::crop_backward(a, ga.data(), da.data(), fill, as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy"), py::arg("dx"), py::arg("fill"), py::arg("stream") = 0);

#if defined(SINAPSE_SIM)
  m.def(
      "resize_backward_mutant",
      [](const std::array<int64_t, 7>& g, ArrayObject dy, ArrayObject dx, const std::string& which) {
        const ResizeArgs a = resize_args(g);
        const auto ga = array_arg<float>(dy, "resize_backward_mutant", "dy");
        const auto da = array_arg<float>(dx, "resize_backward_mutant", "dx", Access::write);
        check_sizes("resize_backward", da.size(), ga.size(), input_size(a), output_size(a));
        py::gil_scoped_release release;
        sinapse::cuda::resize_backward_mutant(a, ga.data(), da.data(), which);
      },
      py::arg("geometry"), py::arg("dy"), py::arg("dx"), py::arg("which"),
      "A deliberately broken resize backward kernel (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
