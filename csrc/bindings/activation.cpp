// Activations and softmax on the CPU.
#include "../cpu/activation.h"
#include "../cpu/softmax.h"
#include "common.h"

namespace sinapse::bindings {

namespace {
ActKind act_kind(int code) {
  require(code >= 0 && code < kActKinds, "activation: kind code out of range");
  return static_cast<ActKind>(code);
}
}  // namespace

void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](const F32Array& x, F32Array& y, int kind, float alpha, int threads) {
        require(x.size() == y.size(), "activation_forward: x and y must have the same size");
        const ActKind k = act_kind(kind);
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("activation_forward");
        py::gil_scoped_release release;
        cpu::activation_forward(x.size(), xp, yp, k, alpha, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("kind"), py::arg("alpha"), py::arg("threads") = 0);

  m.def(
      "activation_backward",
      [](const F32Array& x, const F32Array& dy, F32Array& dx, int kind, float alpha, int threads) {
        require(x.size() == dy.size() && x.size() == dx.size(),
                "activation_backward: x, dy, dx must have the same size");
        const ActKind k = act_kind(kind);
        const float* xp = x.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("activation_backward");
        py::gil_scoped_release release;
        cpu::activation_backward(x.size(), xp, gp, dp, k, alpha, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("kind"), py::arg("alpha"),
      py::arg("threads") = 0);

  m.def(
      "softmax_forward",
      [](const F32Array& x, F32Array& y, int64_t cols, bool log, int threads) {
        require(cols >= 0 && x.size() == y.size() && (cols == 0 ? x.size() == 0 : x.size() % cols == 0),
                "softmax_forward: sizes do not match");
        const int64_t rows = cols ? x.size() / cols : 0;
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("softmax_forward");
        py::gil_scoped_release release;
        cpu::softmax_forward(rows, cols, xp, yp, log, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("cols"), py::arg("log"), py::arg("threads") = 0);

  m.def(
      "softmax_backward",
      [](const F32Array& y, const F32Array& dy, F32Array& dx, int64_t cols, bool log, int threads) {
        require(cols >= 0 && y.size() == dy.size() && y.size() == dx.size() &&
                    (cols == 0 ? y.size() == 0 : y.size() % cols == 0),
                "softmax_backward: sizes do not match");
        const int64_t rows = cols ? y.size() / cols : 0;
        const float* yp = y.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("softmax_backward");
        py::gil_scoped_release release;
        cpu::softmax_backward(rows, cols, yp, gp, dp, log, path, resolve_threads(threads));
      },
      py::arg("y").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("cols"), py::arg("log"),
      py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
