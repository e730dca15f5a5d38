// Build facts, CPU features, thread control and the FMA peak micro-benchmark.
#include <pybind11/stl.h>

#include <atomic>
#include <new>
#include <optional>
#include <string>

#include "../common/parallel_errors.h"
#include "../cpu/fma_peak.h"
#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef SINAPSE_VERSION
#define SINAPSE_VERSION "0+unknown"
#endif

namespace sinapse::bindings {

namespace {
std::string compiler_string() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}
}  // namespace

void bind_config(py::module_& m) {
  m.attr("__version__") = SINAPSE_VERSION;
  m.attr("compiler") = compiler_string();
  m.attr("openmp") = have_openmp();
#ifdef SINAPSE_BUILD_TYPE
  m.attr("build_type") = SINAPSE_BUILD_TYPE;
#else
  m.attr("build_type") = "unknown";
#endif

  m.def(
      "built_simd_paths",
      [] {
        py::list out;
        out.append("generic");
#if defined(__x86_64__)
        out.append("avx2");
        out.append("avx512");
#endif
        return out;
      },
      "SIMD paths compiled into this build (whether or not this CPU runs them).");
  m.def(
      "best_simd_path", [] { return std::string(simd_path_name(best_simd_path())); },
      "The fastest SIMD path this CPU supports.");
  m.def(
      "supported_simd_paths",
      [] {
        py::list out;
        for (SimdPath p : supported_simd_paths()) out.append(simd_path_name(p));
        return out;
      },
      "Every SIMD path this CPU supports, slowest first.");
  m.def(
      "simd_request",
      [](std::optional<std::string> simd) -> py::tuple {
        const SimdRequest r = simd_request(simd ? simd->c_str() : nullptr);
        if (!r.name) return py::make_tuple(py::none(), py::none());
        return py::make_tuple(std::string(r.name), std::string(r.source));
      },
      py::arg("simd"),
      "(name, source) of the SIMD path a call asks for: simd, else the forced path, else $SINAPSE_SIMD; "
      "(None, None) when nothing is asked (the best path). Not validated: sinapse.cpu.simd_path() does that.");
  m.def(
      "force_simd_path", [](std::optional<std::string> simd) { force_simd_path(simd ? simd->c_str() : nullptr); },
      py::arg("simd"), "Force a SIMD path for the process (None: stop forcing). Use sinapse.cpu.set_simd_path.");
  m.def(
      "take_simd_paths_run",
      [] {
        const unsigned bits = take_simd_paths_run();
        py::list out;
        for (SimdPath p : {SimdPath::generic, SimdPath::avx2, SimdPath::avx512})
          if (bits & (1u << static_cast<int>(p))) out.append(simd_path_name(p));
        return out;
      },
      "Debug hook: the SIMD paths kernels dispatched to since the last call, slowest first; clears the record.");

  // Self-test of the exception carrier (common/parallel_errors.h), in its documented pattern:
  // in a region of `threads` OpenMP threads, thread `failing` throws in the set-up phase
  // (std::bad_alloc for kind 0, std::runtime_error otherwise); after the barrier every
  // thread skips the work-shared loop alike, and the exception is rethrown here, on the
  // calling thread (MemoryError / RuntimeError in Python). Returns the loop iterations run.
  m.def(
      "parallel_errors_selftest",
      [](int threads, int failing, int kind) {
        require(threads >= 1 && threads <= 256, "parallel_errors_selftest: threads must be in [1, 256]");
        ParallelErrors errors;
        std::atomic<int64_t> done{0};
        py::gil_scoped_release release;
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
          const int tid = omp_get_thread_num();
#else
          const int tid = 0;
#endif
          errors.run([&] {
            if (tid != failing) return;
            if (kind == 0) throw std::bad_alloc();
            throw std::runtime_error("parallel_errors_selftest: thread " + std::to_string(tid) + " failed");
          });
#pragma omp barrier
          const int64_t n = errors.failed() ? 0 : 1000;
#pragma omp for schedule(static)
          for (int64_t i = 0; i < n; ++i) done.fetch_add(1, std::memory_order_relaxed);
        }
        errors.rethrow();
        return done.load();
      },
      py::arg("threads"), py::arg("failing"), py::arg("kind"));
  m.def("get_num_threads", &get_num_threads);
  m.def(
      "set_num_threads",
      [](int n) {
        require(n >= 1, "set_num_threads: n must be >= 1");
        set_num_threads(n);
      },
      py::arg("n"));

  m.def(
      "fma_peak",
      [](const std::string& simd, int threads, int64_t iterations) {
        const SimdPath path = resolve_simd(simd);
        require(iterations > 0, "fma_peak: iterations must be positive");
        cpu::FmaPeak r;
        {
          py::gil_scoped_release release;
          r = cpu::measure_fma_peak(path, resolve_threads(threads), iterations);
        }
        py::dict d;
        d["gflops"] = r.gflops;
        d["seconds"] = r.seconds;
        d["threads"] = r.threads;
        d["lanes"] = r.lanes;
        d["chains"] = r.chains;
        d["iterations"] = r.iterations;
        return d;
      },
      py::arg("simd"), py::arg("threads") = 0, py::arg("iterations") = 50'000'000,
      "Measure the FMA throughput (GFLOP/s) of a SIMD path with `threads` threads.");
}

}  // namespace sinapse::bindings
