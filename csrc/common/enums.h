// Every enumeration Python names, in one table: each list below is an X-macro of
// X(python_name, Enumerator) pairs, in the order Python shows them (aliases after or beside
// their canonical name). The codes come from the C++ enums themselves, so a list can name an
// enumerator but never restate its number. csrc/bindings/enums.cpp binds every list as a
// name -> code dict into sinapse._cpu, _cuda and _cuda_sim (ACTIVATIONS, LOSSES, ...), and
// python/sinapse/ops/_enums.py reads them from there.
#pragma once

#include <cstddef>
#include <string>

#include "activations.h"
#include "cpu_features.h"
#include "gemm_args.h"
#include "kernel_variant.h"
#include "losses.h"
#include "merge_mode.h"
#include "optimizers.h"
#include "rnn_args.h"

// One entry per line: these are tables, not code for clang-format to reflow.
// clang-format off
// Element-wise activations (ActKind); "swish" is "silu".
#define SINAPSE_ACTIVATIONS(X)  \
  X(linear, linear)             \
  X(relu, relu)                 \
  X(sigmoid, sigmoid)           \
  X(tanh, tanh)                 \
  X(leaky_relu, leaky_relu)     \
  X(elu, elu)                   \
  X(selu, selu)                 \
  X(gelu_tanh, gelu_tanh)       \
  X(gelu, gelu)                 \
  X(hard_sigmoid, hard_sigmoid) \
  X(softplus, softplus)         \
  X(silu, silu)                 \
  X(softsign, softsign)         \
  X(exponential, exponential)   \
  X(relu6, relu6)               \
  X(swish, silu)

// The GEMM / conv2d fused epilogue (Activation): the first four activations.
#define SINAPSE_EPILOGUES(X) \
  X(linear, none)            \
  X(relu, relu)              \
  X(sigmoid, sigmoid)        \
  X(tanh, tanh)

// Losses (LossKind), with Keras's long names beside the short ones.
#define SINAPSE_LOSSES(X)                               \
  X(mse, mse)                                           \
  X(mean_squared_error, mse)                            \
  X(mae, mae)                                           \
  X(mean_absolute_error, mae)                           \
  X(huber, huber)                                       \
  X(binary_crossentropy, binary_crossentropy)           \
  X(categorical_crossentropy, categorical_crossentropy) \
  X(sparse_categorical_crossentropy, sparse_categorical_crossentropy)

// Fused optimizer updates (OptimizerKind).
#define SINAPSE_OPTIMIZERS(X) \
  X(sgd, sgd)                 \
  X(adagrad, adagrad)         \
  X(adadelta, adadelta)       \
  X(rmsprop, rmsprop)         \
  X(adam, adam)

// Recurrent cells (RnnCell).
#define SINAPSE_RNN_CELLS(X)  \
  X(simple_tanh, simple_tanh) \
  X(simple_relu, simple_relu) \
  X(lstm, lstm)               \
  X(gru, gru)                 \
  X(gru_reset_before, gru_reset_before)

// CPU SIMD paths (SimdPath), slowest first.
#define SINAPSE_SIMD_PATHS(X) \
  X(generic, generic)         \
  X(avx2, avx2)               \
  X(avx512, avx512)

// GEMM kernel variants (GemmVariant), simplest first, on every backend.
#define SINAPSE_GEMM_VARIANTS(X) \
  X(naive, naive)                \
  X(blocked, blocked)            \
  X(tuned, tuned)

// The variants of the coursework kernels (KernelVariant: pooling, softmax, batch norm, the
// LSTM cell, conv2d on CUDA), simplest first, on every backend.
#define SINAPSE_KERNEL_VARIANTS(X) \
  X(naive, naive)                  \
  X(tuned, tuned)

// conv2d's variants on the CPU (ConvVariant), simplest first; "tuned" selects per layer.
#define SINAPSE_CONV_VARIANTS(X) \
  X(naive, naive)                \
  X(im2col, im2col)              \
  X(direct, direct)              \
  X(winograd, winograd)          \
  X(tuned, tuned)

// Element-wise merges of several arrays (MergeMode: ops.merge, the Keras merge layers).
#define SINAPSE_MERGE_MODES(X) \
  X(add, add)                  \
  X(subtract, subtract)        \
  X(multiply, multiply)        \
  X(average, average)          \
  X(maximum, maximum)          \
  X(minimum, minimum)
// clang-format on

namespace sinapse::enums {

template <class E>
struct Named {
  const char* name;
  E value;
};

#define SINAPSE_ENUM_TABLE(table, Enum, LIST) inline constexpr Named<Enum> table[] = {LIST(SINAPSE_ENUM_ROW_##Enum)};

#define SINAPSE_ENUM_ROW_ActKind(py, e) {#py, ::sinapse::ActKind::e},
#define SINAPSE_ENUM_ROW_Activation(py, e) {#py, ::sinapse::Activation::e},
#define SINAPSE_ENUM_ROW_LossKind(py, e) {#py, ::sinapse::LossKind::e},
#define SINAPSE_ENUM_ROW_OptimizerKind(py, e) {#py, ::sinapse::OptimizerKind::e},
#define SINAPSE_ENUM_ROW_RnnCell(py, e) {#py, ::sinapse::RnnCell::e},
#define SINAPSE_ENUM_ROW_SimdPath(py, e) {#py, ::sinapse::SimdPath::e},
#define SINAPSE_ENUM_ROW_GemmVariant(py, e) {#py, ::sinapse::GemmVariant::e},
#define SINAPSE_ENUM_ROW_KernelVariant(py, e) {#py, ::sinapse::KernelVariant::e},
#define SINAPSE_ENUM_ROW_ConvVariant(py, e) {#py, ::sinapse::ConvVariant::e},
#define SINAPSE_ENUM_ROW_MergeMode(py, e) {#py, ::sinapse::MergeMode::e},

SINAPSE_ENUM_TABLE(kActivationList, ActKind, SINAPSE_ACTIVATIONS)
SINAPSE_ENUM_TABLE(kEpilogueList, Activation, SINAPSE_EPILOGUES)
SINAPSE_ENUM_TABLE(kLossList, LossKind, SINAPSE_LOSSES)
SINAPSE_ENUM_TABLE(kOptimizerList, OptimizerKind, SINAPSE_OPTIMIZERS)
SINAPSE_ENUM_TABLE(kRnnCellList, RnnCell, SINAPSE_RNN_CELLS)
SINAPSE_ENUM_TABLE(kSimdPathList, SimdPath, SINAPSE_SIMD_PATHS)
SINAPSE_ENUM_TABLE(kGemmVariantList, GemmVariant, SINAPSE_GEMM_VARIANTS)
SINAPSE_ENUM_TABLE(kKernelVariantList, KernelVariant, SINAPSE_KERNEL_VARIANTS)
SINAPSE_ENUM_TABLE(kConvVariantList, ConvVariant, SINAPSE_CONV_VARIANTS)
SINAPSE_ENUM_TABLE(kMergeModeList, MergeMode, SINAPSE_MERGE_MODES)

// Whether `code` is the code of some entry of `table` (the range check of a code a
// binding receives, written once: a new enumerator in a list is accepted everywhere).
template <class E, std::size_t N>
constexpr bool valid_code(const Named<E> (&table)[N], int code) {
  for (const Named<E>& row : table)
    if (static_cast<int>(row.value) == code) return true;
  return false;
}

// The enumerator called `name` in `table`; false when there is none.
template <class E, std::size_t N>
bool parse(const Named<E> (&table)[N], const std::string& name, E* out) {
  for (const Named<E>& row : table)
    if (name == row.name) {
      *out = row.value;
      return true;
    }
  return false;
}

// "a, b or c": the names of a table, for error messages.
template <class E, std::size_t N>
std::string names(const Named<E> (&table)[N]) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) s += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  return s;
}

// Each C++ enum and its list agree on how many codes there are.
static_assert(valid_code(kActivationList, kActKinds - 1) && !valid_code(kActivationList, kActKinds));
static_assert(valid_code(kRnnCellList, kRnnCells - 1) && !valid_code(kRnnCellList, kRnnCells));
static_assert(valid_code(kMergeModeList, kMergeModes - 1) && !valid_code(kMergeModeList, kMergeModes));

}  // namespace sinapse::enums
