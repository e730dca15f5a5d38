#include "../cpu/gemm.h"

#include <optional>

#include <pybind11/stl.h>

#include "../cpu/gemm_ukernels.h"
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

void bind_gemm(py::module_& m) {
  m.def("gemm", &run_gemm, py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("out").noconvert(),
        py::arg("bias").noconvert() = py::none(), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("activation") = 0, py::arg("variant") = "tuned",
        py::arg("simd") = "generic", py::arg("threads") = 0,
        "out = act(alpha * op(a) @ op(b) + beta * out + bias). Validated arguments expected: "
        "use sinapse.ops.gemm.");

  m.def(
      "gemm_blocking",
      [](const std::string& simd) {
        const cpu::GemmBlocking bk = cpu::gemm_blocking(resolve_simd(simd));
        py::dict d;
        d["simd"] = simd_path_name(bk.path);
        d["ukernel"] = bk.ukernel_name;
        d["has_left_half"] = bk.ukernel_left_half != nullptr;
        d["MR"] = bk.MR;
        d["NR"] = bk.NR;
        d["KC"] = bk.KC;
        d["MC"] = bk.MC;
        d["NC"] = bk.NC;
        return d;
      },
      py::arg("simd"), "The blocksize table entry (and micro-kernel name) of a SIMD path.");

  m.def(
      "gemm_threads",
      [](int64_t M, int64_t N, int64_t K) { return threads_for(2.0 * static_cast<double>(M) * N * K, grain::kFlops); },
      py::arg("M"), py::arg("N"), py::arg("K"),
      "Threads a GEMM of this shape runs on under the current setting (small ones stay serial).");

  m.def(
      "set_gemm_blocking",
      [](const std::string& simd, int KC, int MC, int NC) { cpu::set_gemm_blocking(resolve_simd(simd), KC, MC, NC); },
      py::arg("simd"), py::arg("KC"), py::arg("MC"), py::arg("NC"),
      "Override KC, MC, NC of a SIMD path's blocksizes (experiments; see reset_gemm_blocking).");
  m.def(
      "reset_gemm_blocking", [](const std::string& simd) { cpu::reset_gemm_blocking(resolve_simd(simd)); },
      py::arg("simd"), "Restore the built-in blocksizes of a SIMD path.");

  // The micro-kernel alone, on packed panels, so tests and coursework can exercise it
  // without the blocking loops around it.
  m.def(
      "gemm_ukernel",
      [](const std::string& simd, const F32Array& a_packed, const F32Array& b_packed, F32Array& c, float alpha,
         float beta, bool left_half) {
        const cpu::GemmBlocking bk = cpu::gemm_blocking(resolve_simd(simd));
        require(!left_half || bk.ukernel_left_half, "gemm_ukernel: this path has no left-half kernel");
        const cpu::GemmUkernel kernel = left_half ? bk.ukernel_left_half : bk.ukernel;
        require(a_packed.ndim() == 2 && a_packed.shape(1) == bk.MR, "gemm_ukernel: a_packed must be (kc, MR)");
        require(b_packed.ndim() == 2 && b_packed.shape(1) == bk.NR, "gemm_ukernel: b_packed must be (kc, NR)");
        require(a_packed.shape(0) == b_packed.shape(0), "gemm_ukernel: a_packed and b_packed need the same kc");
        require(c.ndim() == 2 && c.shape(0) == bk.MR && c.shape(1) >= bk.NR, "gemm_ukernel: c must be (MR, >= NR)");
        const int64_t kc = a_packed.shape(0), ldc = c.shape(1);
        const float* ap = a_packed.data();
        const float* bp = b_packed.data();
        float* cp = c.mutable_data();
        py::gil_scoped_release release;
        kernel(kc, ap, bp, cp, ldc, alpha, beta);
      },
      py::arg("simd"), py::arg("a_packed").noconvert(), py::arg("b_packed").noconvert(), py::arg("c").noconvert(),
      py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("left_half") = false,
      "Run one micro-kernel: c[:MR, :NR] = alpha * a_packed.T @ b_packed + beta * c "
      "(left_half: only columns [0, NR/2) are computed and written).");
}

}  // namespace sinapse::bindings
