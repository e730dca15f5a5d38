// Recurrent sequence ops on the CPU. Arrays are validated by sinapse.ops.rnn; here only the
// sizes that keep memory accesses in bounds are re-checked.
#include <optional>

#include <pybind11/stl.h>

#include "../cpu/rnn.h"
#include "common.h"
#include "rnn_args.h"

namespace sinapse::bindings {

namespace {
using U8Array = py::array_t<uint8_t, py::array::c_style>;
using OptF32 = std::optional<F32Array>;

template <class A>
int64_t size_or_absent(const std::optional<A>& arr) {
  return arr ? arr->size() : -1;
}
template <class A>
auto data_or_null(const std::optional<A>& arr) -> decltype(arr->data()) {
  return arr ? arr->data() : nullptr;
}
float* mutable_or_null(OptF32& arr) { return arr ? arr->mutable_data() : nullptr; }
}  // namespace

void bind_rnn(py::module_& m) {
  m.def(
      "rnn_workspace_floats",
      [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool backward, int64_t in_masks, bool rec_masks) {
        RnnArgs a = rnn_args(cell, N, T, D, H, false, true);
        if (in_masks < 0 || in_masks > a.gates()) throw std::invalid_argument("rnn: in_masks out of range");
        a.in_masks = in_masks;
        a.rec_masks = rec_masks ? a.gates() : 0;
        return backward ? rnn_backward_layout(a).total : rnn_forward_layout(a).total;
      },
      py::arg("cell"), py::arg("N"), py::arg("T"), py::arg("D"), py::arg("H"), py::arg("backward"),
      py::arg("in_masks") = 0, py::arg("rec_masks") = false,
      "Floats of the forward workspace (backward=False) or the backward scratch (both backends), with "
      "in_masks input dropout mask blocks and recurrent dropout masks or not.");

  m.def(
      "rnn_forward",
      [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards, bool return_sequences,
         const F32Array& x, const F32Array& kernel, const F32Array& rkernel, const OptF32& bias,
         const std::optional<U8Array>& mask, const OptF32& h0, const OptF32& c0, F32Array& y, F32Array& hT, OptF32& cT,
         F32Array& ws, const OptF32& dropout_mask, const OptF32& recurrent_dropout_mask, const std::string& variant,
         const std::string& simd, int threads) {
        RnnArgs a = rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
        set_rnn_dropout(a, size_or_absent(dropout_mask), data_or_null(dropout_mask),
                        size_or_absent(recurrent_dropout_mask), data_or_null(recurrent_dropout_mask));
        check_rnn_forward(
            a, {x.size(), kernel.size(), rkernel.size(), size_or_absent(bias), size_or_absent(mask), size_or_absent(h0),
                size_or_absent(c0), y.size(), hT.size(), size_or_absent(cT), ws.size()});
        const KernelVariant v = rnn_variant(a, variant);
        const SimdPath path = resolve_simd(simd);
        const float *xp = x.data(), *kp = kernel.data(), *rp = rkernel.data(), *bp = data_or_null(bias);
        const float *h0p = data_or_null(h0), *c0p = data_or_null(c0);
        const uint8_t* mp = data_or_null(mask);
        float *yp = y.mutable_data(), *hTp = hT.mutable_data(), *cTp = mutable_or_null(cT), *wp = ws.mutable_data();
        py::gil_scoped_release release;
        cpu::rnn_forward(a, xp, kp, rp, bp, mp, h0p, c0p, yp, hTp, cTp, wp, v, path, resolve_threads(threads));
      },
      py::arg("cell"), py::arg("N"), py::arg("T"), py::arg("D"), py::arg("H"), py::arg("go_backwards"),
      py::arg("return_sequences"), py::arg("x").noconvert(), py::arg("kernel").noconvert(),
      py::arg("recurrent_kernel").noconvert(), py::arg("bias").noconvert(), py::arg("mask").noconvert(),
      py::arg("h0").noconvert(), py::arg("c0").noconvert(), py::arg("y").noconvert(), py::arg("h_T").noconvert(),
      py::arg("c_T").noconvert(), py::arg("workspace").noconvert(), py::arg("dropout_mask").noconvert(),
      py::arg("recurrent_dropout_mask").noconvert(), py::arg("variant"), py::arg("simd"), py::arg("threads") = 0);

  m.def(
      "rnn_backward",
      [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards, bool return_sequences,
         const F32Array& x, const F32Array& kernel, const F32Array& rkernel, const std::optional<U8Array>& mask,
         const F32Array& ws, const F32Array& dy, const OptF32& dhT, const OptF32& dcT, F32Array& dx, F32Array& dkernel,
         F32Array& drkernel, OptF32& dbias, F32Array& dh0, OptF32& dc0, F32Array& scratch, const OptF32& dropout_mask,
         const OptF32& recurrent_dropout_mask, const std::string& variant, const std::string& simd, int threads) {
        RnnArgs a = rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
        set_rnn_dropout(a, size_or_absent(dropout_mask), data_or_null(dropout_mask),
                        size_or_absent(recurrent_dropout_mask), data_or_null(recurrent_dropout_mask));
        check_rnn_backward(a, {x.size(), kernel.size(), rkernel.size(), size_or_absent(mask), ws.size(), dy.size(),
                               size_or_absent(dhT), size_or_absent(dcT), dx.size(), dkernel.size(), drkernel.size(),
                               size_or_absent(dbias), dh0.size(), size_or_absent(dc0), scratch.size()});
        const KernelVariant v = rnn_variant(a, variant);
        const SimdPath path = resolve_simd(simd);
        const float *xp = x.data(), *kp = kernel.data(), *rp = rkernel.data(), *wp = ws.data(), *dyp = dy.data();
        const float *dhTp = data_or_null(dhT), *dcTp = data_or_null(dcT);
        const uint8_t* mp = data_or_null(mask);
        float *dxp = dx.mutable_data(), *dkp = dkernel.mutable_data(), *drp = drkernel.mutable_data();
        float *dbp = mutable_or_null(dbias), *dh0p = dh0.mutable_data(), *dc0p = mutable_or_null(dc0);
        float* sp = scratch.mutable_data();
        py::gil_scoped_release release;
        cpu::rnn_backward(a, xp, kp, rp, mp, wp, dyp, dhTp, dcTp, dxp, dkp, drp, dbp, dh0p, dc0p, sp, v, path,
                          resolve_threads(threads));
      },
      py::arg("cell"), py::arg("N"), py::arg("T"), py::arg("D"), py::arg("H"), py::arg("go_backwards"),
      py::arg("return_sequences"), py::arg("x").noconvert(), py::arg("kernel").noconvert(),
      py::arg("recurrent_kernel").noconvert(), py::arg("mask").noconvert(), py::arg("workspace").noconvert(),
      py::arg("dy").noconvert(), py::arg("dh_T").noconvert(), py::arg("dc_T").noconvert(), py::arg("dx").noconvert(),
      py::arg("dkernel").noconvert(), py::arg("drecurrent_kernel").noconvert(), py::arg("dbias").noconvert(),
      py::arg("dh0").noconvert(), py::arg("dc0").noconvert(), py::arg("scratch").noconvert(),
      py::arg("dropout_mask").noconvert(), py::arg("recurrent_dropout_mask").noconvert(), py::arg("variant"),
      py::arg("simd"), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
