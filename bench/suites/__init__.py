"""The benchmark suites, by name. A suite is a module with a docstring and run(args) -> exit code.

An op's suite carries the op family's name (python/sinapse/registry.py; tests/test_op_places.py
checks each op has one); the others (cuda_profile, distributed, gemm_blocking, gemm_cuda, torch_baselines, train)
measure something wider than one op.
"""

from . import (
    activation,
    augment,
    axpy,
    batch_norm,
    bias,
    conv2d,
    conv2d_transpose,
    cuda_profile,
    depthwise_conv2d,
    distributed,
    dropout,
    embedding,
    gemm,
    gemm_blocking,
    gemm_cuda,
    layer_norm,
    losses,
    merge,
    optimizers,
    pooling,
    resize,
    rnn,
    softmax,
    torch_baselines,
    train,
)

SUITES = {
    "activation": activation,
    "axpy": axpy,
    "batch_norm": batch_norm,
    "bias": bias,
    "conv2d": conv2d,
    "conv2d_transpose": conv2d_transpose,
    "cuda_profile": cuda_profile,
    "distributed": distributed,
    "dropout": dropout,
    "embedding": embedding,
    "gemm": gemm,
    "gemm_blocking": gemm_blocking,
    "gemm_cuda": gemm_cuda,
    "layer_norm": layer_norm,
    "losses": losses,
    "merge": merge,
    "optimizers": optimizers,
    "pooling": pooling,
    "resize": resize,
    "rnn": rnn,
    "softmax": softmax,
    "torch_baselines": torch_baselines,
    "train": train,
    "depthwise_conv2d": depthwise_conv2d,
    "augment": augment,
}
