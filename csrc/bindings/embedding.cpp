// Embedding lookup and gradient on the CPU. Validated by sinapse.ops.embedding; here the
// sizes and the id range are re-checked so a direct call can never index out of bounds.
#include <algorithm>

#include "../cpu/embedding.h"
#include "common.h"

namespace sinapse::bindings {

namespace {

template <typename Id>
void require_ids_in_range(const Id* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    require(ids[i] >= 0 && static_cast<int64_t>(ids[i]) < vocab, "embedding: an id is outside [0, vocab_size)");
}

// Calls fn(typed pointer) for int32 or int64 C-contiguous ids.
template <typename Fn>
void with_ids(const py::array& ids, int64_t vocab, Fn&& fn) {
  require(ids.flags() & py::array::c_style, "embedding: ids must be C-contiguous");
  const int64_t n = ids.size();
  if (ids.dtype().is(py::dtype::of<int32_t>())) {
    const auto* p = static_cast<const int32_t*>(ids.data());
    require_ids_in_range(p, n, vocab);
    fn(p);
  } else if (ids.dtype().is(py::dtype::of<int64_t>())) {
    const auto* p = static_cast<const int64_t*>(ids.data());
    require_ids_in_range(p, n, vocab);
    fn(p);
  } else {
    throw py::type_error("embedding: ids must be int32 or int64");
  }
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def(
      "embedding_forward",
      [](const py::array& ids, const F32Array& table, F32Array& out, int threads) {
        require(table.ndim() == 2, "embedding: table must be 2-D");
        const int64_t vocab = table.shape(0), dim = table.shape(1), n = ids.size();
        require(out.size() == n * dim, "embedding: out has the wrong size");
        const float* tp = table.data();
        float* op = out.mutable_data();
        const int nt = resolve_threads(threads);
        with_ids(ids, vocab, [&](const auto* idp) {
          py::gil_scoped_release release;
          cpu::embedding_forward(n, dim, idp, tp, op, nt);
        });
      },
      py::arg("ids").noconvert(), py::arg("table").noconvert(), py::arg("out").noconvert(), py::arg("threads") = 0);

  m.def(
      "embedding_backward",
      [](const py::array& ids, const F32Array& dy, F32Array& dtable, int threads) {
        require(dtable.ndim() == 2, "embedding_backward: dtable must be 2-D");
        const int64_t vocab = dtable.shape(0), dim = dtable.shape(1), n = ids.size();
        require(dy.size() == n * dim, "embedding_backward: dy has the wrong size");
        const float* dp = dy.data();
        float* tp = dtable.mutable_data();
        const int nt = resolve_threads(threads);
        with_ids(ids, vocab, [&](const auto* idp) {
          py::gil_scoped_release release;
          cpu::embedding_backward(n, vocab, dim, idp, dp, tp, nt);
        });
      },
      py::arg("ids").noconvert(), py::arg("dy").noconvert(), py::arg("dtable").noconvert(), py::arg("threads") = 0);
}

}  // namespace sinapse::bindings
