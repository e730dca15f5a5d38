// Resize (nearest / bilinear) and crop on the CPU. Validated by sinapse.ops.resize; the
// geometry and the array sizes are re-checked here (resize_geometry.h).
#include <pybind11/stl.h>

#include "../cpu/resize.h"
#include "common.h"
#include "kernel_variant.h"
#include "resize_geometry.h"

namespace sinapse::bindings {

void bind_resize(py::module_& m) {
  m.def(
      "resize_forward",
      [](const std::array<int64_t, 7>& g, const F32Array& x, F32Array& y, const std::string& variant, int threads) {
        const ResizeArgs a = resize_args(g);
        const KernelVariant v = parse_kernel_variant("resize", variant);
        check_sizes("resize", x.size(), y.size(), input_size(a), output_size(a));
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("resize");
        py::gil_scoped_release release;
        cpu::resize_forward(a, xp, yp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("variant") = "tuned",
      py::arg("threads") = 0);

  m.def(
      "resize_backward",
      [](const std::array<int64_t, 7>& g, const F32Array& dy, F32Array& dx, const std::string& variant, int threads) {
        const ResizeArgs a = resize_args(g);
        const KernelVariant v = parse_kernel_variant("resize_backward", variant);
        check_sizes("resize_backward", dx.size(), dy.size(), input_size(a), output_size(a));
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("resize_backward");
        py::gil_scoped_release release;
        cpu::resize_backward(a, gp, dp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("variant") = "tuned",
      py::arg("threads") = 0);

  m.def(
      "crop_forward",
      [](const std::array<int64_t, 8>& g, const F32Array& x, F32Array& y, int threads) {
        const CropArgs a = crop_args(g);
        check_sizes("crop", x.size(), y.size(), input_size(a), output_size(a));
        const float* xp = x.data();
        float* yp = y.mutable_data();
        py::gil_scoped_release release;
        cpu::crop_forward(a, xp, yp, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("threads") = 0);

  m.def(
      "crop_backward",
      [](const std::array<int64_t, 8>& g, const F32Array& dy, F32Array& dx, float fill, int threads) {
        const CropArgs a = crop_args(g);
        check_sizes("crop_backward", dx.size(), dy.size(), input_size(a), output_size(a));
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        py::gil_scoped_release release;
        cpu::crop_backward(a, gp, dp, fill, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("fill"),
      py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
