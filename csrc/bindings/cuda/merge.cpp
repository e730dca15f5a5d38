// The merge ops on the GPU / the simulator; CPU twin: bindings/merge.cpp (the same names,
// arguments and checks, `stream` in place of `threads`).
#include <pybind11/stl.h>

#include "../../cuda/merge.h"

#include <string>
#include <vector>

#include "../merge_checks.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {

// The arrays of a list argument, each read and checked as array_arg does ("inputs[1]").
std::vector<DeviceArray<float>> array_list(const char* op, const char* name, const std::vector<ArrayObject>& list,
                                           Access access = Access::read) {
  std::vector<DeviceArray<float>> arrays;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    arrays.push_back(array_arg<float>(list[i], op, item.c_str(), access));
  }
  return arrays;
}

// Keras's row masks: None, or one entry per input (None or a uint8 array; the op hands bool masks
// over as bytes); as the CPU twin's mask_list.
bool mask_list(const char* op, const py::object& masks, size_t count, std::vector<const uint8_t*>* ptrs,
               std::vector<int64_t>* sizes) {
  if (masks.is_none()) return false;
  const py::sequence seq = masks;
  check(seq.size() == count, std::string(op) + ": one mask (or None) per input");
  for (size_t i = 0; i < count; ++i) {
    const std::string name = "masks[" + std::to_string(i) + "]";
    const auto ma = optional_array_arg<uint8_t>(ArrayObject{seq[i]}, op, name.c_str());
    ptrs->push_back(ma ? ma.data() : nullptr);
    if (ma) sizes->push_back(ma.size());
  }
  return !sizes->empty();
}

std::vector<float*> pointers(const std::vector<DeviceArray<float>>& arrays) {
  std::vector<float*> p;
  for (const auto& a : arrays) p.push_back(a.data());
  return p;
}

}  // namespace

void bind_merge(py::module_& m) {
  m.def(
      "merge",
      [](const std::vector<ArrayObject>& inputs, ArrayObject out, int mode, const py::object& masks,
         std::uintptr_t stream) {
        const auto xs = array_list("merge", "inputs", inputs);
        const auto oa = array_arg<float>(out, "merge", "out", Access::write);
        const MergeMode md = merge_mode("merge", mode);
        check_same_sizes("merge", xs, oa.size(), md == MergeMode::subtract ? 2 : 1);
        check(md != MergeMode::subtract || xs.size() == 2, "merge: subtract takes exactly 2 arrays");
        std::vector<const uint8_t*> mp;
        std::vector<int64_t> msizes;
        const bool masked = mask_list("merge", masks, xs.size(), &mp, &msizes);
        const int64_t inner = masked ? mask_inner("merge", md, oa.size(), msizes) : 1;
        const auto in = pointers(xs);
        py::gil_scoped_release release;
        sinapse::cuda::merge_forward(oa.size(), static_cast<int64_t>(in.size()), in.data(), oa.data(), md,
                                     as_stream(stream), inner, masked ? mp.data() : nullptr);
      },
      py::arg("inputs"), py::arg("out"), py::arg("mode"), py::arg("masks") = py::none(), py::arg("stream") = 0,
      "out = inputs[0] (mode) inputs[1] (mode) ...");

  m.def(
      "merge_backward",
      [](ArrayObject dy, const std::vector<ArrayObject>& inputs, const std::vector<ArrayObject>& dx, int mode,
         const py::object& masks, std::uintptr_t stream) {
        const auto ga = array_arg<float>(dy, "merge_backward", "dy");
        const auto xs = array_list("merge_backward", "inputs", inputs);
        const auto ds = array_list("merge_backward", "dx", dx, Access::write);
        const MergeMode md = merge_mode("merge_backward", mode);
        check_same_sizes("merge_backward", xs, ga.size(), 1);
        check_same_sizes("merge_backward", ds, ga.size(), xs.size());
        check(ds.size() == xs.size() && (md != MergeMode::subtract || xs.size() == 2),
              "merge_backward: one dx per input (subtract: exactly 2)");
        std::vector<const uint8_t*> mp;
        std::vector<int64_t> msizes;
        const bool masked = mask_list("merge_backward", masks, xs.size(), &mp, &msizes);
        const int64_t inner = masked ? mask_inner("merge_backward", md, ga.size(), msizes) : 1;
        const auto in = pointers(xs);
        const auto out = pointers(ds);
        py::gil_scoped_release release;
        sinapse::cuda::merge_backward(ga.size(), static_cast<int64_t>(in.size()), ga.data(), in.data(), out.data(), md,
                                      as_stream(stream), inner, masked ? mp.data() : nullptr);
      },
      py::arg("dy"), py::arg("inputs"), py::arg("dx"), py::arg("mode"), py::arg("masks") = py::none(),
      py::arg("stream") = 0, "dx[k] = dL/dinputs[k] of merge.");

  m.def(
      "concatenate",
      [](const std::vector<ArrayObject>& inputs, ArrayObject out, int axis, std::uintptr_t stream) {
        const auto xs = array_list("concatenate", "inputs", inputs);
        const auto oa = array_arg<float>(out, "concatenate", "out", Access::write);
        std::vector<int64_t> inner;
        const int64_t outer = concat_geometry("concatenate", xs, oa, axis, &inner);
        const auto parts = pointers(xs);
        py::gil_scoped_release release;
        sinapse::cuda::concat_copy(outer, static_cast<int64_t>(parts.size()), inner.data(), parts.data(), oa.data(),
                                   false, as_stream(stream));
      },
      py::arg("inputs"), py::arg("out"), py::arg("axis"), py::arg("stream") = 0,
      "out = the inputs concatenated along axis (0 <= axis < ndim).");

  m.def(
      "concatenate_backward",
      [](ArrayObject dy, const std::vector<ArrayObject>& dx, int axis, std::uintptr_t stream) {
        const auto ga = array_arg<float>(dy, "concatenate_backward", "dy");
        const auto ds = array_list("concatenate_backward", "dx", dx, Access::write);
        std::vector<int64_t> inner;
        const int64_t outer = concat_geometry("concatenate_backward", ds, ga, axis, &inner);
        const auto parts = pointers(ds);
        py::gil_scoped_release release;
        sinapse::cuda::concat_copy(outer, static_cast<int64_t>(parts.size()), inner.data(), parts.data(), ga.data(),
                                   true, as_stream(stream));
      },
      py::arg("dy"), py::arg("dx"), py::arg("axis"), py::arg("stream") = 0,
      "dx[k] = the slices of dy along axis (concatenate's backward).");
}

}  // namespace sinapse::bindings::cuda
