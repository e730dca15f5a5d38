// The enumerations of csrc/common/enums.h as name -> code dicts, bound into every module
// (sinapse._cpu, _cuda, _cuda_sim) by the same function: python/sinapse/ops/_enums.py reads
// them from whichever module is loaded, and tests/test_enums.py checks the three agree.
#include "enums.h"

#include "../common/enums.h"

namespace sinapse::bindings {

namespace py = pybind11;

namespace {

template <class E, std::size_t N>
py::dict as_dict(const enums::Named<E> (&table)[N]) {
  py::dict d;
  for (const enums::Named<E>& row : table) d[row.name] = static_cast<int>(row.value);
  return d;
}

// Gates per cell (4 for LSTM, 3 for GRU, 1 for the simple RNN): the sizes Python derives
// the weight shapes from, from the kernels' own rnn_gates.
py::dict rnn_gates_dict() {
  py::dict d;
  for (const enums::Named<RnnCell>& row : enums::kRnnCellList) d[row.name] = rnn_gates(row.value);
  return d;
}

}  // namespace

void bind_enums(py::module_& m) {
  m.attr("ACTIVATIONS") = as_dict(enums::kActivationList);
  m.attr("EPILOGUES") = as_dict(enums::kEpilogueList);
  m.attr("LOSSES") = as_dict(enums::kLossList);
  m.attr("OPTIMIZERS") = as_dict(enums::kOptimizerList);
  m.attr("RNN_CELLS") = as_dict(enums::kRnnCellList);
  m.attr("RNN_GATES") = rnn_gates_dict();
  m.attr("SIMD_PATHS") = as_dict(enums::kSimdPathList);
  m.attr("GEMM_VARIANTS") = as_dict(enums::kGemmVariantList);
  m.attr("KERNEL_VARIANTS") = as_dict(enums::kKernelVariantList);
  m.attr("CONV_VARIANTS") = as_dict(enums::kConvVariantList);
  m.attr("MERGE_MODES") = as_dict(enums::kMergeModeList);
}

}  // namespace sinapse::bindings
