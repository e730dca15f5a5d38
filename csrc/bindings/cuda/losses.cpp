// Losses on the GPU / the simulator; CPU twin: bindings/losses.cpp. As on the CPU, the sum of
// the per-row losses is returned (read back from the device: the call synchronizes the stream).
#include "../../cuda/losses.h"
#include "module.h"

namespace sinapse::bindings::cuda {

void bind_losses(py::module_& m) {
  m.def(
      "loss",
      [](int kind, bool from_logits, ArrayObject y_true, ArrayObject labels, ArrayObject y_pred, ArrayObject weights,
         float delta, float grad_scale, ArrayObject per_row, ArrayObject grad, std::uintptr_t stream) {
        const char* op = "loss";
        const auto ta = optional_array_arg<float>(y_true, op, "y_true");
        const auto la = optional_array_arg<int32_t>(labels, op, "labels");
        const auto pa = array_arg<float>(y_pred, op, "y_pred");
        const auto wa = optional_array_arg<float>(weights, op, "weights");
        auto ra = array_arg<float>(per_row, op, "per_row", Access::write);
        auto ga = optional_array_arg<float>(grad, op, "grad", Access::write);
        const LossArgs a = loss_args(kind, from_logits, ta ? &ta : nullptr, la ? &la : nullptr, pa, wa ? &wa : nullptr,
                                     delta, grad_scale, ra, ga ? &ga : nullptr);
        py::gil_scoped_release release;
        DeviceScratch<float> total(1, as_stream(stream));
        sinapse::cuda::loss(a, total.data(), as_stream(stream));
        return static_cast<double>(total.first());
      },
      py::arg("kind"), py::arg("from_logits"), py::arg("y_true"), py::arg("labels"), py::arg("y_pred"),
      py::arg("weights"), py::arg("delta"), py::arg("grad_scale"), py::arg("per_row"), py::arg("grad"),
      py::arg("stream") = 0, "Per-row losses into per_row, gradients into grad (if given); returns their sum.");
}

}  // namespace sinapse::bindings::cuda
