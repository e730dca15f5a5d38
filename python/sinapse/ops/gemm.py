"""sinapse.ops.gemm: general matrix multiply with a fused bias + activation epilogue."""

from __future__ import annotations

import math

from ..registry import resolve_variant
from . import _device, _enums
from ._checks import (
    Array,
    _may_overlap,
    as_bool,
    as_float,
    backend,
    check_elements,
    check_float32,
    check_out,
    check_shape,
    inspect,
)
from ._plan import descriptor, preparable

# The fused epilogue's names -> codes (csrc/common/enums.h): None/linear, relu, sigmoid, tanh.
ACTIVATIONS = _enums.EPILOGUES


def _describe(
    a,
    b,
    c=None,
    *,
    alpha=1.0,
    beta=0.0,
    trans_a=False,
    trans_b=False,
    bias=None,
    activation=None,
    out=None,
    variant=None,
    simd=None,
):
    """gemm's descriptor step: every check, the geometry and the kernel's codes (sinapse.ops._plan)."""
    op = "gemm"
    alpha, beta = as_float(op, "alpha", alpha), as_float(op, "beta", beta)
    if not math.isfinite(alpha):
        # Where alpha multiplies is the kernel's choice (packed A in the small-M and blocked
        # paths, each K block's partial sums in the tuned one): with alpha = +-inf a zero
        # product would be NaN in some variants and not in others. Refused, not ambiguous.
        raise ValueError(f"{op}: `alpha` must be finite, got {alpha}.")
    if not (activation is None or isinstance(activation, str)) or activation not in ACTIVATIONS:
        raise ValueError(
            f"{op}: unknown activation {activation!r} for `activation`; expected one of None, "
            f"'linear', 'relu', 'sigmoid', 'tanh'."
        )
    arrays = {"a": inspect(op, "a", a), "b": inspect(op, "b", b)}
    if c is not None:
        arrays["c"] = inspect(op, "c", c)
    if bias is not None:
        arrays["bias"] = inspect(op, "bias", bias)
    out_info = inspect(op, "out", out) if out is not None else None
    device = backend(op, {**arrays, **({"out": out_info} if out_info else {})})

    ai, bi = arrays["a"], arrays["b"]
    trans_a, trans_b = as_bool(op, "trans_a", trans_a), as_bool(op, "trans_b", trans_b)
    check_float32(op, "a", ai, ndim=2)
    check_float32(op, "b", bi, ndim=2)
    M, K = (ai.shape[1], ai.shape[0]) if trans_a else ai.shape
    Kb, N = (bi.shape[1], bi.shape[0]) if trans_b else bi.shape
    if K != Kb:
        raise ValueError(
            f"{op}: inner dimensions differ: op(a) is {M}x{K} (a.shape={ai.shape}, trans_a={trans_a}) "
            f"but op(b) is {Kb}x{N} (b.shape={bi.shape}, trans_b={trans_b})."
        )
    check_elements(op, "b", (M, N), "an op(a) @ op(b) result")  # empty a, b can imply a huge out
    if "c" in arrays:
        check_float32(op, "c", arrays["c"], ndim=2)
        check_shape(op, "c", arrays["c"], (M, N), "the shape of op(a) @ op(b)")
    elif beta != 0.0:
        raise ValueError(f"{op}: beta={beta} needs `c` (the matrix it scales); pass c=... or beta=0.")
    if "bias" in arrays:
        check_float32(op, "bias", arrays["bias"], ndim=1)
        check_shape(op, "bias", arrays["bias"], (N,), "one value per output column")
    # `c` may be `out` itself (the same memory: in place); any other overlap is refused.
    if out_info is not None:
        check_out(op, out_info, (M, N), arrays, allow=("c",))
    # the descriptor fixes the algorithm: variant and SIMD path ($SINAPSE_GEMM, $SINAPSE_SIMD)
    variant, simd = resolve_variant(op, variant), _device.simd(device, simd, op)
    params = (M, N, K, trans_a, trans_b, alpha, beta, ACTIVATIONS[activation], variant, simd)
    infos = {"a": ai, "b": bi, "c": arrays.get("c"), "bias": arrays.get("bias")}
    return descriptor(op, device, infos, params, outputs={"out": (M, N)}, allow=(("out", "c"),))


def _launch(desc, a, b, c, bias, out):
    M, N, K, trans_a, trans_b, alpha, beta, act, variant, simd = desc.params
    op, device = desc.op, desc.device
    if out is None:
        out = desc.output("out", out)
    elif c is not None and c is not out and beta != 0.0 and _may_overlap(inspect(op, "out", out), inspect(op, "c", c)):
        c = out  # the same memory as out (a view of it): already in place
    if beta != 0.0 and c is not out:
        _device.copy_into(out, c)  # the kernels compute in place: out = alpha*AB + beta*out
    _device.kernels(device).gemm(
        a, b, out, bias, trans_a, trans_b, alpha, beta, act, variant, simd, _device.launch_arg(device)
    )
    return out


@preparable(_describe, _launch)
def gemm(
    a: Array,
    b: Array,
    c: Array | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
    bias: Array | None = None,
    activation: str | None = None,
    out: Array | None = None,
    variant: str | None = None,
    simd: str | None = None,
) -> Array:
    """``act(alpha * op(a) @ op(b) + beta * c + bias)``, with op(x) = x or x.T.

    Args:
        a: (M, K) float32 array, or (K, M) with ``trans_a=True`` (no transposed copy is made).
        b: (K, N) float32 array, or (N, K) with ``trans_b=True``.
        c: (M, N) array added as ``beta * c``; required when beta != 0, never read when beta == 0
            (so NaN in it does not propagate, as in BLAS). May be the same array as ``out``.
        alpha, beta: scalars; alpha finite (ValueError otherwise), beta any float.
        bias: optional (N,) array added to every row, before the activation.
        activation: None/"linear", "relu", "sigmoid" or "tanh", applied last.
        out: optional (M, N) float32 array for the result (may be ``c``: in place).
        variant: "naive", "blocked" or "tuned" (default: $SINAPSE_GEMM, else "tuned").
        simd: "generic", "avx2" or "avx512" (default: $SINAPSE_SIMD, else the best supported);
            CPU only.

    CuPy arrays run the CUDA kernels (same variants: naive, blocked = shared-memory tiles,
    tuned) on CuPy's current stream and return a CuPy array; inside
    ``sinapse.cuda.simulate()`` NumPy arrays run those CUDA kernels on the simulator.

    Returns:
        ``out`` (a new array when not given).

    Aliasing: ``out`` may be ``c`` itself (same memory, shape and strides: in place); any
    other memory shared between ``out`` and ``a``, ``b``, ``c`` or ``bias`` is a ValueError.

    Raises:
        TypeError: a non-array or non-float32 argument, or arrays on different devices.
        ValueError: wrong rank, non-contiguous, mismatched shapes, bad out (shape, read-only,
            sharing memory with an input), unknown activation.
        sinapse.CudaUnavailableError: CUDA arrays on a machine where CUDA cannot be used.
    """
    desc = _describe(
        a,
        b,
        c,
        alpha=alpha,
        beta=beta,
        trans_a=trans_a,
        trans_b=trans_b,
        bias=bias,
        activation=activation,
        out=out,
        variant=variant,
        simd=simd,
    )
    return _launch(desc, a, b, c, bias, out)
