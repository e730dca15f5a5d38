// Bias add and bias gradient on the CPU.
#include "../cpu/bias.h"
#include "common.h"
#include "shared_checks.h"

namespace sinapse::bindings {

void bind_bias(py::module_& m) {
  m.def(
      "bias_add",
      [](const F32Array& x, const F32Array& bias, F32Array& y, int threads) {
        const int64_t channels = bias.size();
        require(x.size() == y.size(), "bias_add: sizes do not match");
        const int64_t rows = rows_of("bias_add", x.size(), channels);
        const float* xp = x.data();
        const float* bp = bias.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("bias_add");
        py::gil_scoped_release release;
        cpu::bias_add(rows, channels, xp, bp, yp, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("bias").noconvert(), py::arg("y").noconvert(), py::arg("threads") = 0);

  m.def(
      "bias_backward",
      [](const F32Array& dy, F32Array& db, int threads) {
        const int64_t channels = db.size();
        const int64_t rows = rows_of("bias_backward", dy.size(), channels);
        const float* gp = dy.data();
        float* dp = db.mutable_data();
        const SimdPath path = process_simd("bias_backward");
        py::gil_scoped_release release;
        cpu::bias_backward(rows, channels, gp, dp, path, resolve_threads(threads));
      },
      py::arg("dy").noconvert(), py::arg("db").noconvert(), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
