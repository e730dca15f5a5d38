// The array arguments of the CUDA bindings, read and checked the way the CPU bindings'
// F32Array arguments are (float32 or the stated dtype, C-contiguous, writeable when the kernel
// writes it), with errors naming the op and the argument:
//   sinapse._cuda      any object with __cuda_array_interface__ (CuPy arrays): data pointer,
//                      shape, typestr ('<f4', '<i4', ...), strides None or C-contiguous;
//   sinapse._cuda_sim  NumPy arrays (host memory, which the simulator runs the kernels on).
// Sizes are then derived from the arrays, as on the CPU, never taken from the caller.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../cuda/check.h"  // cudaStream_t (real runtime or simulator)
#include "../checked_size.h"

namespace sinapse::bindings::cuda {
// An array parameter as pybind11 hands it over: any object (None too, for the optional ones),
// read and checked by array_arg below, so errors name the op and the argument. Its type name
// is what the signatures in __doc__ show.
struct ArrayObject {
  pybind11::object obj;
};
}  // namespace sinapse::bindings::cuda

// pybind11 converts any argument to an ArrayObject (the checks follow in array_arg).
namespace pybind11::detail {
template <>
struct type_caster<sinapse::bindings::cuda::ArrayObject> {
#if defined(SINAPSE_SIM)
  PYBIND11_TYPE_CASTER(sinapse::bindings::cuda::ArrayObject, const_name("numpy.ndarray"));
#else
  PYBIND11_TYPE_CASTER(sinapse::bindings::cuda::ArrayObject, const_name("cupy.ndarray"));
#endif
  bool load(handle src, bool) {
    value.obj = reinterpret_borrow<object>(src);
    return true;
  }
  static handle cast(const sinapse::bindings::cuda::ArrayObject& a, return_value_policy, handle) {
    return a.obj.inc_ref();
  }
};
}  // namespace pybind11::detail

namespace sinapse::bindings::cuda {

namespace py = pybind11;

// The element types kernels take, as NumPy kind + itemsize ("f4") and by name.
template <class T>
struct Dtype;
template <>
struct Dtype<float> {
  static constexpr const char* code = "f4";
  static constexpr const char* name = "float32";
};
template <>
struct Dtype<double> {
  static constexpr const char* code = "f8";
  static constexpr const char* name = "float64";
};
template <>
struct Dtype<int32_t> {
  static constexpr const char* code = "i4";
  static constexpr const char* name = "int32";
};
template <>
struct Dtype<int64_t> {
  static constexpr const char* code = "i8";
  static constexpr const char* name = "int64";
};
template <>
struct Dtype<uint8_t> {
  static constexpr const char* code = "u1";
  static constexpr const char* name = "uint8";
};

// What the bindings need of an array argument, whichever module read it.
struct RawArray {
  void* data = nullptr;
  std::vector<int64_t> shape;
  int64_t size = 0;
  std::string dtype;  // kind + itemsize, e.g. "f4"
  bool writeable = true;
};

enum class Access { read, write };

[[noreturn]] inline void fail_type(const char* op, const char* name, const std::string& why) {
  throw py::type_error(std::string(op) + ": `" + name + "` " + why);
}
[[noreturn]] inline void fail_value(const char* op, const char* name, const std::string& why) {
  throw std::invalid_argument(std::string(op) + ": `" + name + "` " + why);
}

inline std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

#if defined(SINAPSE_SIM)
// The simulator runs on host memory: NumPy arrays.
inline RawArray read_array(py::handle obj, const char* op, const char* name) {
  if (!py::isinstance<py::array>(obj))
    fail_type(op, name, "must be a NumPy array (the simulator runs on host memory), got " + type_name(obj));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!(a.flags() & py::array::c_style)) fail_value(op, name, "must be C-contiguous");
  RawArray r;
  r.data = const_cast<void*>(a.data());
  r.shape.assign(a.shape(), a.shape() + a.ndim());
  r.dtype = std::string(1, a.dtype().kind()) + std::to_string(a.dtype().itemsize());
  r.writeable = a.writeable();
  return r;
}
#else
// The CUDA Array Interface (v2/v3): {"data": (ptr, read_only), "shape", "typestr", "strides"}.
inline RawArray read_array(py::handle obj, const char* op, const char* name) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    fail_type(op, name, "must be a CUDA array (with __cuda_array_interface__, e.g. CuPy), got " + type_name(obj));
  const py::dict cai = obj.attr("__cuda_array_interface__");
  RawArray r;
  const py::tuple data = cai["data"];
  r.data = reinterpret_cast<void*>(data[0].cast<std::uintptr_t>());
  r.writeable = !data[1].cast<bool>();
  for (py::handle n : py::tuple(cai["shape"])) r.shape.push_back(n.cast<int64_t>());
  const std::string typestr = cai["typestr"].cast<std::string>();
  if (typestr.size() < 3 || typestr[0] == '>') fail_type(op, name, "has an unsupported typestr '" + typestr + "'");
  r.dtype = typestr.substr(1);
  if (cai.contains("mask") && !cai["mask"].is_none()) fail_value(op, name, "must not be a masked array");
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    // C order: each stride the product of the later extents times the itemsize; extents of
    // 1 (and empty arrays) make any stride contiguous, as in sinapse.ops._checks.
    const py::tuple strides = cai["strides"];
    int64_t want = std::stoll(r.dtype.substr(1));
    bool empty = false;
    for (int64_t n : r.shape) empty = empty || n == 0;
    for (size_t i = r.shape.size(); i-- > 0;) {
      if (!empty && r.shape[i] > 1 && strides[i].cast<int64_t>() != want) fail_value(op, name, "must be C-contiguous");
      want *= r.shape[i] > 1 ? r.shape[i] : 1;
    }
  }
  return r;
}
#endif

// An array argument of element type T: its pointer, size and shape, like F32Array's
// data()/size()/ndim()/shape(i) (so the checks shared with the CPU bindings read either).
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(T* data, std::vector<int64_t> shape, int64_t size) : data_(data), shape_(std::move(shape)), size_(size) {}

  T* data() const { return data_; }
  T* mutable_data() const { return data_; }
  int64_t size() const { return size_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t shape(int i) const { return shape_[static_cast<size_t>(i)]; }
  explicit operator bool() const { return present_; }
  void mark_present() { present_ = true; }

 private:
  T* data_ = nullptr;
  std::vector<int64_t> shape_;
  int64_t size_ = 0;
  bool present_ = false;
};

// The array argument `name` of `op`: TypeError for a non-array or the wrong dtype,
// ValueError when it is not C-contiguous or (written by the kernel) read-only.
template <class T>
DeviceArray<T> array_arg(const ArrayObject& arg, const char* op, const char* name, Access access = Access::read) {
  const py::handle obj = arg.obj;
  RawArray r = read_array(obj, op, name);
  if (r.dtype != Dtype<T>::code)
    fail_type(op, name, std::string("must be ") + Dtype<T>::name + ", got dtype code '" + r.dtype + "'");
  if (access == Access::write && !r.writeable) fail_value(op, name, "is written by the kernel but is read-only");
  int64_t size = 1;
  for (int64_t n : r.shape) size = checked_product(op, {size, n});
  DeviceArray<T> a(static_cast<T*>(r.data), std::move(r.shape), size);
  a.mark_present();
#if defined(SINAPSE_SIM)
  ::sinapse::sim::profile_register_global(a.data(), static_cast<size_t>(size) * sizeof(T));  // global memory
#endif
  return a;
}

// As array_arg, but None gives an absent array (null pointer, size 0, false).
template <class T>
DeviceArray<T> optional_array_arg(const ArrayObject& arg, const char* op, const char* name,
                                  Access access = Access::read) {
  if (arg.obj.is_none()) return DeviceArray<T>();
  return array_arg<T>(arg, op, name, access);
}

// A few values the binding itself needs on the device (loss's total, sum_squares' partial sums),
// read back by value like the CPU kernels return them: stream-ordered device memory on _cuda,
// host memory under the simulator (whose kernels have finished when launch returns).
template <class T>
class DeviceScratch {
 public:
  DeviceScratch(size_t n, cudaStream_t stream) : stream_(stream) {
#if defined(SINAPSE_SIM)
    host_.assign(n, T());
    data_ = host_.data();
    ::sinapse::sim::profile_register_global(data_, n * sizeof(T));
#else
    SINAPSE_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&data_), n * sizeof(T), stream_));
#endif
  }
  ~DeviceScratch() {
#if !defined(SINAPSE_SIM)
    cudaFreeAsync(data_, stream_);  // nothing to do about a failure here; the next call reports it
#endif
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;

  T* data() const { return data_; }
  // Element 0, once the kernels before it on the stream have run (synchronizes the stream).
  T first() const {
#if defined(SINAPSE_SIM)
    return data_[0];
#else
    T value;
    SINAPSE_CUDA_CHECK(cudaMemcpyAsync(&value, data_, sizeof(T), cudaMemcpyDeviceToHost, stream_));
    SINAPSE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return value;
#endif
  }

 private:
  cudaStream_t stream_;
  T* data_ = nullptr;
#if defined(SINAPSE_SIM)
  std::vector<T> host_;
#endif
};

inline cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

}  // namespace sinapse::bindings::cuda
