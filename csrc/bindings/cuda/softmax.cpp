// Softmax / log-softmax along rows on the GPU / the simulator; CPU twin: bindings/softmax.cpp.
#include "../../cuda/softmax.h"
#include "../kernel_variant.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](ArrayObject x, ArrayObject y, int64_t cols, bool log, const std::string& variant, std::uintptr_t stream) {
        const char* op = "softmax_forward";
        const KernelVariant v = parse_kernel_variant(op, variant);
        const auto xa = array_arg<float>(x, op, "x");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check(xa.size() == ya.size(), "softmax_forward: sizes do not match");
        const int64_t rows = rows_of(op, xa.size(), cols);
        py::gil_scoped_release release;
        sinapse::cuda::softmax_forward(rows, cols, xa.data(), ya.data(), log, v, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("cols"), py::arg("log"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "softmax_backward",
      [](ArrayObject y, ArrayObject dy, ArrayObject dx, int64_t cols, bool log, const std::string& variant,
         std::uintptr_t stream) {
        const char* op = "softmax_backward";
        const KernelVariant v = parse_kernel_variant(op, variant);
        const auto ya = array_arg<float>(y, op, "y");
        const auto dya = array_arg<float>(dy, op, "dy");
        const auto dxa = array_arg<float>(dx, op, "dx", Access::write);
        check(ya.size() == dya.size() && ya.size() == dxa.size(), "softmax_backward: sizes do not match");
        const int64_t rows = rows_of(op, ya.size(), cols);
        py::gil_scoped_release release;
        sinapse::cuda::softmax_backward(rows, cols, ya.data(), dya.data(), dxa.data(), log, v, as_stream(stream));
      },
      py::arg("y"), py::arg("dy"), py::arg("dx"), py::arg("cols"), py::arg("log"), py::arg("variant") = "tuned",
      py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
