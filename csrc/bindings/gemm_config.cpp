// The GEMM configuration seen from Python: the microarchitecture, the table, the model, the
// live configuration per SIMD path and the micro-kernels alone (sinapse.cpu, sinapse.tune).
#include <pybind11/stl.h>

#include "../common/cpu_arch.h"
#include "../cpu/gemm_config.h"
#include "../cpu/gemm_ukernels.h"
#include "common.h"

namespace sinapse::bindings {

namespace {

py::dict cache_dict(const CacheLevel& c) {
  py::dict d;
  d["size"] = c.size;
  d["ways"] = c.ways;
  d["line"] = c.line;
  d["shared_by"] = c.shared_by;
  return d;
}

CacheLevel cache_from(const py::dict& d) {
  CacheLevel c;
  c.size = d["size"].cast<int64_t>();
  c.ways = d["ways"].cast<int>();
  c.line = d.contains("line") ? d["line"].cast<int>() : 64;
  c.shared_by = d.contains("shared_by") ? d["shared_by"].cast<int>() : 1;
  return c;
}

const char* split_name(cpu::GemmSplit s) { return s == cpu::GemmSplit::cols ? "cols" : "rows"; }

cpu::GemmSplit parse_split(const std::string& s) {
  require(s == "rows" || s == "cols", "set_gemm_blocking: split='" + s + "' must be 'rows' or 'cols'");
  return s == "cols" ? cpu::GemmSplit::cols : cpu::GemmSplit::rows;
}

py::dict blocking_dict(SimdPath path) {
  const cpu::GemmBlocking bk = cpu::gemm_blocking(path);
  py::dict d;
  d["simd"] = simd_path_name(bk.path);
  d["ukernel"] = bk.ukernel_name;
  d["has_left_half"] = bk.ukernel_left_half != nullptr;
  d["MR"] = bk.MR;
  d["NR"] = bk.NR;
  d["KC"] = bk.KC;
  d["MC"] = bk.MC;
  d["NC"] = bk.NC;
  d["prefetch_k"] = bk.prefetch_k;
  d["split"] = split_name(bk.split);
  d["l2_bytes"] = bk.l2_bytes;
  d["source"] = cpu::gemm_blocking_source(path);
  return d;
}

const cpu::UkernelInfo& ukernel_for(SimdPath path, const std::string& name) {
  if (name.empty()) {
    const cpu::GemmBlocking bk = cpu::gemm_blocking(path);
    return *cpu::find_gemm_ukernel(path, bk.ukernel_name);
  }
  const cpu::UkernelInfo* u = cpu::find_gemm_ukernel(path, name);
  require(u != nullptr, "gemm_ukernel: no micro-kernel '" + name + "' on " + simd_path_name(path));
  return *u;
}

void run_ukernel(const std::string& simd, const F32Array& a_packed, const F32Array& b_packed, F32Array& c, float alpha,
                 float beta, bool left_half, const std::string& ukernel) {
  const cpu::UkernelInfo& u = ukernel_for(resolve_simd(simd), ukernel);
  require(!left_half || u.ukernel_left_half, "gemm_ukernel: this path has no left-half kernel");
  const cpu::GemmUkernel kernel = left_half ? u.ukernel_left_half : u.ukernel;
  require(a_packed.ndim() == 2 && a_packed.shape(1) == u.MR, "gemm_ukernel: a_packed must be (kc, MR)");
  require(b_packed.ndim() == 2 && b_packed.shape(1) == u.NR, "gemm_ukernel: b_packed must be (kc, NR)");
  require(a_packed.shape(0) == b_packed.shape(0), "gemm_ukernel: a_packed and b_packed need the same kc");
  require(c.ndim() == 2 && c.shape(0) == u.MR && c.shape(1) >= u.NR, "gemm_ukernel: c must be (MR, >= NR)");
  const int64_t kc = a_packed.shape(0), ldc = c.shape(1);
  const float* ap = a_packed.data();
  const float* bp = b_packed.data();
  float* cp = c.mutable_data();
  py::gil_scoped_release release;
  kernel(kc, ap, bp, cp, ldc, alpha, beta);
}

}  // namespace

void bind_gemm_config(py::module_& m) {
  m.def(
      "microarchitecture",
      []() {
        const CpuArch& a = cpu_arch();
        py::dict d, caches;
        d["name"] = a.name;
        d["vendor"] = a.vendor;
        d["family"] = a.family;
        d["model"] = a.model;
        d["model_name"] = a.model_name;
        caches["l1d"] = cache_dict(a.l1d);
        caches["l2"] = cache_dict(a.l2);
        caches["l3"] = cache_dict(a.l3);
        caches["source"] = a.cache_source;
        d["caches"] = caches;
        return d;
      },
      "The detected microarchitecture: name, vendor, CPUID family/model, brand string, data caches.");
  m.def("microarchitecture_name", &microarchitecture_name, py::arg("vendor"), py::arg("family"), py::arg("model"),
        py::arg("avx512"), py::arg("avx2"), "The table name of a vendor/family/model.");

  m.def(
      "gemm_blocking", [](const std::string& simd) { return blocking_dict(resolve_simd(simd)); }, py::arg("simd"),
      "The configuration in use on a SIMD path: micro-kernel, MR, NR, KC, MC, NC, split, source.");
  m.def(
      "set_gemm_blocking",
      [](const std::string& simd, int KC, int MC, int NC, const std::string& ukernel, const std::string& split,
         const std::string& source, bool as_default) {
        const SimdPath path = resolve_simd(simd);
        const std::string s = split.empty() ? split_name(cpu::gemm_blocking(path).split) : split;
        cpu::set_gemm_blocking(path, ukernel, KC, MC, NC, parse_split(s), source, as_default);
      },
      py::arg("simd"), py::arg("KC") = 0, py::arg("MC") = 0, py::arg("NC") = 0, py::arg("ukernel") = "",
      py::arg("split") = "", py::arg("source") = "set_gemm_blocking", py::arg("as_default") = false,
      "Override a SIMD path's configuration (0 or '' keeps a value; see reset_gemm_blocking).");
  m.def(
      "reset_gemm_blocking",
      [](const std::string& simd, bool to_builtin) { cpu::reset_gemm_blocking(resolve_simd(simd), to_builtin); },
      py::arg("simd"), py::arg("to_builtin") = false,
      "Restore the default configuration (to_builtin: the table/model row, dropping a tuned cache).");

  m.def(
      "gemm_ukernels",
      [](const std::string& simd) {
        int n = 0;
        const cpu::UkernelInfo* list = cpu::gemm_ukernels(resolve_simd(simd), &n);
        py::list out;
        for (int i = 0; i < n; ++i) {
          py::dict d;
          d["name"] = list[i].name;
          d["MR"] = list[i].MR;
          d["NR"] = list[i].NR;
          d["has_left_half"] = list[i].ukernel_left_half != nullptr;
          d["prefetch_k"] = list[i].prefetch_k;
          out.append(d);
        }
        return out;
      },
      py::arg("simd"), "The micro-kernel shapes compiled for a SIMD path.");

  m.def(
      "gemm_table",
      []() {
        int n = 0;
        const cpu::GemmTableRow* rows = cpu::gemm_table(&n);
        py::list out;
        for (int i = 0; i < n; ++i) {
          py::dict d;
          d["arch"] = rows[i].arch;
          d["simd"] = simd_path_name(rows[i].path);
          d["shape"] = rows[i].shape;
          d["KC"] = rows[i].KC;
          d["MC"] = rows[i].MC;
          d["NC"] = rows[i].NC;
          d["split"] = split_name(rows[i].split);
          d["derivation"] = rows[i].derivation;
          out.append(d);
        }
        return out;
      },
      "The per-microarchitecture table (gemm_config.cpp).");
  m.def(
      "gemm_nominal_caches",
      [](const std::string& arch) -> py::object {
        CacheLevel l1, l2, l3;
        if (!cpu::nominal_caches(arch, &l1, &l2, &l3)) return py::none();
        py::dict d;
        d["l1d"] = cache_dict(l1);
        d["l2"] = cache_dict(l2);
        d["l3"] = cache_dict(l3);
        return d;
      },
      py::arg("arch"), "The nominal caches a table architecture's model rows were computed from.");
  m.def(
      "gemm_model",
      [](const std::string& simd, const std::string& arch, const py::dict& caches) {
        const SimdPath path = resolve_simd(simd);
        const cpu::UkernelInfo* u = cpu::gemm_model_ukernel(path, cpu::fma_units(arch, path));
        const cpu::ModelBlocksizes b = cpu::gemm_model_blocksizes(cache_from(caches["l1d"]), cache_from(caches["l2"]),
                                                                  cache_from(caches["l3"]), u->MR, u->NR);
        py::dict d;
        d["ukernel"] = u->name;
        d["MR"] = u->MR;
        d["NR"] = u->NR;
        d["KC"] = b.KC;
        d["MC"] = b.MC;
        d["NC"] = b.NC;
        return d;
      },
      py::arg("simd"), py::arg("arch"), py::arg("caches"),
      "The analytical model (Low et al., TOMS 2016): micro-kernel and KC/MC/NC for given caches "
      "({'l1d'|'l2'|'l3': {'size', 'ways', 'line', 'shared_by'}}).");
  m.def(
      "gemm_model_blocksizes",
      [](const py::dict& caches, int MR, int NR) {
        const cpu::ModelBlocksizes b = cpu::gemm_model_blocksizes(cache_from(caches["l1d"]), cache_from(caches["l2"]),
                                                                  cache_from(caches["l3"]), MR, NR);
        return py::make_tuple(b.KC, b.MC, b.NC);
      },
      py::arg("caches"), py::arg("MR"), py::arg("NR"), "The model's (KC, MC, NC) for an MR x NR kernel.");

  // The micro-kernel alone, on packed panels, so tests and coursework can exercise it
  // without the blocking loops around it.
  m.def("gemm_ukernel", &run_ukernel, py::arg("simd"), py::arg("a_packed").noconvert(), py::arg("b_packed").noconvert(),
        py::arg("c").noconvert(), py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, py::arg("left_half") = false,
        py::arg("ukernel") = "",
        "Run one micro-kernel (default: the path's configured one; ukernel='14x32' picks a shape): "
        "c[:MR, :NR] = alpha * a_packed.T @ b_packed + beta * c (left_half: only columns [0, NR/2)).");
}

}  // namespace sinapse::bindings
