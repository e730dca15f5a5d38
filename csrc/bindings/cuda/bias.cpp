// Bias add and bias gradient on the GPU / the simulator; CPU twin: bindings/bias.cpp.
#include "../../cuda/bias.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_bias(py::module_& m) {
  m.def(
      "bias_add",
      [](ArrayObject x, ArrayObject bias, ArrayObject y, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "bias_add", "x");
        const auto ba = array_arg<float>(bias, "bias_add", "bias");
        const auto ya = array_arg<float>(y, "bias_add", "y", Access::write);
        const int64_t channels = ba.size();
        check(xa.size() == ya.size(), "bias_add: sizes do not match");
        const int64_t rows = rows_of("bias_add", xa.size(), channels);
        py::gil_scoped_release release;
        sinapse::cuda::bias_add(rows, channels, xa.data(), ba.data(), ya.data(), as_stream(stream));
      },
      py::arg("x"), py::arg("bias"), py::arg("y"), py::arg("stream") = 0);

  m.def(
      "bias_backward",
      [](ArrayObject dy, ArrayObject db, std::uintptr_t stream) {
        const auto dya = array_arg<float>(dy, "bias_backward", "dy");
        const auto dba = array_arg<float>(db, "bias_backward", "db", Access::write);
        const int64_t channels = dba.size(), rows = rows_of("bias_backward", dya.size(), channels);
        py::gil_scoped_release release;
        sinapse::cuda::bias_backward(rows, channels, dya.data(), dba.data(), as_stream(stream));
      },
      py::arg("dy"), py::arg("db"), py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
