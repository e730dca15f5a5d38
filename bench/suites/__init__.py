"""The benchmark suites, by name. A suite is a module with a docstring and run(args) -> exit code.

An op's suite carries the op family's name (python/sinapse/registry.py; tests/test_op_places.py
checks each op has one); the others (gemm_blocking, gemm_cuda, torch_baselines, train) measure
something wider than one op.
"""

from . import (
    batch_norm,
    conv2d,
    gemm,
    gemm_blocking,
    gemm_cuda,
    optimizers,
    pooling,
    rnn,
    softmax,
    torch_baselines,
    train,
)

SUITES = {
    "batch_norm": batch_norm,
    "conv2d": conv2d,
    "gemm": gemm,
    "gemm_blocking": gemm_blocking,
    "gemm_cuda": gemm_cuda,
    "optimizers": optimizers,
    "pooling": pooling,
    "rnn": rnn,
    "softmax": softmax,
    "torch_baselines": torch_baselines,
    "train": train,
}
