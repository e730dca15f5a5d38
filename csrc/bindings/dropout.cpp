// Dropout on the CPU.
#include "../cpu/dropout.h"
#include "common.h"

namespace sinapse::bindings {

void bind_dropout(py::module_& m) {
  m.def(
      "dropout",
      [](const F32Array& x, F32Array& y, float rate, uint64_t seed, uint64_t offset, int threads) {
        require(x.size() == y.size(), "dropout: x and y must have the same size");
        require(rate >= 0.0f && rate < 1.0f, "dropout: rate must be in [0, 1)");
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("dropout");
        py::gil_scoped_release release;
        cpu::dropout(x.size(), xp, yp, rate, seed, offset, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("rate"), py::arg("seed"), py::arg("offset"),
      py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
