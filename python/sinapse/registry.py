"""The one list of ops and kernel variants. The tests, the benchmarks and the docs check
all read it, so the three can never drift apart.

Each op lists its kernel variants from simplest to fastest; the last one is the default
(overridable per call with ``variant=`` and per process with the op's environment variable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OpInfo:
    name: str
    variants: tuple[str, ...]  # simplest first; the last is the default
    backends: tuple[str, ...]  # where a kernel exists: "cpu", "cuda"
    env_var: str | None = None  # selects the default variant, e.g. SINAPSE_GEMM=blocked
    doc: str | None = None  # the kernel's story, relative to the repository root
    bench_suite: str | None = None  # `python -m bench <suite>`

    @property
    def default_variant(self) -> str:
        return self.variants[-1]


OPS: dict[str, OpInfo] = {
    op.name: op
    for op in (
        OpInfo("gemm", ("naive", "blocked", "tuned"), ("cpu", "cuda"), "SINAPSE_GEMM", "docs/kernels/gemm.md", "gemm"),
        OpInfo("axpy", ("default",), ("cpu", "cuda")),
        OpInfo("activation", ("default",), ("cpu", "cuda")),
        OpInfo("softmax", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_SOFTMAX", "docs/kernels/softmax.md", "softmax"),
        OpInfo("dropout", ("default",), ("cpu", "cuda")),
        OpInfo("bias", ("default",), ("cpu", "cuda")),
        OpInfo("pooling", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_POOLING", "docs/kernels/pooling.md", "pooling"),
        OpInfo("losses", ("default",), ("cpu", "cuda")),
        OpInfo(
            "batch_norm",
            ("naive", "tuned"),
            ("cpu", "cuda"),
            "SINAPSE_BATCH_NORM",
            "docs/kernels/batch_norm.md",
            "batch_norm",
        ),
        OpInfo("conv2d", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_CONV2D", "docs/kernels/conv2d.md", "conv2d"),
        OpInfo("embedding", ("default",), ("cpu", "cuda")),
        OpInfo("optimizers", ("default",), ("cpu", "cuda"), None, "docs/kernels/optimizers.md", "optimizers"),
        OpInfo("simple_rnn", ("default",), ("cpu", "cuda"), None, "docs/kernels/rnn.md", "rnn"),
        OpInfo("lstm", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_LSTM", "docs/kernels/rnn.md", "rnn"),
        OpInfo("gru", ("default",), ("cpu", "cuda"), None, "docs/kernels/rnn.md", "rnn"),
    )
}


def op_info(name: str) -> OpInfo:
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; sinapse has {', '.join(sorted(OPS))}") from None


# os.environ's own bytes table on POSIX: every way of setting the environment from Python
# (os.environ[...] = ..., monkeypatch.setenv, del) updates it, and a lookup in it costs ~40 ns
# where os.environ.get costs ~0.5 µs (it encodes the key and decodes the value): every op call
# with variants reads its variable. Elsewhere (Windows), os.environ itself.
_ENVIRON_BYTES = getattr(os.environ, "_data", None) if os.name == "posix" else None


def _getenv(name: str) -> str | None:
    if _ENVIRON_BYTES is None:
        return os.environ.get(name)
    value = _ENVIRON_BYTES.get(name.encode())
    return None if value is None else os.fsdecode(value)


def resolve_variant(op: str, variant: str | None, caller: str | None = None) -> str:
    """The variant an op runs: ``variant`` if given, else the env variable, else the default.
    ``caller``: the public function named in errors (e.g. conv2d_backward for conv2d's variants)."""
    info = op_info(op)
    source = "variant"
    if variant is None and info.env_var:
        variant = _getenv(info.env_var) or None
        source = info.env_var
    if variant is None:
        return info.default_variant
    if variant not in info.variants:
        where = f"`{source}`" if source == "variant" else f"${source}"
        raise ValueError(
            f"{caller or op}: {where}={variant!r} is not a variant of {op}; expected one of {', '.join(info.variants)}"
        )
    return variant
