// What every binding file shares. Bindings stay thin: they turn Python objects into
// pointers and sizes, guard the memory contract (so a direct call into sinapse._cpu can
// never read or write out of bounds), release the GIL and call the kernel. The friendly,
// detailed argument errors are raised earlier, in one place: python/sinapse/ops/_checks.py.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "../common/cpu_features.h"
#include "../common/threading.h"

namespace sinapse::bindings {

namespace py = pybind11;

// A float32, C-contiguous NumPy array. Used with py::arg(...).noconvert(), so pybind11
// raises TypeError instead of silently converting or copying anything else.
using F32Array = py::array_t<float, py::array::c_style>;

inline void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// threads <= 0 means "the library setting" (sinapse.set_num_threads).
inline int resolve_threads(int threads) { return threads > 0 ? threads : get_num_threads(); }

// The SIMD path of a call (the one dispatcher: common/cpu_features.h), resolved here, while
// the GIL is held (SINAPSE_SIMD is read with getenv, which Python's putenv may change), and
// passed down to the kernel. resolve_simd: an op's simd= argument (validated), or "" for the
// process rule (forced > $SINAPSE_SIMD > best) read at this call, so a prepared plan follows
// a path forced after it was described. process_simd: the ops without a simd= argument.
inline SimdPath resolve_simd(const std::string& name, const char* op = "sinapse._cpu") {
  return resolve_simd_path(name.empty() ? nullptr : name.c_str(), op);
}
inline SimdPath process_simd(const char* op) { return resolve_simd_path(nullptr, op); }

void bind_config(py::module_& m);
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

}  // namespace sinapse::bindings
