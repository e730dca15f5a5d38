// Fused optimizer updates and gradient-clipping pieces on the GPU / the simulator; CPU twin:
// bindings/optimizers.cpp.
#include "../../cuda/optimizers.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {

// An optional state slot: None, or a writeable float32 array of n elements.
DeviceArray<float> slot(ArrayObject obj, int64_t n, const char* name) {
  const auto a = optional_array_arg<float>(obj, "optimizer_update", name, Access::write);
  check(!a || a.size() == n, std::string("optimizer_update: ") + name + " has the wrong size");
  return a;
}

// Partial sums per array: enough blocks to fill a GPU, combined in a fixed order.
constexpr int kSumSquaresPartials = 256;

}  // namespace

void bind_optimizers(py::module_& m) {
  m.def(
      "optimizer_update",
      [](int kind, ArrayObject param, ArrayObject grad, ArrayObject s0, ArrayObject s1, ArrayObject s2, float lr,
         float weight_decay, float l2, float grad_scale, float clipvalue, float momentum, float rho, float beta_1,
         float beta_2, float epsilon, int64_t step, bool nesterov, bool centered, bool amsgrad, const std::string& simd,
         std::uintptr_t stream) {
        const OptimizerArgs a = optimizer_args(kind, lr, weight_decay, l2, grad_scale, clipvalue, momentum, rho, beta_1,
                                               beta_2, epsilon, step, nesterov, centered, amsgrad);
        const auto pa = array_arg<float>(param, "optimizer_update", "param", Access::write);
        const auto ga = array_arg<float>(grad, "optimizer_update", "grad");
        check(ga.size() == pa.size(), "optimizer_update: grad and param must have the same size");
        const int64_t n = pa.size();
        const auto a0 = slot(s0, n, "s0"), a1 = slot(s1, n, "s1"), a2 = slot(s2, n, "s2");
        check_optimizer_slots(a, bool(a0), bool(a1), bool(a2));
        check_simd_name("optimizer_update", simd);
        py::gil_scoped_release release;
        sinapse::cuda::optimizer_update(a, n, pa.data(), ga.data(), a0.data(), a1.data(), a2.data(), as_stream(stream));
      },
      py::arg("kind"), py::arg("param"), py::arg("grad"), py::arg("s0"), py::arg("s1"), py::arg("s2"), py::arg("lr"),
      py::arg("weight_decay"), py::arg("l2"), py::arg("grad_scale"), py::arg("clipvalue"), py::arg("momentum"),
      py::arg("rho"), py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), py::arg("nesterov"),
      py::arg("centered"), py::arg("amsgrad"), py::arg("simd"), py::arg("stream") = 0,
      "One optimizer step over param (in place) and its state slots s0..s2 (common/optimizers.h).");

  m.def(
      "sum_squares",
      [](ArrayObject x, const std::string& simd, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "sum_squares", "x");
        check_simd_name("sum_squares", simd);
        py::gil_scoped_release release;
        DeviceScratch<double> work(kSumSquaresPartials + 1, as_stream(stream));
        sinapse::cuda::sum_squares(xa.size(), xa.data(), work.data() + 1, kSumSquaresPartials, work.data(),
                                   as_stream(stream));
        return work.first();
      },
      py::arg("x"), py::arg("simd"), py::arg("stream") = 0,
      "sum(x**2) in double, deterministic (synchronizes the stream to return it).");

  // CUDA only: sum_squares without the read-back, so global_norm reduces many arrays and then
  // copies their sums to the host once.
  m.def(
      "sum_squares_into",
      [](ArrayObject x, ArrayObject out, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "sum_squares_into", "x");
        const auto oa = array_arg<double>(out, "sum_squares_into", "out", Access::write);
        check(oa.size() >= 2, "sum_squares_into: out needs at least 2 values (the sum, then partial sums)");
        const int partials = static_cast<int>(std::min<int64_t>(oa.size() - 1, kSumSquaresPartials));
        py::gil_scoped_release release;
        sinapse::cuda::sum_squares(xa.size(), xa.data(), oa.data() + 1, partials, oa.data(), as_stream(stream));
      },
      py::arg("x"), py::arg("out"), py::arg("stream") = 0,
      "out[0] = sum(x**2) in double, on the device; out[1:] is scratch for the partial sums.");

  m.def(
      "scale_clip",
      [](ArrayObject x, ArrayObject y, float scale, float clipvalue, std::uintptr_t stream) {
        const auto xa = array_arg<float>(x, "scale_clip", "x");
        const auto ya = array_arg<float>(y, "scale_clip", "y", Access::write);
        check(xa.size() == ya.size(), "scale_clip: x and y must have the same size");
        py::gil_scoped_release release;
        sinapse::cuda::scale_clip(xa.size(), xa.data(), ya.data(), scale, clipvalue, as_stream(stream));
      },
      py::arg("x"), py::arg("y"), py::arg("scale"), py::arg("clipvalue"), py::arg("stream") = 0,
      "y = clip(x * scale, -clipvalue, clipvalue) (clipvalue <= 0: no clip).");
}

}  // namespace sinapse::bindings::cuda
