// sinapse._cpu: the CPU kernels. One bind_<op>() per op family, each in bindings/<op>.cpp.
#include "common.h"
#include "enums.h"

namespace sinapse::bindings {
void bind_depthwise_conv2d(py::module_& m);  // bindings/depthwise_conv2d.cpp
}
namespace sinapse::bindings {
void bind_layer_norm(py::module_& m);
}  // namespace sinapse::bindings

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "sinapse CPU kernels (C++/OpenMP, run-time SIMD dispatch)";
  sinapse::bindings::bind_config(m);
  sinapse::bindings::bind_enums(m);
  sinapse::bindings::bind_gemm(m);
  sinapse::bindings::bind_axpy(m);
  sinapse::bindings::bind_activation(m);
  sinapse::bindings::bind_softmax(m);
  sinapse::bindings::bind_dropout(m);
  sinapse::bindings::bind_bias(m);
  sinapse::bindings::bind_pooling(m);
  sinapse::bindings::bind_losses(m);
  sinapse::bindings::bind_batch_norm(m);
  sinapse::bindings::bind_conv2d(m);
  sinapse::bindings::bind_embedding(m);
  sinapse::bindings::bind_optimizers(m);
  sinapse::bindings::bind_rnn(m);
  sinapse::bindings::bind_merge(m);
  sinapse::bindings::bind_depthwise_conv2d(m);
  sinapse::bindings::bind_layer_norm(m);
  sinapse::bindings::bind_resize(m);
  sinapse::bindings::bind_augment(m);
}
