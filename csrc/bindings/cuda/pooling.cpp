// Max and average pooling on the GPU / the simulator; CPU twin: bindings/pooling.cpp.
#include <pybind11/stl.h>

#include "../../cuda/pooling.h"
#include "../kernel_variant.h"
#include "../pool_geometry.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
using Geometry = std::array<int64_t, 12>;
}  // namespace

void bind_pooling(py::module_& m) {
  m.def(
      "max_pool_forward",
      [](const Geometry& g, ArrayObject x, ArrayObject y, const std::string& variant, std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto xa = array_arg<float>(x, "max_pool_forward", "x");
        const auto ya = array_arg<float>(y, "max_pool_forward", "y", Access::write);
        check_pool_sizes(p, xa.size(), ya.size(), false);
        py::gil_scoped_release release;
        sinapse::cuda::max_pool_forward(p, xa.data(), ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("y"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "max_pool_backward",
      [](const Geometry& g, ArrayObject x, ArrayObject dy, ArrayObject dx, const std::string& variant,
         std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto xa = array_arg<float>(x, "max_pool_backward", "x");
        const auto dya = array_arg<float>(dy, "max_pool_backward", "dy");
        const auto dxa = array_arg<float>(dx, "max_pool_backward", "dx", Access::write);
        check_pool_sizes(p, dya.size(), dxa.size(), true);
        check(xa.size() == dxa.size(), "pooling: x and dx must have the same size");
        py::gil_scoped_release release;
        sinapse::cuda::max_pool_backward(p, xa.data(), dya.data(), dxa.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("dy"), py::arg("dx"), py::arg("variant") = "tuned",
      py::arg("stream") = 0);

  m.def(
      "avg_pool_forward",
      [](const Geometry& g, ArrayObject x, ArrayObject y, const std::string& variant, std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto xa = array_arg<float>(x, "avg_pool_forward", "x");
        const auto ya = array_arg<float>(y, "avg_pool_forward", "y", Access::write);
        check_pool_sizes(p, xa.size(), ya.size(), false);
        py::gil_scoped_release release;
        sinapse::cuda::avg_pool_forward(p, xa.data(), ya.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x"), py::arg("y"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "avg_pool_backward",
      [](const Geometry& g, ArrayObject dy, ArrayObject dx, const std::string& variant, std::uintptr_t stream) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        const auto dya = array_arg<float>(dy, "avg_pool_backward", "dy");
        const auto dxa = array_arg<float>(dx, "avg_pool_backward", "dx", Access::write);
        check_pool_sizes(p, dya.size(), dxa.size(), true);
        py::gil_scoped_release release;
        sinapse::cuda::avg_pool_backward(p, dya.data(), dxa.data(), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy"), py::arg("dx"), py::arg("variant") = "tuned", py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
