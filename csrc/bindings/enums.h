// bind_enums: csrc/common/enums.h's tables as dict attributes of a module (enums.cpp);
// every module (_cpu, _cuda, _cuda_sim) calls it.
#pragma once

#include <pybind11/pybind11.h>

namespace sinapse::bindings {

void bind_enums(pybind11::module_& m);

}  // namespace sinapse::bindings
