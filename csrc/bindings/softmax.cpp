// Softmax and log-softmax over the last axis on the CPU.
#include "../cpu/softmax.h"
#include "common.h"
#include "kernel_variant.h"
#include "shared_checks.h"

namespace sinapse::bindings {

void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](const F32Array& x, F32Array& y, int64_t cols, bool log, const std::string& variant, int threads) {
        require(x.size() == y.size(), "softmax_forward: sizes do not match");
        const int64_t rows = rows_of("softmax_forward", x.size(), cols);
        const KernelVariant v = parse_kernel_variant("softmax_forward", variant);
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("softmax_forward");
        py::gil_scoped_release release;
        cpu::softmax_forward(rows, cols, xp, yp, log, v, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("cols"), py::arg("log"), py::arg("variant") = "tuned",
      py::arg("threads") = 0);

  m.def(
      "softmax_backward",
      [](const F32Array& y, const F32Array& dy, F32Array& dx, int64_t cols, bool log, const std::string& variant,
         int threads) {
        require(y.size() == dy.size() && y.size() == dx.size(), "softmax_backward: sizes do not match");
        const int64_t rows = rows_of("softmax_backward", y.size(), cols);
        const KernelVariant v = parse_kernel_variant("softmax_backward", variant);
        const float* yp = y.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("softmax_backward");
        py::gil_scoped_release release;
        cpu::softmax_backward(rows, cols, yp, gp, dp, log, v, path, resolve_threads(threads));
      },
      py::arg("y").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("cols"), py::arg("log"),
      py::arg("variant") = "tuned", py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
