// Losses on the CPU.
#include <optional>

#include <pybind11/stl.h>

#include "../cpu/losses.h"
#include "common.h"
#include "shared_checks.h"

namespace sinapse::bindings {

using I32Array = py::array_t<int32_t, py::array::c_style>;

void bind_losses(py::module_& m) {
  m.def(
      "loss",
      [](int kind, bool from_logits, const std::optional<F32Array>& y_true, const std::optional<I32Array>& labels,
         const F32Array& y_pred, const std::optional<F32Array>& weights, float delta, float grad_scale,
         F32Array& per_row, std::optional<F32Array>& grad, int threads) {
        const LossArgs a =
            loss_args(kind, from_logits, y_true ? &*y_true : nullptr, labels ? &*labels : nullptr, y_pred,
                      weights ? &*weights : nullptr, delta, grad_scale, per_row, grad ? &*grad : nullptr);
        const SimdPath path = process_simd("loss");
        py::gil_scoped_release release;
        return cpu::loss(a, path, resolve_threads(threads));
      },
      py::arg("kind"), py::arg("from_logits"), py::arg("y_true").noconvert(), py::arg("labels").noconvert(),
      py::arg("y_pred").noconvert(), py::arg("weights").noconvert(), py::arg("delta"), py::arg("grad_scale"),
      py::arg("per_row").noconvert(), py::arg("grad").noconvert(), py::arg("threads") = 0,
      "Per-row losses into per_row, gradients into grad (if given); returns their sum.");
}

}  // namespace sinapse::bindings
