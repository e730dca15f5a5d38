// Element-wise activations on the GPU / the simulator; CPU twin: bindings/activation.cpp.
#include <pybind11/stl.h>

#include "../../cuda/activation.h"
#include "../prelu_geometry.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](ArrayObject x, ArrayObject y, int kind, float alpha, std::uintptr_t stream) {
        const char* op = "activation_forward";
        const auto xa = array_arg<float>(x, op, "x");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check(xa.size() == ya.size(), "activation_forward: x and y must have the same size");
        const ActKind k = act_kind(kind);
        py::gil_scoped_release release;
        sinapse::cuda::activation_forward(xa.size(), xa.data(), ya.data(), k, alpha, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("kind"), py::arg("alpha"), py::arg("stream") = 0);

  m.def(
      "activation_backward",
      [](ArrayObject x, ArrayObject dy, ArrayObject dx, int kind, float alpha, std::uintptr_t stream) {
        const char* op = "activation_backward";
        const auto xa = array_arg<float>(x, op, "x");
        const auto dya = array_arg<float>(dy, op, "dy");
        const auto dxa = array_arg<float>(dx, op, "dx", Access::write);
        check(xa.size() == dya.size() && xa.size() == dxa.size(),
              "activation_backward: x, dy, dx must have the same size");
        const ActKind k = act_kind(kind);
        py::gil_scoped_release release;
        sinapse::cuda::activation_backward(xa.size(), xa.data(), dya.data(), dxa.data(), k, alpha, as_stream(stream));
      },
      py::arg("x"), py::arg("dy"), py::arg("dx"), py::arg("kind"), py::arg("alpha"), py::arg("stream") = 0);

  m.def(
      "prelu_forward",
      [](ArrayObject x, ArrayObject alpha, ArrayObject y, int rank, const PreluDims& dims, const PreluDims& astrides,
         std::uintptr_t stream) {
        const char* op = "prelu_forward";
        const auto xa = array_arg<float>(x, op, "x");
        const auto aa = array_arg<float>(alpha, op, "alpha");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        check(xa.size() == ya.size(), "prelu_forward: x and y must have the same size");
        const PreluArgs p = prelu_args(rank, dims, astrides, xa.size(), aa.size());
        py::gil_scoped_release release;
        sinapse::cuda::prelu_forward(p, xa.data(), aa.data(), ya.data(), as_stream(stream));
      },
      py::arg("x"), py::arg("alpha"), py::arg("y"), py::arg("rank"), py::arg("dims"), py::arg("astrides"),
      py::arg("stream") = 0);

  m.def(
      "prelu_backward",
      [](ArrayObject x, ArrayObject alpha, ArrayObject dy, ArrayObject dx, ArrayObject dalpha, int rank,
         const PreluDims& dims, const PreluDims& astrides, std::uintptr_t stream) {
        const char* op = "prelu_backward";
        const auto xa = array_arg<float>(x, op, "x");
        const auto aa = array_arg<float>(alpha, op, "alpha");
        const auto dya = array_arg<float>(dy, op, "dy");
        const auto dxa = array_arg<float>(dx, op, "dx", Access::write);
        const auto daa = array_arg<float>(dalpha, op, "dalpha", Access::write);
        check(xa.size() == dya.size() && xa.size() == dxa.size(), "prelu_backward: x, dy, dx must have the same size");
        check(aa.size() == daa.size(), "prelu_backward: alpha and dalpha must have the same size");
        const PreluArgs p = prelu_args(rank, dims, astrides, xa.size(), aa.size());
        py::gil_scoped_release release;
        sinapse::cuda::prelu_backward(p, xa.data(), aa.data(), dya.data(), dxa.data(), daa.data(), as_stream(stream));
      },
      py::arg("x"), py::arg("alpha"), py::arg("dy"), py::arg("dx"), py::arg("dalpha"), py::arg("rank"), py::arg("dims"),
      py::arg("astrides"), py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
