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

  m.def(
      "dropout_channels",
      [](const F32Array& x, F32Array& y, int64_t inner, int64_t channels, float rate, uint64_t seed, uint64_t offset,
         uint64_t lane, int threads) {
        require(x.size() == y.size(), "dropout_channels: x and y must have the same size");
        require(rate >= 0.0f && rate < 1.0f, "dropout_channels: rate must be in [0, 1)");
        require(inner >= 1 && channels >= 1 && x.size() % (inner * channels) == 0,
                "dropout_channels: x's size must be rows * inner * channels");
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("dropout_channels");
        py::gil_scoped_release release;
        cpu::dropout_channels(x.size() / (inner * channels), inner, channels, xp, yp, rate, seed, offset, lane, path,
                              resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("inner"), py::arg("channels"), py::arg("rate"),
      py::arg("seed"), py::arg("offset"), py::arg("lane"), py::arg("threads") = 0);

  m.def(
      "gaussian_noise",
      [](const F32Array& x, F32Array& y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane, int threads) {
        require(x.size() == y.size(), "gaussian_noise: x and y must have the same size");
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("gaussian_noise");
        py::gil_scoped_release release;
        cpu::gaussian_noise(x.size(), xp, yp, stddev, seed, offset, lane, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("stddev"), py::arg("seed"), py::arg("offset"),
      py::arg("lane"), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
