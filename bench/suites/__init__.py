"""The benchmark suites, by name. A suite is a module with a docstring and run(args) -> exit code.

Later issues add their suites here (conv2d, pooling, rnn, optimizers, ...).
"""

from . import conv2d, gemm, gemm_blocking, gemm_cuda, rnn

SUITES = {"conv2d": conv2d, "gemm": gemm, "gemm_blocking": gemm_blocking, "gemm_cuda": gemm_cuda, "rnn": rnn}
