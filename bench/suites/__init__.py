"""The benchmark suites, by name. A suite is a module with a docstring and run(args) -> exit code.

Later issues add their suites here (conv2d, pooling, rnn, optimizers, ...).
"""

from . import batch_norm, conv2d, gemm, gemm_blocking, gemm_cuda, optim, pooling, rnn, softmax, torch_baselines, train

SUITES = {
    "batch_norm": batch_norm,
    "conv2d": conv2d,
    "gemm": gemm,
    "gemm_blocking": gemm_blocking,
    "gemm_cuda": gemm_cuda,
    "optim": optim,
    "pooling": pooling,
    "rnn": rnn,
    "softmax": softmax,
    "torch_baselines": torch_baselines,
    "train": train,
}
