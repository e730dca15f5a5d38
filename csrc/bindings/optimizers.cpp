// Fused optimizer updates and gradient-clipping pieces on the CPU. Arrays and hyperparameters
// are validated by sinapse.ops.optimizers; here only what keeps memory accesses in bounds.
#include "../cpu/optimizers.h"
#include "common.h"
#include "shared_checks.h"

namespace sinapse::bindings {

namespace {

// An optional state slot: None, or a float32 C-contiguous array of n elements.
float* slot(const py::object& obj, int64_t n, const char* name) {
  if (obj.is_none()) return nullptr;
  require(py::isinstance<F32Array>(obj), std::string("optimizer_update: ") + name + " must be a float32 array");
  auto arr = py::reinterpret_borrow<py::array>(obj);
  require(arr.dtype().is(py::dtype::of<float>()) && (arr.flags() & py::array::c_style) && arr.writeable(),
          std::string("optimizer_update: ") + name + " must be a writeable, C-contiguous float32 array");
  require(arr.size() == n, std::string("optimizer_update: ") + name + " has the wrong size");
  return static_cast<float*>(arr.mutable_data());
}

}  // namespace

void bind_optimizers(py::module_& m) {
  m.def(
      "optimizer_update",
      [](int kind, F32Array& param, const F32Array& grad, const py::object& s0, const py::object& s1,
         const py::object& s2, float lr, float weight_decay, float l2, float grad_scale, float clipvalue,
         float momentum, float rho, float beta_1, float beta_2, float epsilon, int64_t step, bool nesterov,
         bool centered, bool amsgrad, const std::string& simd, int threads) {
        const OptimizerArgs a = optimizer_args(kind, lr, weight_decay, l2, grad_scale, clipvalue, momentum, rho, beta_1,
                                               beta_2, epsilon, step, nesterov, centered, amsgrad);
        require(grad.size() == param.size(), "optimizer_update: grad and param must have the same size");
        cpu::OptimizerBuffers b;
        b.n = param.size();
        b.param = param.mutable_data();
        b.grad = grad.data();
        b.s0 = slot(s0, b.n, "s0");
        b.s1 = slot(s1, b.n, "s1");
        b.s2 = slot(s2, b.n, "s2");
        check_optimizer_slots(a, b.s0, b.s1, b.s2);
        const SimdPath path = resolve_simd(simd);
        py::gil_scoped_release release;
        cpu::optimizer_update(a, b, path, resolve_threads(threads));
      },
      py::arg("kind"), py::arg("param").noconvert(), py::arg("grad").noconvert(), py::arg("s0"), py::arg("s1"),
      py::arg("s2"), py::arg("lr"), py::arg("weight_decay"), py::arg("l2"), py::arg("grad_scale"), py::arg("clipvalue"),
      py::arg("momentum"), py::arg("rho"), py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"),
      py::arg("nesterov"), py::arg("centered"), py::arg("amsgrad"), py::arg("simd"), py::arg("threads") = 0,
      "One optimizer step over param (in place) and its state slots s0..s2 (common/optimizers.h).");

  m.def(
      "sum_squares",
      [](const F32Array& x, const std::string& simd, int threads) {
        const SimdPath path = resolve_simd(simd);
        const float* p = x.data();
        const int64_t n = x.size();
        py::gil_scoped_release release;
        return cpu::sum_squares(n, p, path, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("simd"), py::arg("threads") = 0, "sum(x**2) in double, deterministic.");

  m.def(
      "scale_clip",
      [](const F32Array& x, F32Array& y, float scale, float clipvalue, int threads) {
        require(x.size() == y.size(), "scale_clip: x and y must have the same size");
        const float* xp = x.data();
        float* yp = y.mutable_data();
        const int64_t n = x.size();
        py::gil_scoped_release release;
        cpu::scale_clip(n, xp, yp, scale, clipvalue, resolve_threads(threads));
      },
      py::arg("x").noconvert(), py::arg("y").noconvert(), py::arg("scale"), py::arg("clipvalue"),
      py::arg("threads") = 0, "y = clip(x * scale, -clipvalue, clipvalue) (clipvalue <= 0: no clip).");
}

}  // namespace sinapse::bindings
