#include "../cpu/gemm.h"

#include <optional>

#include <pybind11/stl.h>

#include "common.h"
#include "kernel_variant.h"
#include "shared_checks.h"

namespace sinapse::bindings {

namespace {

void run_gemm(const F32Array& a, const F32Array& b, F32Array& out, const std::optional<F32Array>& bias, bool trans_a,
              bool trans_b, float alpha, float beta, int activation, const std::string& variant,
              const std::string& simd, int threads) {
  const GemmArgs g = gemm_args(a, b, out, bias ? &*bias : nullptr, trans_a, trans_b, alpha, beta, activation);
  const GemmVariant v = parse_gemm_variant(variant);
  const SimdPath path = resolve_simd(simd);
  const int nthreads = resolve_threads(threads);
  py::gil_scoped_release release;
  cpu::gemm(g, v, path, nthreads);
}

}  // namespace

void bind_gemm_config(py::module_& m);

void bind_gemm(py::module_& m) {
  m.def("gemm", &run_gemm, py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert(),
        py::arg("bias").noconvert() = py::none(), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("activation") = 0, py::arg("variant") = "tuned",
        py::arg("simd") = "generic", py::arg("threads") = 0,
        "out = act(alpha * op(a) @ op(b) + beta * out + bias). Validated arguments expected: "
        "use sinapse.ops.gemm.");

  m.def(
      "gemm_threads",
      [](int64_t M, int64_t N, int64_t K) { return threads_for(2.0 * static_cast<double>(M) * N * K, grain::kFlops); },
      py::arg("M"), py::arg("N"), py::arg("K"),
      "Threads a GEMM of this shape runs on under the current setting (small ones stay serial).");

  bind_gemm_config(m);  // bindings/gemm_config.cpp: the configuration, the tuner's hooks
}

}  // namespace sinapse::bindings
