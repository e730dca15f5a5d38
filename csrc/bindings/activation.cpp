// Element-wise activations on the CPU.
#include <pybind11/stl.h>

#include "../cpu/activation.h"
#include "common.h"
#include "prelu_geometry.h"
#include "shared_checks.h"

namespace sinapse::bindings {

void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](const F32Array& x, F32Array& y, int kind, float alpha, int threads) {
        require(x.size() == y.size(), "activation_forward: x and y must have the same size");
        const ActKind k = act_kind(kind);
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("activation_forward");
        py::gil_scoped_release release;
        cpu::activation_forward(x.size(), xp, yp, k, alpha, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("kind"), py::arg("alpha"), py::arg("threads") = 0);

  m.def(
      "activation_backward",
      [](const F32Array& x, const F32Array& dy, F32Array& dx, int kind, float alpha, int threads) {
        require(x.size() == dy.size() && x.size() == dx.size(),
                "activation_backward: x, dy, dx must have the same size");
        const ActKind k = act_kind(kind);
        const float* xp = x.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("activation_backward");
        py::gil_scoped_release release;
        cpu::activation_backward(x.size(), xp, gp, dp, k, alpha, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("kind"), py::arg("alpha"),
      py::arg("threads") = 0);

  m.def(
      "prelu_forward",
      [](const F32Array& x, const F32Array& alpha, F32Array& y, int rank, const PreluDims& dims,
         const PreluDims& astrides, int threads) {
        require(x.size() == y.size(), "prelu_forward: x and y must have the same size");
        const PreluArgs p = prelu_args(rank, dims, astrides, x.size(), alpha.size());
        const float* xp = x.data();
        const float* ap = alpha.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd("prelu_forward");
        py::gil_scoped_release release;
        cpu::prelu_forward(p, xp, ap, yp, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("alpha").noconvert(), py::arg("y").noconvert(), py::arg("rank"),
      py::arg("dims"), py::arg("astrides"), py::arg("threads") = 0);

  m.def(
      "prelu_backward",
      [](const F32Array& x, const F32Array& alpha, const F32Array& dy, F32Array& dx, F32Array& dalpha, int rank,
         const PreluDims& dims, const PreluDims& astrides, int threads) {
        require(x.size() == dy.size() && x.size() == dx.size(), "prelu_backward: x, dy, dx must have the same size");
        require(alpha.size() == dalpha.size(), "prelu_backward: alpha and dalpha must have the same size");
        const PreluArgs p = prelu_args(rank, dims, astrides, x.size(), alpha.size());
        const float* xp = x.data();
        const float* ap = alpha.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        float* dap = dalpha.mutable_data();
        const SimdPath path = process_simd("prelu_backward");
        py::gil_scoped_release release;
        cpu::prelu_backward(p, xp, ap, gp, dp, dap, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("alpha").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(),
      py::arg("dalpha").noconvert(), py::arg("rank"), py::arg("dims"), py::arg("astrides"), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
