// Batch normalization on the CPU. Arrays are validated by sinapse.ops.batch_norm; here only
// the sizes that keep memory accesses in bounds are re-checked.
#include "../cpu/batch_norm.h"
#include "common.h"

namespace sinapse::bindings {

namespace {
void check_channels(int64_t channels, std::initializer_list<const py::array*> arrays) {
  for (const py::array* a : arrays)
    require(a->size() == channels, "batch_norm: a per-channel array has the wrong size");
}
int64_t rows_of(const F32Array& x, int64_t channels) {
  require(channels > 0 && x.size() % channels == 0, "batch_norm: x does not match the channel count");
  return x.size() / channels;
}
}  // namespace

void bind_batch_norm(py::module_& m) {
  m.def(
      "batch_norm_train",
      [](const F32Array& x, const F32Array& gamma, const F32Array& beta, F32Array& running_mean, F32Array& running_var,
         float momentum, float epsilon, F32Array& y, F32Array& save_mean, F32Array& save_invstd, int threads) {
        const int64_t channels = gamma.size(), rows = rows_of(x, channels);
        require(y.size() == x.size(), "batch_norm: y has the wrong size");
        check_channels(channels, {&beta, &running_mean, &running_var, &save_mean, &save_invstd});
        const float *xp = x.data(), *gp = gamma.data(), *bp = beta.data();
        float *rm = running_mean.mutable_data(), *rv = running_var.mutable_data(), *yp = y.mutable_data();
        float *sm = save_mean.mutable_data(), *si = save_invstd.mutable_data();
        const SimdPath path = process_simd("batch_norm_train");
        py::gil_scoped_release release;
        cpu::batch_norm_train(rows, channels, xp, gp, bp, rm, rv, momentum, epsilon, yp, sm, si, path,
                              resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("gamma").noconvert(), py::arg("beta").noconvert(),
      py::arg("running_mean").noconvert(), py::arg("running_var").noconvert(), py::arg("momentum"), py::arg("epsilon"),
      py::arg("y").noconvert(), py::arg("save_mean").noconvert(), py::arg("save_invstd").noconvert(),
      py::arg("threads") = 0);

  m.def(
      "batch_norm_infer",
      [](const F32Array& x, const F32Array& gamma, const F32Array& beta, const F32Array& running_mean,
         const F32Array& running_var, float epsilon, F32Array& y, F32Array& save_invstd, int threads) {
        const int64_t channels = gamma.size(), rows = rows_of(x, channels);
        require(y.size() == x.size(), "batch_norm: y has the wrong size");
        check_channels(channels, {&beta, &running_mean, &running_var, &save_invstd});
        const float *xp = x.data(), *gp = gamma.data(), *bp = beta.data(), *rm = running_mean.data(),
                    *rv = running_var.data();
        float *yp = y.mutable_data(), *si = save_invstd.mutable_data();
        const SimdPath path = process_simd("batch_norm_infer");
        py::gil_scoped_release release;
        cpu::batch_norm_infer(rows, channels, xp, gp, bp, rm, rv, epsilon, yp, si, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("gamma").noconvert(), py::arg("beta").noconvert(),
      py::arg("running_mean").noconvert(), py::arg("running_var").noconvert(), py::arg("epsilon"),
      py::arg("y").noconvert(), py::arg("save_invstd").noconvert(), py::arg("threads") = 0);

  m.def(
      "batch_norm_backward",
      [](const F32Array& x, const F32Array& dy, const F32Array& gamma, const F32Array& mean, const F32Array& invstd,
         bool training, F32Array& dx, F32Array& dgamma, F32Array& dbeta, int threads) {
        const int64_t channels = gamma.size(), rows = rows_of(x, channels);
        require(dy.size() == x.size() && dx.size() == x.size(), "batch_norm_backward: dy/dx have the wrong size");
        check_channels(channels, {&mean, &invstd, &dgamma, &dbeta});
        const float *xp = x.data(), *gp = dy.data(), *gm = gamma.data(), *mp = mean.data(), *ip = invstd.data();
        float *dxp = dx.mutable_data(), *dgp = dgamma.mutable_data(), *dbp = dbeta.mutable_data();
        const SimdPath path = process_simd("batch_norm_backward");
        py::gil_scoped_release release;
        cpu::batch_norm_backward(rows, channels, xp, gp, gm, mp, ip, training, dxp, dgp, dbp, path,
                                 resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("dy").noconvert(), py::arg("gamma").noconvert(), py::arg("mean").noconvert(),
      py::arg("invstd").noconvert(), py::arg("training"), py::arg("dx").noconvert(), py::arg("dgamma").noconvert(),
      py::arg("dbeta").noconvert(), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
