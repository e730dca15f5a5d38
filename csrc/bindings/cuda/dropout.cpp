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

  m.def(
      "dropout_channels",
      [](ArrayObject x, ArrayObject y, int64_t inner, int64_t channels, float rate, uint64_t seed, uint64_t offset,
         uint64_t lane, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "dropout_channels", "x");
        const auto ya = array_arg<float>(y, "dropout_channels", "y", Access::write);
        check(xa.size() == ya.size(), "dropout_channels: x and y must have the same size");
        check(rate >= 0.0f && rate < 1.0f, "dropout_channels: rate must be in [0, 1)");
        check(inner >= 1 && channels >= 1 && xa.size() % (inner * channels) == 0,
              "dropout_channels: x's size must be rows * inner * channels");
        py::gil_scoped_release release;
        sinapse::cuda::dropout_channels(xa.size() / (inner * channels), inner, channels, xa.data(), ya.data(), rate,
                                        seed, offset, lane, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("inner"), py::arg("channels"), py::arg("rate"), py::arg("seed"),
      py::arg("offset"), py::arg("lane"), py::arg("stream") = 0);

  m.def(
      "gaussian_noise",
      [](ArrayObject x, ArrayObject y, float stddev, uint64_t seed, uint64_t offset, uint64_t lane,
         std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "gaussian_noise", "x");
        const auto ya = array_arg<float>(y, "gaussian_noise", "y", Access::write);
        check(xa.size() == ya.size(), "gaussian_noise: x and y must have the same size");
        py::gil_scoped_release release;
        sinapse::cuda::gaussian_noise(xa.size(), xa.data(), ya.data(), stddev, seed, offset, lane, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("stddev"), py::arg("seed"), py::arg("offset"), py::arg("lane"),
      py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
