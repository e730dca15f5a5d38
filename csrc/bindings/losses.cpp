// Losses on the CPU.
#include <optional>

#include <pybind11/stl.h>

#include "../cpu/losses.h"
#include "common.h"

namespace sinapse::bindings {

using I32Array = py::array_t<int32_t, py::array::c_style>;

void bind_losses(py::module_& m) {
  m.def(
      "loss",
      [](int kind, bool from_logits, const std::optional<F32Array>& y_true, const std::optional<I32Array>& labels,
         const F32Array& y_pred, const std::optional<F32Array>& weights, float delta, float grad_scale,
         F32Array& per_row, std::optional<F32Array>& grad, int threads) {
        require(kind >= 0 && kind <= 5, "loss: kind code out of range");
        require(y_pred.ndim() >= 1, "loss: y_pred must have at least 1 dimension");
        const int64_t cols = y_pred.shape(y_pred.ndim() - 1);
        const int64_t rows = cols ? y_pred.size() / cols : 0;
        const bool sparse = kind == static_cast<int>(LossKind::sparse_categorical_crossentropy);
        require(sparse ? (labels && labels->size() == rows) : (y_true && y_true->size() == y_pred.size()),
                "loss: y_true/labels do not match y_pred");
        require(
            per_row.size() == rows && (!weights || weights->size() == rows) && (!grad || grad->size() == y_pred.size()),
            "loss: per_row, weights or grad have the wrong size");
        require(cols > 0 || rows == 0, "loss: y_pred has no columns");
        LossArgs a{static_cast<LossKind>(kind),
                   from_logits,
                   rows,
                   cols,
                   y_true ? y_true->data() : nullptr,
                   labels ? labels->data() : nullptr,
                   y_pred.data(),
                   weights ? weights->data() : nullptr,
                   delta,
                   grad_scale,
                   per_row.mutable_data(),
                   grad ? grad->mutable_data() : nullptr};
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
