// Data augmentation (the augment family) on the GPU / the simulator; CPU twin: bindings/augment.cpp.
#include <pybind11/stl.h>

#include "../../common/augment_parse.h"
#include "../../cuda/augment.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
using Geometry = std::array<int64_t, 6>;

void check_batch(const char* op, int64_t n, int64_t per_image, int64_t x_size, int64_t y_size, int64_t params) {
  check(n >= 0 && per_image >= 0 && x_size == n * per_image && y_size == x_size && params == n,
        std::string(op) + ": array sizes do not match N images");
}

void check_affine(const char* op, const AffineArgs& a, int64_t in, int64_t out, int64_t t) {
  check(in == a.N * a.H * a.W * a.C && out == a.N * a.OH * a.OW * a.C && t == 8 * a.N,
        std::string(op) + ": array sizes do not match the geometry");
}

void bind_affine(py::module_& m) {
  m.def(
      "affine_transform",
      [](const Geometry& g, ArrayObject x, ArrayObject transforms, ArrayObject y, const std::string& interpolation,
         const std::string& fill_mode, float fill_value, std::uintptr_t stream) {
        const char* op = "affine_transform";
        const AffineArgs a = affine_args(g, interpolation, fill_mode, fill_value);
        const auto xa = array_arg<float>(x, op, "x");
        const auto ta = array_arg<float>(transforms, op, "transforms");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_affine(op, a, xa.size(), ya.size(), ta.size());
        py::gil_scoped_release release;
        sinapse::cuda::affine_transform(a, xa.data(), ta.data(), ya.data(), as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("transforms"), py::arg("y"), py::arg("interpolation"),
      py::arg("fill_mode"), py::arg("fill_value"), py::arg("stream") = 0);
  m.def(
      "affine_transform_backward",
      [](const Geometry& g, ArrayObject dy, ArrayObject transforms, ArrayObject dx, const std::string& interpolation,
         const std::string& fill_mode, std::uintptr_t stream) {
        const char* op = "affine_transform_backward";
        const AffineArgs a = affine_args(g, interpolation, fill_mode, 0.0f);
        const auto ga = array_arg<float>(dy, op, "dy");
        const auto ta = array_arg<float>(transforms, op, "transforms");
        const auto da = array_arg<float>(dx, op, "dx", Access::write);
        check_affine(op, a, da.size(), ga.size(), ta.size());
        py::gil_scoped_release release;
        sinapse::cuda::affine_transform_backward(a, ga.data(), ta.data(), da.data(), as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy"), py::arg("transforms"), py::arg("dx"), py::arg("interpolation"),
      py::arg("fill_mode"), py::arg("stream") = 0);
#if defined(SINAPSE_SIM)
  m.def(
      "affine_transform_mutant",
      [](const Geometry& g, ArrayObject x, ArrayObject transforms, ArrayObject y, const std::string& interpolation,
         const std::string& fill_mode, float fill_value, const std::string& which) {
        const char* op = "affine_transform_mutant";
        const AffineArgs a = affine_args(g, interpolation, fill_mode, fill_value);
        const auto xa = array_arg<float>(x, op, "x");
        const auto ta = array_arg<float>(transforms, op, "transforms");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_affine(op, a, xa.size(), ya.size(), ta.size());
        py::gil_scoped_release release;
        sinapse::cuda::affine_transform_mutant(a, xa.data(), ta.data(), ya.data(), which);
      },
      py::arg("geometry"), py::arg("x"), py::arg("transforms"), py::arg("y"), py::arg("interpolation"),
      py::arg("fill_mode"), py::arg("fill_value"), py::arg("which"),
      "A deliberately broken affine forward kernel (tests prove they catch it).");
#endif
}

void bind_color(py::module_& m) {
  m.def(
      "flip",
      [](int64_t n, int64_t h, int64_t w, int64_t c, ArrayObject hflags, ArrayObject vflags, ArrayObject x,
         ArrayObject y, std::uintptr_t stream) {
        const char* op = "flip";
        const auto ha = array_arg<uint8_t>(hflags, op, "hflags");
        const auto va = array_arg<uint8_t>(vflags, op, "vflags");
        const auto xa = array_arg<float>(x, op, "x");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check(h >= 0 && w >= 0 && c >= 0 && va.size() == n, "flip: bad geometry or flags");
        check_batch(op, n, h * w * c, xa.size(), ya.size(), ha.size());
        py::gil_scoped_release release;
        sinapse::cuda::flip(n, h, w, c, ha.data(), va.data(), xa.data(), ya.data(), as_stream(stream));
      },
      py::arg("n"), py::arg("h"), py::arg("w"), py::arg("c"), py::arg("hflags"), py::arg("vflags"), py::arg("x"),
      py::arg("y"), py::arg("stream") = 0);
  m.def(
      "adjust_contrast",
      [](int64_t n, int64_t hw, int64_t c, ArrayObject x, ArrayObject factors, float lo, float hi, ArrayObject y,
         std::uintptr_t stream) {
        const char* op = "adjust_contrast";
        const auto xa = array_arg<float>(x, op, "x");
        const auto fa = array_arg<float>(factors, op, "factors");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check(hw >= 0 && c >= 0, "adjust_contrast: negative geometry");
        check_batch(op, n, hw * c, xa.size(), ya.size(), fa.size());
        py::gil_scoped_release release;
        sinapse::cuda::adjust_contrast(n, hw, c, xa.data(), fa.data(), lo, hi, ya.data(), as_stream(stream));
      },
      py::arg("n"), py::arg("hw"), py::arg("c"), py::arg("x"), py::arg("factors"), py::arg("lo"), py::arg("hi"),
      py::arg("y"), py::arg("stream") = 0);
  m.def(
      "adjust_contrast_backward",
      [](int64_t n, int64_t hw, int64_t c, ArrayObject dy, ArrayObject x, ArrayObject factors, float lo, float hi,
         ArrayObject dx, std::uintptr_t stream) {
        const char* op = "adjust_contrast_backward";
        const auto ga = array_arg<float>(dy, op, "dy");
        const auto xa = array_arg<float>(x, op, "x");
        const auto fa = array_arg<float>(factors, op, "factors");
        const auto da = array_arg<float>(dx, op, "dx", Access::write);
        check(hw >= 0 && c >= 0 && ga.size() == xa.size(), "adjust_contrast_backward: bad sizes");
        check_batch(op, n, hw * c, xa.size(), da.size(), fa.size());
        py::gil_scoped_release release;
        sinapse::cuda::adjust_contrast_backward(n, hw, c, ga.data(), xa.data(), fa.data(), lo, hi, da.data(),
                                                as_stream(stream));
      },
      py::arg("n"), py::arg("hw"), py::arg("c"), py::arg("dy"), py::arg("x"), py::arg("factors"), py::arg("lo"),
      py::arg("hi"), py::arg("dx"), py::arg("stream") = 0);
  m.def(
      "adjust_brightness",
      [](int64_t n, int64_t per_image, ArrayObject x, ArrayObject deltas, float lo, float hi, ArrayObject y,
         std::uintptr_t stream) {
        const char* op = "adjust_brightness";
        const auto xa = array_arg<float>(x, op, "x");
        const auto da = array_arg<float>(deltas, op, "deltas");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check_batch(op, n, per_image, xa.size(), ya.size(), da.size());
        py::gil_scoped_release release;
        sinapse::cuda::adjust_brightness(n, per_image, xa.data(), da.data(), lo, hi, ya.data(), as_stream(stream));
      },
      py::arg("n"), py::arg("per_image"), py::arg("x"), py::arg("deltas"), py::arg("lo"), py::arg("hi"), py::arg("y"),
      py::arg("stream") = 0);
  m.def(
      "adjust_brightness_backward",
      [](int64_t n, int64_t per_image, ArrayObject dy, ArrayObject x, ArrayObject deltas, float lo, float hi,
         ArrayObject dx, std::uintptr_t stream) {
        const char* op = "adjust_brightness_backward";
        const auto ga = array_arg<float>(dy, op, "dy");
        const auto xa = array_arg<float>(x, op, "x");
        const auto da = array_arg<float>(deltas, op, "deltas");
        const auto oa = array_arg<float>(dx, op, "dx", Access::write);
        check(ga.size() == xa.size(), "adjust_brightness_backward: dy and x must have the same size");
        check_batch(op, n, per_image, xa.size(), oa.size(), da.size());
        py::gil_scoped_release release;
        sinapse::cuda::adjust_brightness_backward(n, per_image, ga.data(), xa.data(), da.data(), lo, hi, oa.data(),
                                                  as_stream(stream));
      },
      py::arg("n"), py::arg("per_image"), py::arg("dy"), py::arg("x"), py::arg("deltas"), py::arg("lo"), py::arg("hi"),
      py::arg("dx"), py::arg("stream") = 0);
}
}  // namespace

void bind_augment(py::module_& m) {
  bind_affine(m);
  bind_color(m);
}

}  // namespace sinapse::bindings::cuda
