// What every CUDA binding file (one per op, csrc/bindings/cuda/<op>.cpp) shares: the array
// arguments (device_array.h), the checks shared with the CPU bindings (../shared_checks.h) and
// the bind_<op> functions module_cuda.cpp calls. Each binding takes the CPU twin's arguments,
// in the same order and under the same names, with `stream` (a cudaStream_t as an int, 0 =
// the default stream; CuPy's current one from sinapse.ops) in place of the CPU's `threads`.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "../../common/enums.h"
#include "../shared_checks.h"
#include "device_array.h"

namespace sinapse::bindings::cuda {

namespace py = pybind11;

// `simd` is the CPU's SIMD path; the CUDA bindings take it so that every backend has one call
// shape, check that it names a path, and otherwise ignore it.
inline void check_simd_name(const char* op, const std::string& simd) {
  SimdPath path;
  check(enums::parse(enums::kSimdPathList, simd, &path),
        std::string(op) + ": unknown SIMD path '" + simd + "' (expected " + enums::names(enums::kSimdPathList) + ")");
}

void bind_gemm(py::module_& m);
void bind_axpy(py::module_& m);
void bind_activation(py::module_& m);
void bind_softmax(py::module_& m);
void bind_dropout(py::module_& m);
void bind_bias(py::module_& m);
void bind_pooling(py::module_& m);
void bind_losses(py::module_& m);
void bind_batch_norm(py::module_& m);
void bind_conv2d(py::module_& m);
void bind_embedding(py::module_& m);
void bind_optimizers(py::module_& m);
void bind_rnn(py::module_& m);
void bind_merge(py::module_& m);
void bind_resize(py::module_& m);
void bind_augment(py::module_& m);

}  // namespace sinapse::bindings::cuda
