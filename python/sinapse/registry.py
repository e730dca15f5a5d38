"""The one list of ops and kernel variants. The tests, the benchmarks and the docs check
all read it, so the three can never drift apart.

An op here is an op *family*: one name for everything that implements it, in every place
(``places``): csrc/cpu/<op>*.cpp, csrc/cuda/<op>.cu, csrc/bindings/<op>.cpp (CPU),
csrc/bindings/cuda/<op>.cpp (CUDA), python/sinapse/ops/<op>.py,
python/sinapse/reference/<op>.py, tests/test_<op>.py, the bench suite ``python -m bench <op>``
(bench/suites/<op>.py) and docs/kernels/<op>.md. tests/test_op_places.py checks every one
exists. A family's public functions may carry other names (``kernels``: the RNN family's
simple_rnn, lstm and gru; pooling's max_pool2d and avg_pool2d) — they share its files.

Each op lists its kernel variants from simplest to fastest; the last one is the default
(overridable per call with ``variant=`` and per process with the op's environment variable).
Some variants exist on the CPU only (``cpu_only_variants``: conv2d's im2col, direct and
winograd); ``variants_on(backend)`` lists those of one backend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Where each place of an op lives, relative to the repository root ({op}: the family's name;
# a "*" is a glob: a kernel may be split over several files, e.g. gemm_*.cpp).
PLACES: dict[str, str] = {
    "cpu kernel": "csrc/cpu/{op}*.cpp",
    "cuda kernel": "csrc/cuda/{op}.cu",
    "cpu binding": "csrc/bindings/{op}.cpp",
    "cuda binding": "csrc/bindings/cuda/{op}.cpp",
    "op": "python/sinapse/ops/{op}.py",
    "reference": "python/sinapse/reference/{op}.py",
    "tests": "tests/test_{op}.py",
    "bench suite": "bench/suites/{op}.py",
    "doc": "docs/kernels/{op}.md",
}


@dataclass(frozen=True)
class OpInfo:
    name: str  # the family's one name in every place (PLACES)
    variants: tuple[str, ...]  # simplest first; the last is the default
    backends: tuple[str, ...]  # where a kernel exists: "cpu", "cuda"
    env_var: str | None = None  # selects the default variant, e.g. SINAPSE_GEMM=blocked
    kernels: tuple[str, ...] = ()  # other names the family's ops go by (rnn: simple_rnn, lstm, gru)
    cpu_only_variants: tuple[str, ...] = ()  # variants with no CUDA kernel (conv2d: im2col, direct, winograd)

    def variants_on(self, backend: str) -> tuple[str, ...]:
        """The variants that run on ``backend`` ("cpu", or "cuda" / "cuda_sim": the CUDA kernels)."""
        if backend == "cpu":
            return self.variants
        return tuple(v for v in self.variants if v not in self.cpu_only_variants)

    @property
    def default_variant(self) -> str:
        return self.variants[-1]

    @property
    def doc(self) -> str:
        """The kernel's story, relative to the repository root."""
        return PLACES["doc"].format(op=self.name)

    @property
    def bench_suite(self) -> str:
        """``python -m bench <suite>``."""
        return self.name

    def places(self) -> dict[str, str]:
        """Place name -> path (or glob) relative to the repository root; CUDA places only
        for an op with a CUDA kernel."""
        return {
            place: path.format(op=self.name)
            for place, path in PLACES.items()
            if "cuda" in self.backends or not place.startswith("cuda")
        }


OPS: dict[str, OpInfo] = {
    op.name: op
    for op in (
        OpInfo("gemm", ("naive", "blocked", "tuned"), ("cpu", "cuda"), "SINAPSE_GEMM"),
        OpInfo("axpy", ("default",), ("cpu", "cuda")),
        OpInfo("activation", ("default",), ("cpu", "cuda"), kernels=("prelu",)),
        OpInfo("softmax", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_SOFTMAX", kernels=("log_softmax",)),
        OpInfo("dropout", ("default",), ("cpu", "cuda"), kernels=("spatial_dropout", "gaussian_noise")),
        OpInfo("bias", ("default",), ("cpu", "cuda"), kernels=("bias_add", "bias_backward")),
        OpInfo("pooling", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_POOLING", kernels=("max_pool2d", "avg_pool2d")),
        OpInfo("losses", ("default",), ("cpu", "cuda"), kernels=("loss",)),
        OpInfo("batch_norm", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_BATCH_NORM"),
        # tuned picks im2col, direct or winograd per layer and pass (csrc/cpu/conv2d_select.cpp)
        OpInfo(
            "conv2d",
            ("naive", "im2col", "direct", "winograd", "tuned"),
            ("cpu", "cuda"),
            "SINAPSE_CONV2D",
            cpu_only_variants=("im2col", "direct", "winograd"),
            kernels=("conv2d_transpose",),  # conv2d's dx kernels run forward (ops/conv2d_transpose.py)
        ),
        OpInfo("embedding", ("default",), ("cpu", "cuda")),
        OpInfo("optimizers", ("default",), ("cpu", "cuda")),
        # The naive variant is the LSTM cell's (simple_rnn and gru have the tuned cell only).
        OpInfo("rnn", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_LSTM", kernels=("simple_rnn", "lstm", "gru")),
        # element-wise merges of several arrays (Keras's Add, ..., Minimum) and concatenation
        OpInfo("merge", ("default",), ("cpu", "cuda"), kernels=("concatenate",)),
        OpInfo("depthwise_conv2d", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_DEPTHWISE_CONV2D"),
        # layer and group normalization: one fused kernel per row (group norm: strided runs)
        OpInfo("layer_norm", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_LAYER_NORM", kernels=("group_norm",)),
        # nearest / bilinear image resize (Keras 3 sampling) and crop, NHWC
        OpInfo("resize", ("naive", "tuned"), ("cpu", "cuda"), "SINAPSE_RESIZE", kernels=("crop",)),
        # data augmentation over NHWC batches with per-image parameters (layers/augmentation.py)
        OpInfo(
            "augment",
            ("default",),
            ("cpu", "cuda"),
            kernels=("affine_transform", "flip", "adjust_contrast", "adjust_brightness"),
        ),
    )
}
_FAMILY = {kernel: info for info in OPS.values() for kernel in info.kernels}


def op_info(name: str) -> OpInfo:
    """The family ``name`` belongs to: an op family's name or one of its ``kernels`` (lstm -> rnn)."""
    info = OPS.get(name) or _FAMILY.get(name)
    if info is None:
        raise ValueError(f"unknown op {name!r}; sinapse has {', '.join(sorted(OPS))}")
    return info


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


def resolve_variant(op: str, variant: str | None, caller: str | None = None, device: str | None = None) -> str:
    """The variant an op runs: ``variant`` if given, else the env variable, else the default.
    ``caller``: the public function named in errors (e.g. conv2d_backward for conv2d's variants).
    ``device`` ("cpu", "cuda", "cuda_sim"; None: not checked): a variant the device lacks
    (``cpu_only_variants`` on CUDA) is a ValueError naming the op, the variant and the device."""
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
    if device is not None and variant not in info.variants_on(device):
        where = "`variant`" if source == "variant" else f"${source}"
        raise ValueError(
            f"{caller or op}: {where}={variant!r} runs on the CPU only; on the {device} device {op} has "
            f"{', '.join(info.variants_on(device))}"
        )
    return variant
