// Max and average pooling on the CPU.
#include <pybind11/stl.h>

#include "../cpu/pooling.h"
#include "common.h"
#include "kernel_variant.h"
#include "pool_geometry.h"

namespace sinapse::bindings {

namespace {
using Geometry = std::array<int64_t, 12>;
using PoolForward = void (*)(const PoolArgs&, const float*, float*, KernelVariant, SimdPath, int);

// Max and average pooling's forwards take the same arguments: one binding body serves both.
void def_pool_forward(py::module_& m, const char* name, PoolForward kernel) {
  m.def(
      name,
      [name, kernel](const Geometry& g, const F32Array& x, F32Array& y, const std::string& variant, int threads) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        check_pool_sizes(p, x.size(), y.size(), false);
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const SimdPath path = process_simd(name);
        py::gil_scoped_release release;
        kernel(p, xp, yp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("variant") = "tuned",
      py::arg("threads") = 0);
}
}  // namespace

void bind_pooling(py::module_& m) {
  def_pool_forward(m, "max_pool2d_forward", cpu::max_pool2d_forward);

  m.def(
      "max_pool2d_backward",
      [](const Geometry& g, const F32Array& x, const F32Array& dy, F32Array& dx, const std::string& variant,
         int threads) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        check_pool_sizes(p, dy.size(), dx.size(), true);
        require(x.size() == dx.size(), "pooling: x and dx must have the same size");
        const float* xp = x.data();
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("max_pool2d_backward");
        py::gil_scoped_release release;
        cpu::max_pool2d_backward(p, xp, gp, dp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("x").noconvert(), py::arg("dy").noconvert(), py::arg("dx").noconvert(),
      py::arg("variant") = "tuned", py::arg("threads") = 0);

  def_pool_forward(m, "avg_pool2d_forward", cpu::avg_pool2d_forward);

  m.def(
      "avg_pool2d_backward",
      [](const Geometry& g, const F32Array& dy, F32Array& dx, const std::string& variant, int threads) {
        const PoolArgs p = pool_args(g);
        const KernelVariant v = parse_kernel_variant("pooling", variant);
        check_pool_sizes(p, dy.size(), dx.size(), true);
        const float* gp = dy.data();
        float* dp = dx.mutable_data();
        const SimdPath path = process_simd("avg_pool2d_backward");
        py::gil_scoped_release release;
        cpu::avg_pool2d_backward(p, gp, dp, v, path, resolve_threads(threads));
      },
      py::arg("geometry"), py::arg("dy").noconvert(), py::arg("dx").noconvert(), py::arg("variant") = "tuned",
      py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
