#include "../cpu/axpy.h"
#include "common.h"

namespace sinapse::bindings {

void bind_axpy(py::module_& m) {
  m.def(
      "axpy",
      [](float alpha, const F32Array& x, F32Array& y, int threads) {
        require(x.size() == y.size(), "axpy: x and y must have the same size");
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const int64_t n = y.size();
        py::gil_scoped_release release;
        cpu::axpy(n, alpha, xp, yp, resolve_threads(threads));
      },
      py::arg("alpha"), py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("threads") = 0,
      "y += alpha * x (in place).");
}

}  // namespace sinapse::bindings
