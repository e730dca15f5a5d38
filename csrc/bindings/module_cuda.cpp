// sinapse._cuda (nvcc build) and sinapse._cuda_sim (the same kernels built by the host
// compiler against the SIMT simulator, -DSINAPSE_SIM): the module-level utilities (device
// status, the simulator's configuration and guarded arrays) and one bind_<op> call per op,
// each in csrc/bindings/cuda/<op>.cpp with the arguments of its CPU twin. Arrays arrive as
// CUDA arrays (_cuda) or NumPy arrays (_cuda_sim) and kernels run on the caller's stream.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "../common/threading.h"
#include "../cuda/check.h"
#include "../cuda/test_switches.cuh"
#include "cuda/module.h"
#include "enums.h"

#if defined(SINAPSE_SIM)
namespace sinapse::cuda::selftest {
void run(const std::string& name, const float* in, float* out, unsigned blocks, unsigned threads);
void launch_shape(const std::string& name, const float* in, float* out, dim3 grid, dim3 block, size_t dynamic,
                  int64_t opt_in);
}  // namespace sinapse::cuda::selftest
#endif

#ifndef SINAPSE_CUDA_MODULE
#error "SINAPSE_CUDA_MODULE must name the module (_cuda, _cuda_sim or _cuda_prof)"
#endif

namespace py = pybind11;

namespace {

template <typename T>
T* as_ptr(std::uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

#if defined(SINAPSE_SIM)
// The simulator's settings, guarded arrays and self-test kernels.
void bind_utilities(py::module_& m) {
  m.doc() = "sinapse CUDA kernels run by the SIMT simulator on the CPU (host memory)";
  m.attr("is_simulator") = true;
  m.def("device_status", [] { return py::make_tuple(1, std::string()); });
  m.def(
      "configure",
      [](uint64_t seed, int64_t stack_kib, bool racecheck) {
        sinapse::sim::set_seed(seed);
        if (stack_kib > 0) sinapse::sim::set_stack_bytes(static_cast<size_t>(stack_kib) * 1024);
        sinapse::sim::set_racecheck(racecheck);
      },
      py::arg("seed"), py::arg("stack_kib") = 0, py::arg("racecheck") = false,
      "Seed of the fiber schedule (a different seed, a different interleaving), fiber stack size, "
      "and the shared-memory race check.");
  // Test-only switches (csrc/cuda/test_switches.cuh): mutants and the grid-stride cap.
  m.def("set_mutant", &sinapse::sim::set_mutant, py::arg("name"),
        "Run the deliberately broken kernel `name` in place of the correct one ('' = none; tests only).");
  m.def("mutant", &sinapse::sim::mutant, "The mutant switched on ('' = none).");
  m.def("set_grid_stride_cap", &sinapse::sim::set_grid_stride_cap, py::arg("blocks"),
        "The most blocks a grid-stride kernel is launched with (1 to 65535, the GPU's setting): lower, "
        "small tensors make every grid-stride loop take a second pass (tests only).");
  m.def("grid_stride_cap", &sinapse::sim::grid_stride_cap, "The current grid-stride cap (65535 unless lowered).");
  m.def("set_skipped_pass", &sinapse::sim::set_skipped_pass, py::arg("kernel"),
        "Make the kernel launched as `kernel` skip the second pass of its grid-stride loops ('' = none; "
        "tests only: the grid-pass tests must then fail).");
  m.def(
      "set_num_threads", [](int n) { sinapse::set_num_threads(n); }, py::arg("n"),
      "OS threads that run blocks in parallel.");
  m.def("last_launch", &sinapse::sim::last_launch, "kernel<<<grid, block, shared>>> of the latest launch.");
  m.def(
      "guarded_array",
      [](int64_t n) {
        if (n < 0) throw std::invalid_argument("guarded_array: negative size");
        void* p = sinapse::sim::guarded_alloc(static_cast<size_t>(n) * sizeof(float));
        py::capsule owner(p, [](void* q) { sinapse::sim::guarded_free(q); });
        return py::array_t<float>({n}, {static_cast<int64_t>(sizeof(float))}, static_cast<float*>(p), owner);
      },
      py::arg("n"),
      "A float32 array of n elements between two PROT_NONE pages: a kernel touching outside it "
      "fails with an out-of-bounds error (checked mode, sinapse.cuda.simulate(checked=True)).");
  m.def(
      "guarded_intact", [](std::uintptr_t p) { return sinapse::sim::guarded_intact(reinterpret_cast<const void*>(p)); },
      py::arg("ptr"), "False when something wrote into the canary bytes before a guarded buffer.");
  m.def(
      "selftest",
      [](const std::string& name, std::uintptr_t in, std::uintptr_t out, unsigned blocks, unsigned threads) {
        py::gil_scoped_release release;
        sinapse::cuda::selftest::run(name, as_ptr<const float>(in), as_ptr<float>(out), blocks, threads);
      },
      py::arg("name"), py::arg("in_ptr"), py::arg("out_ptr"), py::arg("blocks"), py::arg("threads"),
      "Run one of the simulator's self-test kernels (csrc/cuda/sim/selftest.cu) on host buffers.");
}

using Dims = std::tuple<unsigned, unsigned, unsigned>;

// The launch limits' settings and test hooks (csrc/cuda/sim/scheduler.cpp, check_launch).
void bind_launch_limits(py::module_& m) {
  m.def("set_kernel_registers", &sinapse::sim::set_kernel_registers, py::arg("registers"),
        "Registers per thread of each kernel, by launch name (nvcc's resource table): a launch whose block "
        "needs more than 65536 registers (256-register units per warp) is refused. Replaces the table.");
  m.def("kernel_registers", &sinapse::sim::kernel_registers, "The registers table set_kernel_registers gave.");
  m.def("set_grid_chunk", &sinapse::sim::set_grid_chunk, py::arg("extent"),
        "Test hook: launchers that split work over several launches use at most `extent` blocks along the "
        "split dimension (0: the real limits).");
  m.def(
      "selftest_launch",
      [](const std::string& name, std::uintptr_t in, std::uintptr_t out, Dims grid, Dims block, size_t dynamic_shared,
         int64_t opt_in) {
        py::gil_scoped_release release;
        sinapse::cuda::selftest::launch_shape(name, as_ptr<const float>(in), as_ptr<float>(out),
                                              dim3(std::get<0>(grid), std::get<1>(grid), std::get<2>(grid)),
                                              dim3(std::get<0>(block), std::get<1>(block), std::get<2>(block)),
                                              dynamic_shared, opt_in);
      },
      py::arg("name"), py::arg("in_ptr"), py::arg("out_ptr"), py::arg("grid"), py::arg("block"),
      py::arg("dynamic_shared") = 0, py::arg("opt_in") = -1,
      "Launch a launch-limit self-test kernel (noop, static_shared_16k/48k/over_48k, dynamic_shared_copy) with any "
      "shape; opt_in >= 0 first sets its MaxDynamicSharedMemorySize (0: the default).");
}
#else
// The device, driver and runtime.
void bind_utilities(py::module_& m) {
  m.doc() = "sinapse CUDA kernels";
  m.attr("is_simulator") = false;
#ifdef SINAPSE_CUDA_ARCHS
  m.attr("archs") = SINAPSE_CUDA_ARCHS;
#endif
  m.attr("runtime_version") = CUDART_VERSION;
  // (number of devices, "" or the reason there are none, (major, minor) compute capability of
  // the current device or None). Never raises: it is how sinapse.cuda.why_unavailable()
  // explains a machine without a GPU or driver, or a GPU this build has no kernels for.
  m.def("device_status", []() -> py::tuple {
    int count = 0, device = 0, major = 0, minor = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaSuccess && count > 0) err = cudaGetDevice(&device);
    if (err == cudaSuccess && count > 0)
      err = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    if (err == cudaSuccess && count > 0)
      err = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it, so later calls do not inherit it
      return py::make_tuple(0, sinapse::cuda::describe(err), py::none());
    }
    if (count == 0) return py::make_tuple(0, std::string("no CUDA device found"), py::none());
    return py::make_tuple(count, std::string(), py::make_tuple(major, minor));
  });
  m.def("driver_version", [] {
    int v = 0;
    SINAPSE_CUDA_CHECK(cudaDriverGetVersion(&v));
    return v;
  });
}
#endif

// SINAPSE_CUDA_SYNC (csrc/cuda/check.h): both modules, so sinapse.cuda.set_sync_launches reaches either.
void bind_sync_launches(py::module_& m) {
  m.def(
      "set_sync_launches",
      [](std::optional<bool> enabled) { sinapse::cuda::set_sync_launches(enabled ? int(*enabled) : -1); },
      py::arg("enabled"),
      "Synchronise and check after every kernel launch (True/False); None re-reads SINAPSE_CUDA_SYNC "
      "(ValueError for a value it cannot parse).");
  m.def(
      "sync_launches", [] { return sinapse::cuda::sync_launches(); },
      "Whether every launch is followed by a synchronisation and an error check.");
}

}  // namespace

namespace sinapse::bindings::cuda {
void bind_depthwise_conv2d(py::module_& m);  // bindings/cuda/depthwise_conv2d.cpp
}
namespace sinapse::bindings::cuda {
void bind_layer_norm(py::module_& m);
}  // namespace sinapse::bindings::cuda

#if defined(SINAPSE_PROFILE)
namespace sinapse::bindings::cuda {
void bind_profiler(py::module_& m);  // bindings/sim_profiler.cpp (sinapse._cuda_prof only)
}  // namespace sinapse::bindings::cuda
#endif

PYBIND11_MODULE(SINAPSE_CUDA_MODULE, m) {
  namespace cb = sinapse::bindings::cuda;
  bind_utilities(m);
  bind_sync_launches(m);
#if defined(SINAPSE_SIM)
  bind_launch_limits(m);
#endif
#if defined(SINAPSE_PROFILE)
  cb::bind_profiler(m);
#endif
  sinapse::bindings::bind_enums(m);
  cb::bind_gemm(m);
  cb::bind_axpy(m);
  cb::bind_activation(m);
  cb::bind_softmax(m);
  cb::bind_dropout(m);
  cb::bind_bias(m);
  cb::bind_pooling(m);
  cb::bind_losses(m);
  cb::bind_batch_norm(m);
  cb::bind_conv2d(m);
  cb::bind_embedding(m);
  cb::bind_optimizers(m);
  cb::bind_rnn(m);
  cb::bind_merge(m);
  cb::bind_depthwise_conv2d(m);
  cb::bind_layer_norm(m);
  cb::bind_resize(m);
  cb::bind_augment(m);
}
