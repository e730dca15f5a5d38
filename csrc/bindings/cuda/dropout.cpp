// Dropout on the GPU / the simulator (the same Philox mask as the CPU); CPU twin: bindings/dropout.cpp.
#include "../../cuda/dropout.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_dropout(py::module_& m) {
  m.def(
      "dropout",
      [](ArrayObject x, ArrayObject y, float rate, uint64_t seed, uint64_t offset, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "dropout", "x");
        const auto ya = array_arg<float>(y, "dropout", "y", Access::write);
        check(xa.size() == ya.size(), "dropout: x and y must have the same size");
        check(rate >= 0.0f && rate < 1.0f, "dropout: rate must be in [0, 1)");
        py::gil_scoped_release release;
        sinapse::cuda::dropout(xa.size(), xa.data(), ya.data(), rate, seed, offset, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("rate"), py::arg("seed"), py::arg("offset"), py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
