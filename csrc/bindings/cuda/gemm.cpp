// GEMM on the GPU / the simulator; CPU twin: bindings/gemm.cpp (the same three variants).
#include "../../cuda/gemm.h"
#include "../gemm_variant.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {

GemmArgs read_gemm(const char* op, ArrayObject a, ArrayObject b, ArrayObject out, ArrayObject bias, bool trans_a,
                   bool trans_b, float alpha, float beta, int activation) {
  const auto aa = array_arg<float>(a, op, "a"), ba = array_arg<float>(b, op, "b");
  auto oa = array_arg<float>(out, op, "out", Access::write);
  const auto bias_a = optional_array_arg<float>(bias, op, "bias");
  return gemm_args(aa, ba, oa, bias_a ? &bias_a : nullptr, trans_a, trans_b, alpha, beta, activation);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](ArrayObject a, ArrayObject b, ArrayObject out, ArrayObject bias, bool trans_a, bool trans_b, float alpha,
         float beta, int activation, const std::string& variant, const std::string& simd, std::uintptr_t stream) {
        const GemmArgs g = read_gemm("gemm", a, b, out, bias, trans_a, trans_b, alpha, beta, activation);
        const GemmVariant v = parse_gemm_variant(variant);
        check_simd_name("gemm", simd);
        py::gil_scoped_release release;
        sinapse::cuda::gemm(g, v, as_stream(stream));
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("bias") = py::none(), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("activation") = 0,
      py::arg("variant") = "tuned", py::arg("simd") = "generic", py::arg("stream") = 0,
      "out = act(alpha * op(a) @ op(b) + beta * out + bias). Validated arguments expected: use sinapse.ops.gemm.");

#if defined(SINAPSE_SIM)
  m.def(
      "gemm_mutant",
      [](ArrayObject a, ArrayObject b, ArrayObject out, ArrayObject bias, bool trans_a, bool trans_b, float alpha,
         float beta, int activation, const std::string& which) {
        const GemmArgs g = read_gemm("gemm_mutant", a, b, out, bias, trans_a, trans_b, alpha, beta, activation);
        py::gil_scoped_release release;
        sinapse::cuda::gemm_mutant(g, which, nullptr);
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("bias") = py::none(), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("activation") = 0,
      py::arg("which") = "", "A deliberately broken GEMM variant (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
