// The merge ops on the CPU: merge / merge_backward (element-wise over several arrays) and
// concatenate / concatenate_backward. CUDA twin: bindings/cuda/merge.cpp.
#include "../cpu/merge.h"

#include <string>
#include <vector>

#include "common.h"
#include "merge_checks.h"

namespace sinapse::bindings {

namespace {

// A list of float32, C-contiguous NumPy arrays, taken without conversion (TypeError otherwise,
// as noconvert gives for a single array).
std::vector<F32Array> array_list(const char* op, const char* name, const py::sequence& seq) {
  std::vector<F32Array> arrays;
  for (size_t i = 0; i < seq.size(); ++i) {
    py::object item = seq[i];
    if (!F32Array::check_(item))
      throw py::type_error(std::string(op) + ": `" + name + "[" + std::to_string(i) +
                           "]` must be a float32 C-contiguous NumPy array");
    arrays.push_back(py::reinterpret_borrow<F32Array>(item));
  }
  return arrays;
}

using U8Array = py::array_t<uint8_t, py::array::c_style>;

// Keras's row masks: None (no masks) or one entry per input, None or a uint8 array (the op hands
// bool masks over as bytes). Fills one pointer per input (nullptr: none) and the given ones' sizes;
// `keep` holds the arrays while the kernel runs.
bool mask_list(const char* op, const py::object& masks, size_t count, std::vector<const uint8_t*>* ptrs,
               std::vector<int64_t>* sizes, std::vector<U8Array>* keep) {
  if (masks.is_none()) return false;
  const py::sequence seq = masks;
  check(seq.size() == count, std::string(op) + ": one mask (or None) per input");
  for (size_t i = 0; i < count; ++i) {
    py::object item = seq[i];
    if (item.is_none()) {
      ptrs->push_back(nullptr);
      continue;
    }
    if (!U8Array::check_(item))
      throw py::type_error(std::string(op) + ": `masks[" + std::to_string(i) + "]` must be a uint8 C-contiguous array");
    keep->push_back(py::reinterpret_borrow<U8Array>(item));
    ptrs->push_back(keep->back().data());
    sizes->push_back(keep->back().size());
  }
  return !sizes->empty();
}

std::vector<const float*> read_pointers(const std::vector<F32Array>& arrays) {
  std::vector<const float*> p;
  for (const F32Array& a : arrays) p.push_back(a.data());
  return p;
}

std::vector<float*> write_pointers(std::vector<F32Array>& arrays) {
  std::vector<float*> p;
  for (F32Array& a : arrays) p.push_back(a.mutable_data());
  return p;
}

}  // namespace

void bind_merge(py::module_& m) {
  m.def(
      "merge",
      [](const py::sequence& inputs, F32Array& out, int mode, const py::object& masks, int threads) {
        const auto xs = array_list("merge", "inputs", inputs);
        const MergeMode md = merge_mode("merge", mode);
        check_same_sizes("merge", xs, out.size(), md == MergeMode::subtract ? 2 : 1);
        check(md != MergeMode::subtract || xs.size() == 2, "merge: subtract takes exactly 2 arrays");
        std::vector<const uint8_t*> mp;
        std::vector<int64_t> msizes;
        std::vector<U8Array> keep;
        const bool masked = mask_list("merge", masks, xs.size(), &mp, &msizes, &keep);
        const int64_t inner = masked ? mask_inner("merge", md, out.size(), msizes) : 1;
        const auto in = read_pointers(xs);
        float* op = out.mutable_data();
        const int64_t n = out.size(), count = static_cast<int64_t>(in.size());
        const SimdPath path = process_simd("merge");
        py::gil_scoped_release release;
        if (masked)
          cpu::merge_forward_masked(n / inner, inner, count, in.data(), mp.data(), op, md, path,
                                    resolve_threads(threads));
        else
          cpu::merge_forward(n, count, in.data(), op, md, path, resolve_threads(threads));
      },
      py::arg("inputs"), py::arg("out").noconvert(), py::arg("mode"), py::arg("masks") = py::none(),
      py::arg("threads") = 0, "out = inputs[0] (mode) inputs[1] (mode) ...");

  m.def(
      "merge_backward",
      [](const F32Array& dy, const py::sequence& inputs, const py::sequence& dx, int mode, const py::object& masks,
         int threads) {
        const auto xs = array_list("merge_backward", "inputs", inputs);
        auto ds = array_list("merge_backward", "dx", dx);
        const MergeMode md = merge_mode("merge_backward", mode);
        check_same_sizes("merge_backward", xs, dy.size(), 1);
        check_same_sizes("merge_backward", ds, dy.size(), xs.size());
        check(ds.size() == xs.size() && (md != MergeMode::subtract || xs.size() == 2),
              "merge_backward: one dx per input (subtract: exactly 2)");
        std::vector<const uint8_t*> mp;
        std::vector<int64_t> msizes;
        std::vector<U8Array> keep;
        const bool masked = mask_list("merge_backward", masks, xs.size(), &mp, &msizes, &keep);
        const int64_t inner = masked ? mask_inner("merge_backward", md, dy.size(), msizes) : 1;
        const auto in = read_pointers(xs);
        const auto out = write_pointers(ds);
        const float* g = dy.data();
        const int64_t n = dy.size(), count = static_cast<int64_t>(in.size());
        const SimdPath path = process_simd("merge_backward");
        py::gil_scoped_release release;
        if (masked)
          cpu::merge_backward_masked(n / inner, inner, count, g, in.data(), mp.data(), out.data(), md, path,
                                     resolve_threads(threads));
        else
          cpu::merge_backward(n, count, g, in.data(), out.data(), md, path, resolve_threads(threads));
      },
      py::arg("dy").noconvert(), py::arg("inputs"), py::arg("dx"), py::arg("mode"), py::arg("masks") = py::none(),
      py::arg("threads") = 0, "dx[k] = dL/dinputs[k] of merge.");

  m.def(
      "concatenate",
      [](const py::sequence& inputs, F32Array& out, int axis, int threads) {
        const auto xs = array_list("concatenate", "inputs", inputs);
        std::vector<int64_t> inner;
        const int64_t outer = concat_geometry("concatenate", xs, out, axis, &inner);
        std::vector<float*> parts;  // read only: concat_copy's split == false
        for (const float* p : read_pointers(xs)) parts.push_back(const_cast<float*>(p));
        float* whole = out.mutable_data();
        py::gil_scoped_release release;
        cpu::concat_copy(outer, static_cast<int64_t>(parts.size()), inner.data(), parts.data(), whole, false,
                         resolve_threads(threads));
      },
      py::arg("inputs"), py::arg("out").noconvert(), py::arg("axis"), py::arg("threads") = 0,
      "out = the inputs concatenated along axis (0 <= axis < ndim).");

  m.def(
      "concatenate_backward",
      [](const F32Array& dy, const py::sequence& dx, int axis, int threads) {
        auto ds = array_list("concatenate_backward", "dx", dx);
        std::vector<int64_t> inner;
        const int64_t outer = concat_geometry("concatenate_backward", ds, dy, axis, &inner);
        const auto parts = write_pointers(ds);
        float* whole = const_cast<float*>(dy.data());  // read only: concat_copy's split == true
        py::gil_scoped_release release;
        cpu::concat_copy(outer, static_cast<int64_t>(parts.size()), inner.data(), parts.data(), whole, true,
                         resolve_threads(threads));
      },
      py::arg("dy").noconvert(), py::arg("dx"), py::arg("axis"), py::arg("threads") = 0,
      "dx[k] = the slices of dy along axis (concatenate's backward).");
}

}  // namespace sinapse::bindings
