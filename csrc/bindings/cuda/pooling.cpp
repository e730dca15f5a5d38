// Max and average pooling on the GPU / the simulator; CPU twin: bindings/pooling.cpp.
#include <pybind11/stl.h>

#include "../../cuda/pooling.h"
#include "../kernel_variant.h"
#include "../pool_geometry.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
using Geometry = std::array<int64_t, 12>;
using PoolForward = void (*)(const PoolArgs&, const float*, float*, KernelVariant, cudaStream_t);

// Max and average pooling's forwards take the same arguments: one binding body serves both.
void def_pool_forward(py::module_& m, const char* name, PoolForward kernel) {
  m.def(
      name,
      [name, kernel](const Geometry& g, ArrayObject x, ArrayObject y, const std::string& variant,
                     std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto xa = array_arg<float>(x, name, "x");
        const auto ya = array_arg<float>(y, name, "y", Access::write);
        check_pool_sizes(p, xa.size(), ya.size(), false);
        py::gil_scoped_release release;
        kernel(p, xa.data(), ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("y"), py::arg("variant") = "tuned", py::arg("stream") = 0);
}
}  // namespace

void bind_pooling(py::module_& m) {
  def_pool_forward(m, "max_pool2d_forward", sinapse::cuda::max_pool2d_forward);

  m.def(
      "max_pool2d_backward",
      [](const Geometry& g, ArrayObject x, ArrayObject dy, ArrayObject dx, const std::string& variant,
         std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto xa = array_arg<float>(x, "max_pool2d_backward", "x");
        const auto dya = array_arg<float>(dy, "max_pool2d_backward", "dy");
        const auto dxa = array_arg<float>(dx, "max_pool2d_backward", "dx", Access::write);
        check_pool_sizes(p, dya.size(), dxa.size(), true);
        check(xa.size() == dxa.size(), "pooling: x and dx must have the same size");
        py::gil_scoped_release release;
        sinapse::cuda::max_pool2d_backward(p, xa.data(), dya.data(), dxa.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("dy"), py::arg("dx"), py::arg("variant") = "tuned",
      py::arg("stream") = 0);

  def_pool_forward(m, "avg_pool2d_forward", sinapse::cuda::avg_pool2d_forward);

  m.def(
      "avg_pool2d_backward",
      [](const Geometry& g, ArrayObject dy, ArrayObject dx, const std::string& variant, std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto dya = array_arg<float>(dy, "avg_pool2d_backward", "dy");
        const auto dxa = array_arg<float>(dx, "avg_pool2d_backward", "dx", Access::write);
        check_pool_sizes(p, dya.size(), dxa.size(), true);
        py::gil_scoped_release release;
        sinapse::cuda::avg_pool2d_backward(p, dya.data(), dxa.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy"), py::arg("dx"), py::arg("variant") = "tuned", py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
