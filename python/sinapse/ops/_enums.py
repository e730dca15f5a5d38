"""The enumerations the kernels take, by name: one table in C++ (csrc/common/enums.h), bound
into every binding module (sinapse._cpu, _cuda, _cuda_sim; tests/test_enums.py checks they
agree) and read here, so Python never restates a code.

Each is a dict name -> int code, in the order Python shows the names (aliases included:
``"swish"`` is ``"silu"``, ``"mean_squared_error"`` is ``"mse"``).
"""

from __future__ import annotations

from .. import _cpu

# Element-wise activations (ops.activation): linear, relu, ..., silu, swish.
ACTIVATIONS: dict[str, int] = dict(_cpu.ACTIVATIONS)
# The fused epilogue of gemm and conv2d: linear, relu, sigmoid, tanh (and None = linear).
EPILOGUES: dict[str | None, int] = {None: _cpu.EPILOGUES["linear"], **_cpu.EPILOGUES}
# Losses (ops.loss), Keras's long names beside the short ones.
LOSSES: dict[str, int] = dict(_cpu.LOSSES)
# Fused optimizer updates (ops.*_update).
OPTIMIZERS: dict[str, int] = dict(_cpu.OPTIMIZERS)
# Recurrent cells (ops.rnn), and the gates of each (4 for LSTM, 3 for GRU, 1 for the simple RNN).
RNN_CELLS: dict[str, int] = dict(_cpu.RNN_CELLS)
RNN_GATES: dict[str, int] = dict(_cpu.RNN_GATES)
# CPU SIMD paths, slowest first, and the GEMM variants, simplest first.
SIMD_PATHS: dict[str, int] = dict(_cpu.SIMD_PATHS)
GEMM_VARIANTS: dict[str, int] = dict(_cpu.GEMM_VARIANTS)
# The variants of the coursework kernels (pooling, softmax, batch norm, the LSTM cell, conv2d).
KERNEL_VARIANTS: dict[str, int] = dict(_cpu.KERNEL_VARIANTS)
# conv2d's variants on the CPU (naive, im2col, direct, winograd, tuned); CUDA has naive and tuned.
CONV_VARIANTS: dict[str, int] = dict(_cpu.CONV_VARIANTS)
# Element-wise merges of several arrays (ops.merge): add, subtract, multiply, average, maximum, minimum.
MERGE_MODES: dict[str, int] = dict(_cpu.MERGE_MODES)
