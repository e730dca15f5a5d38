// Recurrent sequence ops on the GPU / the simulator; CPU twin: bindings/rnn.cpp (whose
// rnn_workspace_floats gives the workspace and scratch sizes for both backends).
#include "../../cuda/rnn.h"
#include "../rnn_args.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {
template <class T>
int64_t size_or_absent(const DeviceArray<T>& a) {
  return a ? a.size() : -1;
}
}  // namespace

void bind_rnn(py::module_& m) {
  m.def(
      "rnn_forward",
      [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards, bool return_sequences, ArrayObject x,
         ArrayObject kernel, ArrayObject recurrent_kernel, ArrayObject bias, ArrayObject mask, ArrayObject h0,
         ArrayObject c0, ArrayObject y, ArrayObject h_T, ArrayObject c_T, ArrayObject workspace,
         ArrayObject dropout_mask, ArrayObject recurrent_dropout_mask, const std::string& variant,
         const std::string& simd, std::uintptr_t stream) {
        const char* op = "rnn_forward";
        RnnArgs a = rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
        const auto dma = optional_array_arg<float>(dropout_mask, op, "dropout_mask");
        const auto rma = optional_array_arg<float>(recurrent_dropout_mask, op, "recurrent_dropout_mask");
        set_rnn_dropout(a, size_or_absent(dma), dma.data(), size_or_absent(rma), rma.data());
        const auto xa = array_arg<float>(x, op, "x"), ka = array_arg<float>(kernel, op, "kernel");
        const auto ra = array_arg<float>(recurrent_kernel, op, "recurrent_kernel");
        const auto ba = optional_array_arg<float>(bias, op, "bias");
        const auto ma = optional_array_arg<uint8_t>(mask, op, "mask");
        const auto h0a = optional_array_arg<float>(h0, op, "h0"), c0a = optional_array_arg<float>(c0, op, "c0");
        const auto ya = array_arg<float>(y, op, "y", Access::write);
        const auto hTa = array_arg<float>(h_T, op, "h_T", Access::write);
        const auto cTa = optional_array_arg<float>(c_T, op, "c_T", Access::write);
        const auto wa = array_arg<float>(workspace, op, "workspace", Access::write);
        check_rnn_forward(a,
                          {xa.size(), ka.size(), ra.size(), size_or_absent(ba), size_or_absent(ma), size_or_absent(h0a),
                           size_or_absent(c0a), ya.size(), hTa.size(), size_or_absent(cTa), wa.size()});
        const KernelVariant v = rnn_variant(a, variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::rnn_forward(a, xa.data(), ka.data(), ra.data(), ba.data(), ma.data(), h0a.data(), c0a.data(),
                                   ya.data(), hTa.data(), cTa.data(), wa.data(), v, as_stream(stream));
      },
      py::arg("cell"), py::arg("N"), py::arg("T"), py::arg("D"), py::arg("H"), py::arg("go_backwards"),
      py::arg("return_sequences"), py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
      py::arg("mask"), py::arg("h0"), py::arg("c0"), py::arg("y"), py::arg("h_T"), py::arg("c_T"), py::arg("workspace"),
      py::arg("dropout_mask"), py::arg("recurrent_dropout_mask"), py::arg("variant"), py::arg("simd"),
      py::arg("stream") = 0);

  m.def(
      "rnn_backward",
      [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards, bool return_sequences, ArrayObject x,
         ArrayObject kernel, ArrayObject recurrent_kernel, ArrayObject mask, ArrayObject workspace, ArrayObject dy,
         ArrayObject dh_T, ArrayObject dc_T, ArrayObject dx, ArrayObject dkernel, ArrayObject drecurrent_kernel,
         ArrayObject dbias, ArrayObject dh0, ArrayObject dc0, ArrayObject scratch, ArrayObject dropout_mask,
         ArrayObject recurrent_dropout_mask, const std::string& variant, const std::string& simd,
         std::uintptr_t stream) {
        const char* op = "rnn_backward";
        RnnArgs a = rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
        const auto dma = optional_array_arg<float>(dropout_mask, op, "dropout_mask");
        const auto rma = optional_array_arg<float>(recurrent_dropout_mask, op, "recurrent_dropout_mask");
        set_rnn_dropout(a, size_or_absent(dma), dma.data(), size_or_absent(rma), rma.data());
        const auto xa = array_arg<float>(x, op, "x"), ka = array_arg<float>(kernel, op, "kernel");
        const auto ra = array_arg<float>(recurrent_kernel, op, "recurrent_kernel");
        const auto ma = optional_array_arg<uint8_t>(mask, op, "mask");
        const auto wa = array_arg<float>(workspace, op, "workspace"), dya = array_arg<float>(dy, op, "dy");
        const auto dhTa = optional_array_arg<float>(dh_T, op, "dh_T");
        const auto dcTa = optional_array_arg<float>(dc_T, op, "dc_T");
        const auto dxa = array_arg<float>(dx, op, "dx", Access::write);
        const auto dka = array_arg<float>(dkernel, op, "dkernel", Access::write);
        const auto dra = array_arg<float>(drecurrent_kernel, op, "drecurrent_kernel", Access::write);
        const auto dba = optional_array_arg<float>(dbias, op, "dbias", Access::write);
        const auto dh0a = array_arg<float>(dh0, op, "dh0", Access::write);
        const auto dc0a = optional_array_arg<float>(dc0, op, "dc0", Access::write);
        const auto sa = array_arg<float>(scratch, op, "scratch", Access::write);
        check_rnn_backward(a, {xa.size(), ka.size(), ra.size(), size_or_absent(ma), wa.size(), dya.size(),
                               size_or_absent(dhTa), size_or_absent(dcTa), dxa.size(), dka.size(), dra.size(),
                               size_or_absent(dba), dh0a.size(), size_or_absent(dc0a), sa.size()});
        const KernelVariant v = rnn_variant(a, variant);
        check_simd_name(op, simd);
        py::gil_scoped_release release;
        sinapse::cuda::rnn_backward(a, xa.data(), ka.data(), ra.data(), ma.data(), wa.data(), dya.data(), dhTa.data(),
                                    dcTa.data(), dxa.data(), dka.data(), dra.data(), dba.data(), dh0a.data(),
                                    dc0a.data(), sa.data(), v, as_stream(stream));
      },
      py::arg("cell"), py::arg("N"), py::arg("T"), py::arg("D"), py::arg("H"), py::arg("go_backwards"),
      py::arg("return_sequences"), py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("mask"),
      py::arg("workspace"), py::arg("dy"), py::arg("dh_T"), py::arg("dc_T"), py::arg("dx"), py::arg("dkernel"),
      py::arg("drecurrent_kernel"), py::arg("dbias"), py::arg("dh0"), py::arg("dc0"), py::arg("scratch"),
      py::arg("dropout_mask"), py::arg("recurrent_dropout_mask"), py::arg("variant"), py::arg("simd"),
      py::arg("stream") = 0);
}

}  // namespace sinapse::bindings::cuda
