// axpy on the GPU / the simulator; CPU twin: bindings/axpy.cpp.
#include "../../cuda/axpy.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_axpy(py::module_& m) {
  m.def(
      "axpy",
      [](float alpha, ArrayObject x, ArrayObject y, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "axpy", "x");
        const auto ya = array_arg<float>(y, "axpy", "y", Access::write);
        check(xa.size() == ya.size(), "axpy: x and y must have the same size");
        py::gil_scoped_release release;
        sinapse::cuda::axpy(ya.size(), alpha, xa.data(), ya.data(), as_stream(stream));
      },
      py::arg("alpha"), py::arg("x"), py::arg("y"), py::arg("stream") = 0, "y += alpha * x (in place).");
}

}  // namespace sinapse::bindings::cuda
