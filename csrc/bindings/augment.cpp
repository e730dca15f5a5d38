// Data augmentation (the augment family) on the CPU.
#include <pybind11/stl.h>

#include "../common/augment_parse.h"
#include "../cpu/augment.h"
#include "common.h"

namespace sinapse::bindings {

namespace {
using Geometry = std::array<int64_t, 6>;
using U8Array = py::array_t<uint8_t, py::array::c_style>;

// The sizes every augment binding checks: x holds N images of `per_image` values, params N.
void check_batch(const char* op, int64_t n, int64_t per_image, int64_t x_size, int64_t y_size, int64_t params) {
  require(n >= 0 && per_image >= 0 && x_size == n * per_image && y_size == x_size && params == n,
          std::string(op) + ": array sizes do not match N images");
}

void bind_affine(py::module_& m) {
  m.def(
      "affine_transform",
      [](const Geometry& g, const F32Array& x, const F32Array& transforms, F32Array& y,
         const std::string& interpolation, const std::string& fill_mode, float fill_value, int threads) {
        const AffineArgs a = affine_args(g, interpolation, fill_mode, fill_value);
        require(
            x.size() == a.N * a.H * a.W * a.C && y.size() == a.N * a.OH * a.OW * a.C && transforms.size() == 8 * a.N,
            "affine_transform: array sizes do not match the geometry");
        const float* xp = x.data();
        const float* tp = transforms.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("affine_transform");
        py::gil_scoped_release release;
        cpu::affine_transform(a, xp, tp, yp, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("transforms").noconvert(), py::arg("y").noconvert(),
      py::arg("interpolation"), py::arg("fill_mode"), py::arg("fill_value"), py::arg("threads") = 0);
  m.def(
      "affine_transform_backward",
      [](const Geometry& g, const F32Array& dy, const F32Array& transforms, F32Array& dx,
         const std::string& interpolation, const std::string& fill_mode, int threads) {
        const AffineArgs a = affine_args(g, interpolation, fill_mode, 0.0f);
        require(
            dx.size() == a.N * a.H * a.W * a.C && dy.size() == a.N * a.OH * a.OW * a.C && transforms.size() == 8 * a.N,
            "affine_transform_backward: array sizes do not match the geometry");
        const float* gp = dy.data();
        const float* tp = transforms.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("affine_transform_backward");
        py::gil_scoped_release release;
        cpu::affine_transform_backward(a, gp, tp, dp, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("dy").noconvert(), py::arg("transforms").noconvert(), py::arg("dx").noconvert(),
      py::arg("interpolation"), py::arg("fill_mode"), py::arg("threads") = 0);
}

void bind_color(py::module_& m) {
  m.def(
      "flip",
      [](int64_t n, int64_t h, int64_t w, int64_t c, const U8Array& hflags, const U8Array& vflags, const F32Array& x,
         F32Array& y, int threads) {
        require(h >= 0 && w >= 0 && c >= 0, "flip: negative geometry");
        check_batch("flip", n, h * w * c, x.size(), y.size(), hflags.size());
        require(vflags.size() == n, "flip: vertical flags must hold N values");
        const uint8_t* hp = hflags.data();
        const uint8_t* vp = vflags.data();
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("flip");
        py::gil_scoped_release release;
        cpu::flip(n, h, w, c, hp, vp, xp, yp, path, resolve_threads(threads));
      },
      py::arg("n"), py::arg("h"), py::arg("w"), py::arg("c"), py::arg("hflags").noconvert(),
      py::arg("vflags").noconvert(), py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("threads") = 0);
  m.def(
      "adjust_contrast",
      [](int64_t n, int64_t hw, int64_t c, const F32Array& x, const F32Array& factors, float lo, float hi, F32Array& y,
         int threads) {
        require(hw >= 0 && c >= 0, "adjust_contrast: negative geometry");
        check_batch("adjust_contrast", n, hw * c, x.size(), y.size(), factors.size());
        const float* xp = x.data();
        const float* fp = factors.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("adjust_contrast");
        py::gil_scoped_release release;
        cpu::adjust_contrast(n, hw, c, xp, fp, lo, hi, yp, path, resolve_threads(threads));
      },
      py::arg("n"), py::arg("hw"), py::arg("c"), py::arg("x").noconvert(), py::arg("factors").noconvert(),
      py::arg("lo"), py::arg("hi"), py::arg("y").noconvert(), py::arg("threads") = 0);
  m.def(
      "adjust_contrast_backward",
      [](int64_t n, int64_t hw, int64_t c, const F32Array& dy, const F32Array& x, const F32Array& factors, float lo,
         float hi, F32Array& dx, int threads) {
        require(hw >= 0 && c >= 0 && dy.size() == x.size(), "adjust_contrast_backward: bad sizes");
        check_batch("adjust_contrast_backward", n, hw * c, x.size(), dx.size(), factors.size());
        const float* gp = dy.data();
        const float* xp = x.data();
        const float* fp = factors.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("adjust_contrast_backward");
        py::gil_scoped_release release;
        cpu::adjust_contrast_backward(n, hw, c, gp, xp, fp, lo, hi, dp, path, resolve_threads(threads));
      },
      py::arg("n"), py::arg("hw"), py::arg("c"), py::arg("dy").noconvert(), py::arg("x").noconvert(),
      py::arg("factors").noconvert(), py::arg("lo"), py::arg("hi"), py::arg("dx").noconvert(), py::arg("threads") = 0);
  m.def(
      "adjust_brightness",
      [](int64_t n, int64_t per_image, const F32Array& x, const F32Array& deltas, float lo, float hi, F32Array& y,
         int threads) {
        check_batch("adjust_brightness", n, per_image, x.size(), y.size(), deltas.size());
        const float* xp = x.data();
        const float* dp = deltas.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("adjust_brightness");
        py::gil_scoped_release release;
        cpu::adjust_brightness(n, per_image, xp, dp, lo, hi, yp, path, resolve_threads(threads));
      },
      py::arg("n"), py::arg("per_image"), py::arg("x").noconvert(), py::arg("deltas").noconvert(), py::arg("lo"),
      py::arg("hi"), py::arg("y").noconvert(), py::arg("threads") = 0);
  m.def(
      "adjust_brightness_backward",
      [](int64_t n, int64_t per_image, const F32Array& dy, const F32Array& x, const F32Array& deltas, float lo,
         float hi, F32Array& dx, int threads) {
        require(dy.size() == x.size(), "adjust_brightness_backward: dy and x must have the same size");
        check_batch("adjust_brightness_backward", n, per_image, x.size(), dx.size(), deltas.size());
        const float* gp = dy.data();
        const float* xp = x.data();
        const float* dp = deltas.data();
        float* op = dx.mutable_data();
        const SimdPath path = process_simd("adjust_brightness_backward");
        py::gil_scoped_release release;
        cpu::adjust_brightness_backward(n, per_image, gp, xp, dp, lo, hi, op, path, resolve_threads(threads));
      },
      py::arg("n"), py::arg("per_image"), py::arg("dy").noconvert(), py::arg("x").noconvert(),
      py::arg("deltas").noconvert(), py::arg("lo"), py::arg("hi"), py::arg("dx").noconvert(), py::arg("threads") = 0);
}
}  // namespace

void bind_augment(py::module_& m) {
  bind_affine(m);
  bind_color(m);
}

}  // namespace sinapse::bindings
