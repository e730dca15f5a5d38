// sinapse._cuda (nvcc build) and sinapse._cuda_sim (the same kernels built by the host
// compiler against the SIMT simulator, -DSINAPSE_SIM): one binding file, two modules with
// the same functions. Arrays arrive as raw addresses (device pointers for _cuda, host
// pointers of NumPy arrays for _cuda_sim) taken and validated by python/sinapse/ops, and
// kernels run on the caller's stream (CuPy's current stream).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "../common/threading.h"
#include "../cuda/activation.h"
#include "../cuda/axpy.h"
#include "../cuda/batch_norm.h"
#include "../cuda/bias.h"
#include "../cuda/conv2d.h"
#include "../cuda/dropout.h"
#include "../cuda/check.h"
#include "conv_geometry.h"
#include "kernel_variant.h"
#include "pool_geometry.h"
#include "../cuda/gemm.h"
#include "../cuda/losses.h"
#include "../cuda/pooling.h"
#include "../cuda/softmax.h"
#include "../cuda/embedding.h"
#include "../cuda/optimizers.h"
#include "../cuda/rnn.h"
#include "rnn_args.h"

#if defined(SINAPSE_SIM)
namespace sinapse::cuda::selftest {
void run(const std::string& name, const float* in, float* out, unsigned blocks, unsigned threads);
}
#endif

#ifndef SINAPSE_CUDA_MODULE
#error "SINAPSE_CUDA_MODULE must name the module (_cuda or _cuda_sim)"
#endif

namespace py = pybind11;

namespace {

cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

template <typename T>
T* as_ptr(std::uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

// GemmArgs from the flat argument list (shapes already validated by sinapse.ops.gemm).
sinapse::GemmArgs gemm_args(int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b, float alpha, std::uintptr_t a,
                            int64_t lda, std::uintptr_t b, int64_t ldb, float beta, std::uintptr_t c, int64_t ldc,
                            std::uintptr_t bias, int activation) {
  if (M < 0 || N < 0 || K < 0 || activation < 0 || activation > 3)
    throw std::invalid_argument("gemm: negative size or activation code out of range");
  sinapse::GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.M = M;
  g.N = N;
  g.K = K;
  g.alpha = alpha;
  g.A = as_ptr<const float>(a);
  g.lda = lda;
  g.B = as_ptr<const float>(b);
  g.ldb = ldb;
  g.beta = beta;
  g.C = as_ptr<float>(c);
  g.ldc = ldc;
  g.bias = bias ? as_ptr<const float>(bias) : nullptr;
  g.act = static_cast<sinapse::Activation>(activation);
  return g;
}

#define SINAPSE_GEMM_ARGS                                                                                    \
  py::arg("M"), py::arg("N"), py::arg("K"), py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"),        \
      py::arg("a_ptr"), py::arg("lda"), py::arg("b_ptr"), py::arg("ldb"), py::arg("beta"), py::arg("c_ptr"), \
      py::arg("ldc"), py::arg("bias_ptr"), py::arg("activation")

}  // namespace

PYBIND11_MODULE(SINAPSE_CUDA_MODULE, m) {
#if defined(SINAPSE_SIM)
  m.doc() = "sinapse CUDA kernels run by the SIMT simulator on the CPU (host memory)";
  m.attr("is_simulator") = true;
  m.def("device_status", [] { return py::make_tuple(1, std::string()); });
  m.def(
      "configure",
      [](uint64_t seed, int64_t stack_kib, bool racecheck) {
        sinapse::sim::set_seed(seed);
        if (stack_kib > 0) sinapse::sim::set_stack_bytes(static_cast<size_t>(stack_kib) * 1024);
        sinapse::sim::set_racecheck(racecheck);
      },
      py::arg("seed"), py::arg("stack_kib") = 0, py::arg("racecheck") = false,
      "Seed of the fiber schedule (a different seed, a different interleaving), fiber stack size, "
      "and the shared-memory race check.");
  m.def(
      "set_num_threads", [](int n) { sinapse::set_num_threads(n); }, py::arg("n"),
      "OS threads that run blocks in parallel.");
  m.def("last_launch", &sinapse::sim::last_launch, "kernel<<<grid, block, shared>>> of the latest launch.");
  m.def(
      "guarded_array",
      [](int64_t n) {
        if (n < 0) throw std::invalid_argument("guarded_array: negative size");
        void* p = sinapse::sim::guarded_alloc(static_cast<size_t>(n) * sizeof(float));
        py::capsule owner(p, [](void* q) { sinapse::sim::guarded_free(q); });
        return py::array_t<float>({n}, {static_cast<int64_t>(sizeof(float))}, static_cast<float*>(p), owner);
      },
      py::arg("n"),
      "A float32 array of n elements between two PROT_NONE pages: a kernel touching outside it "
      "fails with an out-of-bounds error (checked mode, sinapse.cuda.simulate(checked=True)).");
  m.def(
      "guarded_intact", [](std::uintptr_t p) { return sinapse::sim::guarded_intact(reinterpret_cast<const void*>(p)); },
      py::arg("ptr"), "False when something wrote into the canary bytes before a guarded buffer.");
#else
  m.doc() = "sinapse CUDA kernels";
  m.attr("is_simulator") = false;
#ifdef SINAPSE_CUDA_ARCHS
  m.attr("archs") = SINAPSE_CUDA_ARCHS;
#endif
  m.attr("runtime_version") = CUDART_VERSION;
  // (number of devices, "" or the reason there are none). Never raises: it is how
  // sinapse.cuda.why_unavailable() explains a machine without a GPU or driver.
  m.def("device_status", []() -> py::tuple {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it, so later calls do not inherit it
      return py::make_tuple(0, sinapse::cuda::describe(err));
    }
    return py::make_tuple(count, count > 0 ? std::string() : std::string("no CUDA device found"));
  });
  m.def("driver_version", [] {
    int v = 0;
    SINAPSE_CUDA_CHECK(cudaDriverGetVersion(&v));
    return v;
  });
#endif

  m.def(
      "axpy",
      [](int64_t n, float alpha, std::uintptr_t x, std::uintptr_t y, std::uintptr_t stream) {
        py::gil_scoped_release release;
        sinapse::cuda::axpy(n, alpha, as_ptr<const float>(x), as_ptr<float>(y), as_stream(stream));
      },
      py::arg("n"), py::arg("alpha"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("stream") = 0,
      "y += alpha * x (validated by sinapse.ops.axpy).");

  m.def(
      "activation_forward",
      [](int64_t n, std::uintptr_t x, std::uintptr_t y, int kind, float alpha, std::uintptr_t stream) {
        if (kind < 0 || kind >= sinapse::kActKinds) throw std::invalid_argument("activation: kind code out of range");
        py::gil_scoped_release release;
        sinapse::cuda::activation_forward(n, as_ptr<const float>(x), as_ptr<float>(y),
                                          static_cast<sinapse::ActKind>(kind), alpha, as_stream(stream));
      },
      py::arg("n"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("kind"), py::arg("alpha"), py::arg("stream") = 0);

  m.def(
      "activation_backward",
      [](int64_t n, std::uintptr_t x, std::uintptr_t dy, std::uintptr_t dx, int kind, float alpha,
         std::uintptr_t stream) {
        if (kind < 0 || kind >= sinapse::kActKinds) throw std::invalid_argument("activation: kind code out of range");
        py::gil_scoped_release release;
        sinapse::cuda::activation_backward(n, as_ptr<const float>(x), as_ptr<const float>(dy), as_ptr<float>(dx),
                                           static_cast<sinapse::ActKind>(kind), alpha, as_stream(stream));
      },
      py::arg("n"), py::arg("x_ptr"), py::arg("dy_ptr"), py::arg("dx_ptr"), py::arg("kind"), py::arg("alpha"),
      py::arg("stream") = 0);

  m.def(
      "bias_add",
      [](int64_t rows, int64_t channels, std::uintptr_t x, std::uintptr_t bias, std::uintptr_t y,
         std::uintptr_t stream) {
        py::gil_scoped_release release;
        sinapse::cuda::bias_add(rows, channels, as_ptr<const float>(x), as_ptr<const float>(bias), as_ptr<float>(y),
                                as_stream(stream));
      },
      py::arg("rows"), py::arg("channels"), py::arg("x_ptr"), py::arg("bias_ptr"), py::arg("y_ptr"),
      py::arg("stream") = 0);

  m.def(
      "bias_grad",
      [](int64_t rows, int64_t channels, std::uintptr_t dy, std::uintptr_t db, std::uintptr_t stream) {
        py::gil_scoped_release release;
        sinapse::cuda::bias_grad(rows, channels, as_ptr<const float>(dy), as_ptr<float>(db), as_stream(stream));
      },
      py::arg("rows"), py::arg("channels"), py::arg("dy_ptr"), py::arg("db_ptr"), py::arg("stream") = 0);

  m.def(
      "dropout",
      [](int64_t n, std::uintptr_t x, std::uintptr_t y, float rate, uint64_t seed, uint64_t offset,
         std::uintptr_t stream) {
        if (!(rate >= 0.0f && rate < 1.0f)) throw std::invalid_argument("dropout: rate must be in [0, 1)");
        py::gil_scoped_release release;
        sinapse::cuda::dropout(n, as_ptr<const float>(x), as_ptr<float>(y), rate, seed, offset, as_stream(stream));
      },
      py::arg("n"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("rate"), py::arg("seed"), py::arg("offset"),
      py::arg("stream") = 0);

  m.def(
      "loss",
      [](int kind, bool from_logits, int64_t rows, int64_t cols, std::uintptr_t y_true, std::uintptr_t labels,
         std::uintptr_t y_pred, std::uintptr_t weights, float delta, float grad_scale, std::uintptr_t per_row,
         std::uintptr_t grad, std::uintptr_t total, std::uintptr_t stream) {
        if (kind < 0 || kind > 5) throw std::invalid_argument("loss: kind code out of range");
        const sinapse::LossArgs a{static_cast<sinapse::LossKind>(kind),
                                  from_logits,
                                  rows,
                                  cols,
                                  as_ptr<const float>(y_true),
                                  as_ptr<const int32_t>(labels),
                                  as_ptr<const float>(y_pred),
                                  as_ptr<const float>(weights),
                                  delta,
                                  grad_scale,
                                  as_ptr<float>(per_row),
                                  as_ptr<float>(grad)};
        py::gil_scoped_release release;
        sinapse::cuda::loss(a, as_ptr<float>(total), as_stream(stream));
      },
      py::arg("kind"), py::arg("from_logits"), py::arg("rows"), py::arg("cols"), py::arg("y_true_ptr"),
      py::arg("labels_ptr"), py::arg("y_pred_ptr"), py::arg("weights_ptr"), py::arg("delta"), py::arg("grad_scale"),
      py::arg("per_row_ptr"), py::arg("grad_ptr"), py::arg("total_ptr"), py::arg("stream") = 0);

  using U = std::uintptr_t;
  m.def("batch_norm_train",
        [](int64_t rows, int64_t channels, U x, U gamma, U beta, U running_mean, U running_var, float momentum,
           float epsilon, U y, U save_mean, U save_invstd, const std::string& variant, U stream) {
          const auto v = sinapse::bindings::parse_kernel_variant("batch_norm", variant);
          py::gil_scoped_release release;
          sinapse::cuda::batch_norm_train(rows, channels, as_ptr<const float>(x), as_ptr<const float>(gamma),
                                          as_ptr<const float>(beta), as_ptr<float>(running_mean),
                                          as_ptr<float>(running_var), momentum, epsilon, as_ptr<float>(y),
                                          as_ptr<float>(save_mean), as_ptr<float>(save_invstd), v, as_stream(stream));
        });
  m.def("batch_norm_infer", [](int64_t rows, int64_t channels, U x, U gamma, U beta, U running_mean, U running_var,
                               float epsilon, U y, U save_invstd, const std::string& variant, U stream) {
    const auto v = sinapse::bindings::parse_kernel_variant("batch_norm", variant);
    py::gil_scoped_release release;
    sinapse::cuda::batch_norm_infer(rows, channels, as_ptr<const float>(x), as_ptr<const float>(gamma),
                                    as_ptr<const float>(beta), as_ptr<const float>(running_mean),
                                    as_ptr<const float>(running_var), epsilon, as_ptr<float>(y),
                                    as_ptr<float>(save_invstd), v, as_stream(stream));
  });
  m.def("batch_norm_backward", [](int64_t rows, int64_t channels, U x, U dy, U gamma, U mean, U invstd, bool training,
                                  U dx, U dgamma, U dbeta, const std::string& variant, U stream) {
    const auto v = sinapse::bindings::parse_kernel_variant("batch_norm_backward", variant);
    py::gil_scoped_release release;
    sinapse::cuda::batch_norm_backward(rows, channels, as_ptr<const float>(x), as_ptr<const float>(dy),
                                       as_ptr<const float>(gamma), as_ptr<const float>(mean),
                                       as_ptr<const float>(invstd), training, as_ptr<float>(dx), as_ptr<float>(dgamma),
                                       as_ptr<float>(dbeta), v, as_stream(stream));
  });

  m.def("conv2d_forward", [](const sinapse::bindings::ConvGeometry& g, U x, U w, U bias, int activation, U y,
                             const std::string& variant, U stream) {
    if (activation < 0 || activation > 3) throw std::invalid_argument("conv2d: activation code out of range");
    const sinapse::ConvArgs a = sinapse::bindings::conv_args(g);
    const auto v = sinapse::bindings::parse_kernel_variant("conv2d", variant);
    py::gil_scoped_release release;
    sinapse::cuda::conv2d_forward(a, as_ptr<const float>(x), as_ptr<const float>(w), as_ptr<const float>(bias),
                                  static_cast<sinapse::Activation>(activation), as_ptr<float>(y), v, as_stream(stream));
  });
  m.def("conv2d_backward", [](const sinapse::bindings::ConvGeometry& g, U x, U w, U dy, U dx, U dw, U db,
                              const std::string& variant, U stream) {
    const sinapse::ConvArgs a = sinapse::bindings::conv_args(g);
    const auto v = sinapse::bindings::parse_kernel_variant("conv2d", variant);
    py::gil_scoped_release release;
    sinapse::cuda::conv2d_backward(a, as_ptr<const float>(x), as_ptr<const float>(w), as_ptr<const float>(dy),
                                   as_ptr<float>(dx), as_ptr<float>(dw), as_ptr<float>(db), v, as_stream(stream));
  });

  using Geometry = std::array<int64_t, 12>;
  m.def(
      "max_pool_forward",
      [](const Geometry& g, std::uintptr_t x, std::uintptr_t y, const std::string& variant, std::uintptr_t stream) {
        const sinapse::PoolArgs p = sinapse::bindings::pool_args(g);
        const auto v = sinapse::bindings::parse_kernel_variant("pooling", variant);
        py::gil_scoped_release release;
        sinapse::cuda::max_pool_forward(p, as_ptr<const float>(x), as_ptr<float>(y), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("variant") = "tuned", py::arg("stream") = 0);
  m.def(
      "max_pool_backward",
      [](const Geometry& g, std::uintptr_t x, std::uintptr_t dy, std::uintptr_t dx, const std::string& variant,
         std::uintptr_t stream) {
        const sinapse::PoolArgs p = sinapse::bindings::pool_args(g);
        const auto v = sinapse::bindings::parse_kernel_variant("pooling", variant);
        py::gil_scoped_release release;
        sinapse::cuda::max_pool_backward(p, as_ptr<const float>(x), as_ptr<const float>(dy), as_ptr<float>(dx), v,
                                         as_stream(stream));
      },
      py::arg("geometry"), py::arg("x_ptr"), py::arg("dy_ptr"), py::arg("dx_ptr"), py::arg("variant") = "tuned",
      py::arg("stream") = 0);
  m.def(
      "avg_pool_forward",
      [](const Geometry& g, std::uintptr_t x, std::uintptr_t y, const std::string& variant, std::uintptr_t stream) {
        const sinapse::PoolArgs p = sinapse::bindings::pool_args(g);
        const auto v = sinapse::bindings::parse_kernel_variant("pooling", variant);
        py::gil_scoped_release release;
        sinapse::cuda::avg_pool_forward(p, as_ptr<const float>(x), as_ptr<float>(y), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("variant") = "tuned", py::arg("stream") = 0);
  m.def(
      "avg_pool_backward",
      [](const Geometry& g, std::uintptr_t dy, std::uintptr_t dx, const std::string& variant, std::uintptr_t stream) {
        const sinapse::PoolArgs p = sinapse::bindings::pool_args(g);
        const auto v = sinapse::bindings::parse_kernel_variant("pooling", variant);
        py::gil_scoped_release release;
        sinapse::cuda::avg_pool_backward(p, as_ptr<const float>(dy), as_ptr<float>(dx), v, as_stream(stream));
      },
      py::arg("geometry"), py::arg("dy_ptr"), py::arg("dx_ptr"), py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "softmax_forward",
      [](int64_t rows, int64_t cols, std::uintptr_t x, std::uintptr_t y, bool log, const std::string& variant,
         std::uintptr_t stream) {
        const auto v = sinapse::bindings::parse_kernel_variant("softmax_forward", variant);
        py::gil_scoped_release release;
        sinapse::cuda::softmax_forward(rows, cols, as_ptr<const float>(x), as_ptr<float>(y), log, v, as_stream(stream));
      },
      py::arg("rows"), py::arg("cols"), py::arg("x_ptr"), py::arg("y_ptr"), py::arg("log"),
      py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "softmax_backward",
      [](int64_t rows, int64_t cols, std::uintptr_t y, std::uintptr_t dy, std::uintptr_t dx, bool log,
         const std::string& variant, std::uintptr_t stream) {
        const auto v = sinapse::bindings::parse_kernel_variant("softmax_backward", variant);
        py::gil_scoped_release release;
        sinapse::cuda::softmax_backward(rows, cols, as_ptr<const float>(y), as_ptr<const float>(dy), as_ptr<float>(dx),
                                        log, v, as_stream(stream));
      },
      py::arg("rows"), py::arg("cols"), py::arg("y_ptr"), py::arg("dy_ptr"), py::arg("dx_ptr"), py::arg("log"),
      py::arg("variant") = "tuned", py::arg("stream") = 0);

  m.def(
      "gemm",
      [](int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b, float alpha, std::uintptr_t a, int64_t lda,
         std::uintptr_t b, int64_t ldb, float beta, std::uintptr_t c, int64_t ldc, std::uintptr_t bias, int activation,
         const std::string& variant, std::uintptr_t stream) {
        const sinapse::GemmArgs g =
            gemm_args(M, N, K, trans_a, trans_b, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation);
        const sinapse::GemmVariant v = sinapse::bindings::parse_gemm_variant(variant);
        py::gil_scoped_release release;
        sinapse::cuda::gemm(g, v, as_stream(stream));
      },
      SINAPSE_GEMM_ARGS, py::arg("variant"), py::arg("stream") = 0,
      "c = act(alpha * op(a) @ op(b) + beta * c + bias) on device pointers (validated by sinapse.ops.gemm).");

  m.def("embedding_forward", [](int64_t n, int64_t vocab, int64_t dim, U ids, bool ids_64, U table, U out, U stream) {
    if (n < 0 || vocab < 0 || dim < 0) throw std::invalid_argument("embedding: negative size");
    py::gil_scoped_release release;
    sinapse::cuda::embedding_forward(n, dim, as_ptr<const void>(ids), ids_64, as_ptr<const float>(table),
                                     as_ptr<float>(out), as_stream(stream));
  });
  m.def("embedding_backward", [](int64_t n, int64_t vocab, int64_t dim, U ids, bool ids_64, U dy, U dtable, U stream) {
    if (n < 0 || vocab < 0 || dim < 0) throw std::invalid_argument("embedding_backward: negative size");
    py::gil_scoped_release release;
    sinapse::cuda::embedding_backward(n, vocab, dim, as_ptr<const void>(ids), ids_64, as_ptr<const float>(dy),
                                      as_ptr<float>(dtable), as_stream(stream));
  });

  m.def("optimizer_update",
        [](int kind, int64_t n, U param, U grad, U s0, U s1, U s2, float lr, float weight_decay, float l2,
           float grad_scale, float clipvalue, float momentum, float rho, float beta_1, float beta_2, float epsilon,
           int64_t step, bool nesterov, bool centered, bool amsgrad, U stream) {
          if (kind < 0 || kind > 4 || n < 0) throw std::invalid_argument("optimizer_update: bad kind code or size");
          sinapse::OptimizerArgs a;
          a.kind = static_cast<sinapse::OptimizerKind>(kind);
          a.lr = lr, a.weight_decay = weight_decay, a.l2 = l2, a.grad_scale = grad_scale, a.clipvalue = clipvalue;
          a.momentum = momentum, a.rho = rho, a.beta_1 = beta_1, a.beta_2 = beta_2, a.epsilon = epsilon, a.step = step;
          a.nesterov = nesterov, a.centered = centered, a.amsgrad = amsgrad;
          if (const char* err = sinapse::optimizer_slots_error(a, s0 != 0, s1 != 0, s2 != 0))
            throw std::invalid_argument(std::string("optimizer_update: ") + err);
          py::gil_scoped_release release;
          sinapse::cuda::optimizer_update(a, n, as_ptr<float>(param), as_ptr<const float>(grad), as_ptr<float>(s0),
                                          as_ptr<float>(s1), as_ptr<float>(s2), as_stream(stream));
        });
  m.def("sum_squares", [](int64_t n, U x, U partial, int max_partials, U out, U stream) {
    if (n < 0 || max_partials < 1) throw std::invalid_argument("sum_squares: bad size");
    py::gil_scoped_release release;
    sinapse::cuda::sum_squares(n, as_ptr<const float>(x), as_ptr<double>(partial), max_partials, as_ptr<double>(out),
                               as_stream(stream));
  });
  m.def("scale_clip", [](int64_t n, U x, U y, float scale, float clipvalue, U stream) {
    py::gil_scoped_release release;
    sinapse::cuda::scale_clip(n, as_ptr<const float>(x), as_ptr<float>(y), scale, clipvalue, as_stream(stream));
  });

#if defined(SINAPSE_SIM)
  m.def(
      "gemm_mutant",
      [](int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b, float alpha, std::uintptr_t a, int64_t lda,
         std::uintptr_t b, int64_t ldb, float beta, std::uintptr_t c, int64_t ldc, std::uintptr_t bias, int activation,
         const std::string& which) {
        const sinapse::GemmArgs g =
            gemm_args(M, N, K, trans_a, trans_b, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation);
        py::gil_scoped_release release;
        sinapse::cuda::gemm_mutant(g, which, nullptr);
      },
      SINAPSE_GEMM_ARGS, py::arg("which"), "A deliberately broken GEMM variant (tests prove they catch it).");

  m.def(
      "conv2d_mutant",
      [](const sinapse::bindings::ConvGeometry& g, std::uintptr_t x, std::uintptr_t w, std::uintptr_t y,
         const std::string& which) {
        const sinapse::ConvArgs a = sinapse::bindings::conv_args(g);
        py::gil_scoped_release release;
        sinapse::cuda::conv2d_mutant(a, as_ptr<const float>(x), as_ptr<const float>(w), as_ptr<float>(y), which);
      },
      py::arg("geometry"), py::arg("x_ptr"), py::arg("w_ptr"), py::arg("y_ptr"), py::arg("which"),
      "A deliberately broken conv2d kernel (tests prove they catch it).");

  m.def(
      "embedding_backward_mutant",
      [](int64_t n, int64_t vocab, int64_t dim, std::uintptr_t ids, std::uintptr_t dy, std::uintptr_t dtable,
         const std::string& which) {
        py::gil_scoped_release release;
        sinapse::cuda::embedding_backward_mutant(n, vocab, dim, as_ptr<const int32_t>(ids), as_ptr<const float>(dy),
                                                 as_ptr<float>(dtable), which);
      },
      py::arg("n"), py::arg("vocab"), py::arg("dim"), py::arg("ids_ptr"), py::arg("dy_ptr"), py::arg("dtable_ptr"),
      py::arg("which"), "A deliberately broken embedding backward kernel (tests prove they catch it).");

  m.def(
      "selftest",
      [](const std::string& name, std::uintptr_t in, std::uintptr_t out, unsigned blocks, unsigned threads) {
        py::gil_scoped_release release;
        sinapse::cuda::selftest::run(name, as_ptr<const float>(in), as_ptr<float>(out), blocks, threads);
      },
      py::arg("name"), py::arg("in_ptr"), py::arg("out_ptr"), py::arg("blocks"), py::arg("threads"),
      "Run one of the simulator's self-test kernels (csrc/cuda/sim/selftest.cu) on host buffers.");
#endif

  // Recurrent sequence ops (validated by sinapse.ops.rnn).
  m.def(
      "rnn_forward", [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards, bool return_sequences,
                        std::uintptr_t x, std::uintptr_t kernel, std::uintptr_t rkernel, std::uintptr_t bias,
                        std::uintptr_t mask, std::uintptr_t h0, std::uintptr_t c0, std::uintptr_t y, std::uintptr_t hT,
                        std::uintptr_t cT, std::uintptr_t ws, const std::string& variant, std::uintptr_t stream) {
        const sinapse::RnnArgs a = sinapse::bindings::rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
        const auto v = sinapse::bindings::rnn_variant(a, variant);
        py::gil_scoped_release release;
        sinapse::cuda::rnn_forward(a, as_ptr<const float>(x), as_ptr<const float>(kernel), as_ptr<const float>(rkernel),
                                   as_ptr<const float>(bias), as_ptr<const uint8_t>(mask), as_ptr<const float>(h0),
                                   as_ptr<const float>(c0), as_ptr<float>(y), as_ptr<float>(hT), as_ptr<float>(cT),
                                   as_ptr<float>(ws), v, as_stream(stream));
      });
  m.def("rnn_backward", [](int cell, int64_t N, int64_t T, int64_t D, int64_t H, bool go_backwards,
                           bool return_sequences, std::uintptr_t x, std::uintptr_t kernel, std::uintptr_t rkernel,
                           std::uintptr_t mask, std::uintptr_t ws, std::uintptr_t dy, std::uintptr_t dhT,
                           std::uintptr_t dcT, std::uintptr_t dx, std::uintptr_t dkernel, std::uintptr_t drkernel,
                           std::uintptr_t dbias, std::uintptr_t dh0, std::uintptr_t dc0, std::uintptr_t scratch,
                           const std::string& variant, std::uintptr_t stream) {
    const sinapse::RnnArgs a = sinapse::bindings::rnn_args(cell, N, T, D, H, go_backwards, return_sequences);
    const auto v = sinapse::bindings::rnn_variant(a, variant);
    py::gil_scoped_release release;
    sinapse::cuda::rnn_backward(a, as_ptr<const float>(x), as_ptr<const float>(kernel), as_ptr<const float>(rkernel),
                                as_ptr<const uint8_t>(mask), as_ptr<const float>(ws), as_ptr<const float>(dy),
                                as_ptr<const float>(dhT), as_ptr<const float>(dcT), as_ptr<float>(dx),
                                as_ptr<float>(dkernel), as_ptr<float>(drkernel), as_ptr<float>(dbias),
                                as_ptr<float>(dh0), as_ptr<float>(dc0), as_ptr<float>(scratch), v, as_stream(stream));
  });
}
