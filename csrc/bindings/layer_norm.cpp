// Layer / group normalization on the CPU. Arrays are validated by sinapse.ops.layer_norm;
// here only the sizes that keep memory accesses in bounds are re-checked.
#include <pybind11/stl.h>

#include <optional>

#include "../cpu/layer_norm.h"
#include "common.h"
#include "kernel_variant.h"
#include "layer_norm_checks.h"

namespace sinapse::bindings {

namespace {
using Optional = std::optional<F32Array>;
const F32Array* ptr(const Optional& a) { return a ? &*a : nullptr; }
const float* data(const Optional& a) { return a ? a->data() : nullptr; }
}  // namespace

void bind_layer_norm(py::module_& m) {
  m.def(
      "layer_norm_forward",
      [](const F32Array& x, const Optional& gamma, const Optional& beta, F32Array& y, F32Array& mean, F32Array& inv_std,
         int64_t batch, int64_t segments, int64_t groups, int64_t length, float epsilon, const std::string& variant,
         int threads) {
        const char* op = "layer_norm_forward";
        const LayerNormArgs a = layer_norm_geometry(op, batch, segments, groups, length, epsilon);
        check_layer_norm_sizes<F32Array>(op, a, {&x, &y}, {&mean, &inv_std}, {ptr(gamma), ptr(beta)});
        const KernelVariant v = parse_kernel_variant(op, variant);
        const float *xp = x.data(), *gp = data(gamma), *bp = data(beta);
        float *yp = y.mutable_data(), *mp = mean.mutable_data(), *ip = inv_std.mutable_data();
        const SimdPath path = process_simd(op);
        py::gil_scoped_release release;
        cpu::layer_norm_forward(a, xp, gp, bp, yp, mp, ip, v, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("gamma").noconvert().none(true), py::arg("beta").noconvert().none(true),
      py::arg("y").noconvert(), py::arg("mean").noconvert(), py::arg("inv_std").noconvert(), py::arg("batch"),
      py::arg("segments"), py::arg("groups"), py::arg("length"), py::arg("epsilon"), py::arg("variant") = "tuned",
      py::arg("threads") = 0);

  m.def(
      "layer_norm_backward",
      [](const F32Array& dy, const F32Array& x, const Optional& gamma, const F32Array& mean, const F32Array& inv_std,
         F32Array& dx, F32Array& dgamma, F32Array& dbeta, int64_t batch, int64_t segments, int64_t groups,
         int64_t length, const std::string& variant, int threads) {
        const char* op = "layer_norm_backward";
        const LayerNormArgs a = layer_norm_geometry(op, batch, segments, groups, length, 0.0f);
        check_layer_norm_sizes<F32Array>(op, a, {&dy, &x, &dx}, {&mean, &inv_std}, {ptr(gamma), &dgamma, &dbeta});
        const KernelVariant v = parse_kernel_variant(op, variant);
        const float *dyp = dy.data(), *xp = x.data(), *gp = data(gamma), *mp = mean.data(), *ip = inv_std.data();
        float *dxp = dx.mutable_data(), *dgp = dgamma.mutable_data(), *dbp = dbeta.mutable_data();
        const SimdPath path = process_simd(op);
        py::gil_scoped_release release;
        cpu::layer_norm_backward(a, xp, dyp, gp, mp, ip, dxp, dgp, dbp, v, path, resolve_threads(threads));
      },
      py::arg("dy").noconvert(), py::arg("x").noconvert(), py::arg("gamma").noconvert().none(true),
      py::arg("mean").noconvert(), py::arg("inv_std").noconvert(), py::arg("dx").noconvert(),
      py::arg("dgamma").noconvert(), py::arg("dbeta").noconvert(), py::arg("batch"), py::arg("segments"),
      py::arg("groups"), py::arg("length"), py::arg("variant") = "tuned", py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
