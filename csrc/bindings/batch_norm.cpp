// Batch normalization on the CPU. Arrays are validated by sinapse.ops.batch_norm; here only
// the sizes that keep memory accesses in bounds are re-checked.
#include "../cpu/batch_norm.h"
#include "common.h"
#include "kernel_variant.h"
#include "shared_checks.h"

namespace sinapse::bindings {

void bind_batch_norm(py::module_& m) {
  m.def(
      "batch_norm_train",
      [](const F32Array& x, const F32Array& gamma, const F32Array& beta, F32Array& running_mean, F32Array& running_var,
         float momentum, float epsilon, F32Array& y, F32Array& save_mean, F32Array& save_invstd,
         const std::string& variant, int threads) {
        const int64_t channels = gamma.size(), rows = batch_norm_rows(x, channels);
        require(y.size() == x.size(), "batch_norm: y has the wrong size");
        check_channels(channels,
                       {beta.size(), running_mean.size(), running_var.size(), save_mean.size(), save_invstd.size()});
        const KernelVariant v = parse_kernel_variant("batch_norm", variant);
        const float *xp = x.data(), *gp = gamma.data(), *bp = beta.data();
        float *rm = running_mean.mutable_data(), *rv = running_var.mutable_data(), *yp = y.mutable_data();
        float *sm = save_mean.mutable_data(), *si = save_invstd.mutable_data();
        const SimdPath path = process_simd("batch_norm_train");
        py::gil_scoped_release release;
        cpu::batch_norm_train(rows, channels, xp, gp, bp, rm, rv, momentum, epsilon, yp, sm, si, v, path,
                              resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("gamma").noconvert(), py::arg("beta").noconvert(),
      py::arg("running_mean").noconvert(), py::arg("running_var").noconvert(), py::arg("momentum"), py::arg("epsilon"),
      py::arg("y").noconvert(), py::arg("save_mean").noconvert(), py::arg("save_invstd").noconvert(),
      py::arg("variant") = "tuned", py::arg("threads") = 0);

  m.def(
      "batch_norm_infer",
      [](const F32Array& x, const F32Array& gamma, const F32Array& beta, const F32Array& running_mean,
         const F32Array& running_var, float epsilon, F32Array& y, F32Array& save_invstd, const std::string& variant,
         int threads) {
        const int64_t channels = gamma.size(), rows = batch_norm_rows(x, channels);
        require(y.size() == x.size(), "batch_norm: y has the wrong size");
        check_channels(channels, {beta.size(), running_mean.size(), running_var.size(), save_invstd.size()});
        const KernelVariant v = parse_kernel_variant("batch_norm", variant);
        const float *xp = x.data(), *gp = gamma.data(), *bp = beta.data(), *rm = running_mean.data(),
                    *rv = running_var.data();
        float *yp = y.mutable_data(), *si = save_invstd.mutable_data();
        const SimdPath path = process_simd("batch_norm_infer");
        py::gil_scoped_release release;
        cpu::batch_norm_infer(rows, channels, xp, gp, bp, rm, rv, epsilon, yp, si, v, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("gamma").noconvert(), py::arg("beta").noconvert(),
      py::arg("running_mean").noconvert(), py::arg("running_var").noconvert(), py::arg("epsilon"),
      py::arg("y").noconvert(), py::arg("save_invstd").noconvert(), py::arg("variant") = "tuned",
      py::arg("threads") = 0);

  m.def(
      "batch_norm_backward",
      [](const F32Array& x, const F32Array& dy, const F32Array& gamma, const F32Array& mean, const F32Array& invstd,
         bool training, F32Array& dx, F32Array& dgamma, F32Array& dbeta, const std::string& variant, int threads) {
        const int64_t channels = gamma.size(), rows = batch_norm_rows(x, channels);
        require(dy.size() == x.size() && dx.size() == x.size(), "batch_norm_backward: dy/dx have the wrong size");
        check_channels(channels, {mean.size(), invstd.size(), dgamma.size(), dbeta.size()});
        const KernelVariant v = parse_kernel_variant("batch_norm_backward", variant);
        const float *xp = x.data(), *gp = dy.data(), *gm = gamma.data(), *mp = mean.data(), *ip = invstd.data();
        float *dxp = dx.mutable_data(), *dgp = dgamma.mutable_data(), *dbp = dbeta.mutable_data();
        const SimdPath path = process_simd("batch_norm_backward");
        py::gil_scoped_release release;
        cpu::batch_norm_backward(rows, channels, xp, gp, gm, mp, ip, training, dxp, dgp, dbp, v, path,
                                 resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("dy").noconvert(), py::arg("gamma").noconvert(), py::arg("mean").noconvert(),
      py::arg("invstd").noconvert(), py::arg("training"), py::arg("dx").noconvert(), py::arg("dgamma").noconvert(),
      py::arg("dbeta").noconvert(), py::arg("variant") = "tuned", py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
