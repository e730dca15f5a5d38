// Embedding lookup and gradient on the GPU / the simulator; CPU twin: bindings/embedding.cpp.
// ids are int32 or int64 of any shape. Their range is checked by sinapse.ops.embedding (a
// reduction on the device); under the simulator the ids are host memory and are re-checked
// here, as on the CPU, so a direct call cannot index out of bounds.
#include "../../cuda/embedding.h"
#include "module.h"

namespace sinapse::bindings::cuda {

namespace {

struct Ids {
  const void* data;
  int64_t n;
  bool is_64;
};

template <typename Id>
void check_range(const DeviceArray<Id>& ids, int64_t vocab) {
#if defined(SINAPSE_SIM)
  for (int64_t i = 0; i < ids.size(); ++i)
    check(ids.data()[i] >= 0 && static_cast<int64_t>(ids.data()[i]) < vocab,
          "embedding: an id is outside [0, vocab_size)");
#else
  (void)ids, (void)vocab;
#endif
}

Ids read_ids(ArrayObject obj, const char* op, int64_t vocab) {
  const RawArray r = read_array(obj.obj, op, "ids");
  if (r.dtype == Dtype<int64_t>::code) {
    const auto a = array_arg<int64_t>(obj, op, "ids");
    check_range(a, vocab);
    return {a.data(), a.size(), true};
  }
  if (r.dtype != Dtype<int32_t>::code) fail_type(op, "ids", "must be int32 or int64, got dtype code '" + r.dtype + "'");
  const auto a = array_arg<int32_t>(obj, op, "ids");
  check_range(a, vocab);
  return {a.data(), a.size(), false};
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def(
      "embedding_forward",
      [](ArrayObject ids, ArrayObject table, ArrayObject out, std::uintptr_t stream) {
        const char* op = "embedding_forward";
        const auto ta = array_arg<float>(table, op, "table");
        const auto oa = array_arg<float>(out, op, "out", Access::write);
        check(ta.ndim() == 2, "embedding: table must be 2-D");
        const int64_t vocab = ta.shape(0), dim = ta.shape(1);
        const Ids i = read_ids(ids, op, vocab);
        check(oa.size() == i.n * dim, "embedding: out has the wrong size");
        py::gil_scoped_release release;
        sinapse::cuda::embedding_forward(i.n, dim, i.data, i.is_64, ta.data(), oa.data(), as_stream(stream));
      },
      py::arg("ids"), py::arg("table"), py::arg("out"), py::arg("stream") = 0);

  m.def(
      "embedding_backward",
      [](ArrayObject ids, ArrayObject dy, ArrayObject dtable, std::uintptr_t stream) {
        const char* op = "embedding_backward";
        const auto da = array_arg<float>(dy, op, "dy");
        const auto ta = array_arg<float>(dtable, op, "dtable", Access::write);
        check(ta.ndim() == 2, "embedding_backward: dtable must be 2-D");
        const int64_t vocab = ta.shape(0), dim = ta.shape(1);
        const Ids i = read_ids(ids, op, vocab);
        check(da.size() == i.n * dim, "embedding_backward: dy has the wrong size");
        py::gil_scoped_release release;
        sinapse::cuda::embedding_backward(i.n, vocab, dim, i.data, i.is_64, da.data(), ta.data(), as_stream(stream));
      },
      py::arg("ids"), py::arg("dy"), py::arg("dtable"), py::arg("stream") = 0);

#if defined(SINAPSE_SIM)
  m.def(
      "embedding_backward_mutant",
      [](ArrayObject ids, ArrayObject dy, ArrayObject dtable, const std::string& which) {
        const char* op = "embedding_backward_mutant";
        const auto ia = array_arg<int32_t>(ids, op, "ids");
        const auto da = array_arg<float>(dy, op, "dy");
        const auto ta = array_arg<float>(dtable, op, "dtable", Access::write);
        check(ta.ndim() == 2, "embedding_backward: dtable must be 2-D");
        const int64_t vocab = ta.shape(0), dim = ta.shape(1);
        check_range(ia, vocab);
        check(da.size() == ia.size() * dim, "embedding_backward: dy has the wrong size");
        py::gil_scoped_release release;
        sinapse::cuda::embedding_backward_mutant(ia.size(), vocab, dim, ia.data(), da.data(), ta.data(), which);
      },
      py::arg("ids"), py::arg("dy"), py::arg("dtable"), py::arg("which"),
      "A deliberately broken embedding backward kernel (tests prove they catch it).");
#endif
}

}  // namespace sinapse::bindings::cuda
