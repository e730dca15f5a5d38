// sinapse._cuda: the CUDA kernels. Arrays arrive as raw device pointers taken from
// __cuda_array_interface__ by python/sinapse/ops (which also validates them) and run on
// the caller's stream (CuPy's current stream).
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "../cuda/axpy.h"
#include "../cuda/check.h"

namespace py = pybind11;

namespace {

cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

template <typename T>
T* as_device_ptr(std::uintptr_t p) { return reinterpret_cast<T*>(p); }

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "sinapse CUDA kernels";
#ifdef SINAPSE_CUDA_ARCHS
  m.attr("archs") = SINAPSE_CUDA_ARCHS;
#endif
  m.attr("runtime_version") = CUDART_VERSION;

  // (number of devices, "" or the reason there are none). Never raises: it is how
  // sinapse.cuda.why_unavailable() explains a machine without a GPU or driver.
  m.def("device_status", []() -> py::tuple {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it, so later calls do not inherit it
      return py::make_tuple(0, sinapse::cuda::describe(err));
    }
    return py::make_tuple(count, count > 0 ? std::string() : std::string("no CUDA device found"));
  });

  m.def("driver_version", [] {
    int v = 0;
    SINAPSE_CUDA_CHECK(cudaDriverGetVersion(&v));
    return v;
  });

  m.def("axpy", [](int64_t n, float alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t stream) {
    py::gil_scoped_release release;
    sinapse::cuda::axpy(n, alpha, as_device_ptr<const float>(x), as_device_ptr<float>(y), as_stream(stream));
  }, py::arg("n"), py::arg("alpha"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("stream") = 0,
     "y += alpha * x on device pointers (validated by sinapse.ops.axpy).");
}
