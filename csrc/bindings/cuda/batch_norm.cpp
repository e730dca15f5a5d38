// Batch normalization on the GPU / the simulator; CPU twin: bindings/batch_norm.cpp.
#include "../../cuda/batch_norm.h"
#include "../kernel_variant.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
DeviceArray<float> in(ArrayObject obj, const char* op, const char* name) { return array_arg<float>(obj, op, name); }
DeviceArray<float> out(ArrayObject obj, const char* op, const char* name) {
  return array_arg<float>(obj, op, name, Access::write);
}
}  // namespace

void bind_batch_norm(py::module_& m) {
  m.def(
      "batch_norm_train",
      [](ArrayObject x, ArrayObject gamma, ArrayObject beta, ArrayObject running_mean, ArrayObject running_var,
         float momentum, float epsilon, ArrayObject y, ArrayObject save_mean, ArrayObject save_invstd,
         const std::string& variant, std::uintptr_t stream) {
        const char* op = "batch_norm_train";
        const KernelVariant v = parse_kernel_variant("batch_norm", variant);
        const auto xa = in(x, op, "x"), ga = in(gamma, op, "gamma"), ba = in(beta, op, "beta");
        const auto rm = out(running_mean, op, "running_mean"), rv = out(running_var, op, "running_var");
        const auto ya = out(y, op, "y"), sm = out(save_mean, op, "save_mean"), si = out(save_invstd, op, "save_invstd");
        const int64_t channels = ga.size(), rows = batch_norm_rows(xa, channels);
        check(ya.size() == xa.size(), "batch_norm: y has the wrong size");
        check_channels(channels, {ba.size(), rm.size(), rv.size(), sm.size(), si.size()});
        py::gil_scoped_release release;
        sinapse::cuda::batch_norm_train(rows, channels, xa.data(), ga.data(), ba.data(), rm.data(), rv.data(), momentum,
                                        epsilon, ya.data(), sm.data(), si.data(), v, as_stream(stream));
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"), py::arg("running_var"),
      py::arg("momentum"), py::arg("epsilon"), py::arg("y"), py::arg("save_mean"), py::arg("save_invstd"),
      py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "batch_norm_infer",
      [](ArrayObject x, ArrayObject gamma, ArrayObject beta, ArrayObject running_mean, ArrayObject running_var,
         float epsilon, ArrayObject y, ArrayObject save_invstd, const std::string& variant, std::uintptr_t stream) {
        const char* op = "batch_norm_infer";
        const KernelVariant v = parse_kernel_variant("batch_norm", variant);
        const auto xa = in(x, op, "x"), ga = in(gamma, op, "gamma"), ba = in(beta, op, "beta");
        const auto rm = in(running_mean, op, "running_mean"), rv = in(running_var, op, "running_var");
        const auto ya = out(y, op, "y"), si = out(save_invstd, op, "save_invstd");
        const int64_t channels = ga.size(), rows = batch_norm_rows(xa, channels);
        check(ya.size() == xa.size(), "batch_norm: y has the wrong size");
        check_channels(channels, {ba.size(), rm.size(), rv.size(), si.size()});
        py::gil_scoped_release release;
        sinapse::cuda::batch_norm_infer(rows, channels, xa.data(), ga.data(), ba.data(), rm.data(), rv.data(), epsilon,
                                        ya.data(), si.data(), v, as_stream(stream));
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"), py::arg("running_var"),
      py::arg("epsilon"), py::arg("y"), py::arg("save_invstd"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "batch_norm_backward",
      [](ArrayObject x, ArrayObject dy, ArrayObject gamma, ArrayObject mean, ArrayObject invstd, bool training,
         ArrayObject dx, ArrayObject dgamma, ArrayObject dbeta, const std::string& variant, std::uintptr_t stream) {
        const char* op = "batch_norm_backward";
        const KernelVariant v = parse_kernel_variant(op, variant);
        const auto xa = in(x, op, "x"), dya = in(dy, op, "dy"), ga = in(gamma, op, "gamma");
        const auto ma = in(mean, op, "mean"), ia = in(invstd, op, "invstd");
        const auto dxa = out(dx, op, "dx"), dga = out(dgamma, op, "dgamma"), dba = out(dbeta, op, "dbeta");
        const int64_t channels = ga.size(), rows = batch_norm_rows(xa, channels);
        check(dya.size() == xa.size() && dxa.size() == xa.size(), "batch_norm_backward: dy/dx have the wrong size");
        check_channels(channels, {ma.size(), ia.size(), dga.size(), dba.size()});
        py::gil_scoped_release release;
        sinapse::cuda::batch_norm_backward(rows, channels, xa.data(), dya.data(), ga.data(), ma.data(), ia.data(),
                                           training, dxa.data(), dga.data(), dba.data(), v, as_stream(stream));
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("mean"), py::arg("invstd"), py::arg("training"),
      py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("variant") = "tuned", py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
