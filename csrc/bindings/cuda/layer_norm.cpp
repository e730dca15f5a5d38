// Layer / group normalization on the GPU / the simulator; CPU twin: bindings/layer_norm.cpp.
#include "../../cuda/layer_norm.h"
#include "../kernel_variant.h"
#include "../layer_norm_checks.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
using Array = DeviceArray<float>;
Array in(ArrayObject obj, const char* op, const char* name) { return array_arg<float>(obj, op, name); }
Array out(ArrayObject obj, const char* op, const char* name) { return array_arg<float>(obj, op, name, Access::write); }
const Array* ptr(const Array& a) { return a ? &a : nullptr; }
}  // namespace

void bind_layer_norm(py::module_& m) {
  m.def(
      "layer_norm_forward",
      [](ArrayObject x, ArrayObject gamma, ArrayObject beta, ArrayObject y, ArrayObject mean, ArrayObject inv_std,
         int64_t batch, int64_t segments, int64_t groups, int64_t length, float epsilon, const std::string& variant,
         std::uintptr_t stream) {
        const char* op = "layer_norm_forward";
        const LayerNormArgs a = layer_norm_geometry(op, batch, segments, groups, length, epsilon);
        const KernelVariant v = parse_kernel_variant(op, variant);
        const auto xa = in(x, op, "x"), ya = out(y, op, "y"), ma = out(mean, op, "mean"),
                   ia = out(inv_std, op, "inv_std");
        const auto ga = optional_array_arg<float>(gamma, op, "gamma"), ba = optional_array_arg<float>(beta, op, "beta");
        check_layer_norm_sizes<Array>(op, a, {&xa, &ya}, {&ma, &ia}, {ptr(ga), ptr(ba)});
        py::gil_scoped_release release;
        sinapse::cuda::layer_norm_forward(a, xa.data(), ga.data(), ba.data(), ya.data(), ma.data(), ia.data(), v,
                                          as_stream(stream));
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("y"), py::arg("mean"), py::arg("inv_std"),
      py::arg("batch"), py::arg("segments"), py::arg("groups"), py::arg("length"), py::arg("epsilon"),
      py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "layer_norm_backward",
      [](ArrayObject dy, ArrayObject x, ArrayObject gamma, ArrayObject mean, ArrayObject inv_std, ArrayObject dx,
         ArrayObject dgamma, ArrayObject dbeta, int64_t batch, int64_t segments, int64_t groups, int64_t length,
         const std::string& variant, std::uintptr_t stream) {
        const char* op = "layer_norm_backward";
        const LayerNormArgs a = layer_norm_geometry(op, batch, segments, groups, length, 0.0f);
        const KernelVariant v = parse_kernel_variant(op, variant);
        const auto dya = in(dy, op, "dy"), xa = in(x, op, "x"), ma = in(mean, op, "mean"),
                   ia = in(inv_std, op, "inv_std");
        const auto ga = optional_array_arg<float>(gamma, op, "gamma");
        const auto dxa = out(dx, op, "dx"), dga = out(dgamma, op, "dgamma"), dba = out(dbeta, op, "dbeta");
        check_layer_norm_sizes<Array>(op, a, {&dya, &xa, &dxa}, {&ma, &ia}, {ptr(ga), &dga, &dba});
        py::gil_scoped_release release;
        sinapse::cuda::layer_norm_backward(a, xa.data(), dya.data(), ga.data(), ma.data(), ia.data(), dxa.data(),
                                           dga.data(), dba.data(), v, as_stream(stream));
      },
      py::arg("dy"), py::arg("x"), py::arg("gamma"), py::arg("mean"), py::arg("inv_std"), py::arg("dx"),
      py::arg("dgamma"), py::arg("dbeta"), py::arg("batch"), py::arg("segments"), py::arg("groups"), py::arg("length"),
      py::arg("variant") = "tuned", py::arg("stream") = 0);

#if defined(SINAPSE_SIM)
  m.def(
      "layer_norm_forward_mutant",
      [](ArrayObject x, ArrayObject y, ArrayObject mean, ArrayObject inv_std, int64_t rows, int64_t length,
         const std::string& which) {
        const char* op = "layer_norm_forward_mutant";
        const LayerNormArgs a = layer_norm_geometry(op, rows, 1, 1, length, 1e-3f);
        const auto xa = in(x, op, "x"), ya = out(y, op, "y"), ma = out(mean, op, "mean"),
                   ia = out(inv_std, op, "inv_std");
        check_layer_norm_sizes<Array>(op, a, {&xa, &ya}, {&ma, &ia}, {});
        py::gil_scoped_release release;
        sinapse::cuda::layer_norm_forward_mutant(a, xa.data(), nullptr, nullptr, ya.data(), ma.data(), ia.data(),
                                                 which);
      },
      py::arg("x"), py::arg("y"), py::arg("mean"), py::arg("inv_std"), py::arg("rows"), py::arg("length"),
      py::arg("which"), "A deliberately broken layer_norm forward kernel (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
