"""Shared fixtures and helpers for the sinapse test suite.

Parametrisation lists come from the library itself (the registry and the CPU backend), so
adding a GEMM variant or a SIMD path automatically extends the tests.

Accuracy is checked against ``sinapse.reference.gemm`` evaluated in float64, with a
rigorous elementwise float32 error bound (``gemm_tolerance``) instead of a fudge factor.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import sinapse

# Hypothesis everywhere: reproducible examples, no timing-based failures on a busy machine.
settings.register_profile(
    "sinapse",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("sinapse")
from sinapse import reference  # noqa: E402  (after the Hypothesis profile is loaded)
from sinapse.registry import OPS  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)

GEMM_VARIANTS: tuple[str, ...] = OPS["gemm"].variants
SIMD_PATHS: tuple[str, ...] = tuple(sinapse.cpu.supported_simd_paths())
ACTIVATIONS: tuple[str | None, ...] = (None, "linear", "relu", "sigmoid", "tanh")
ENV_VARS = ("SINAPSE_SIMD",) + tuple(op.env_var for op in OPS.values() if op.env_var)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, but different for each test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _clean_sinapse_env(monkeypatch):
    """Tests see the library defaults, whatever SINAPSE_* the developer's shell exports."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def restore_threads():
    """Restore sinapse's thread setting after a test that changes it."""
    before = sinapse.get_num_threads()
    try:
        yield before
    finally:
        sinapse.set_num_threads(before)


# --------------------------------------------------------------------------- helpers


def op(x: np.ndarray, trans: bool) -> np.ndarray:
    """op(x) as gemm sees it: x, or x.T when the transpose flag is set."""
    return x.T if trans else x


def random_f32(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def stored(op_x: np.ndarray, trans: bool) -> np.ndarray:
    """The C-contiguous array to pass to gemm so that op(array) == op_x."""
    return np.ascontiguousarray(op_x.T if trans else op_x)


def nan_filled(shape) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float32)


def gemm_reference(
    a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, bias=None, activation=None
) -> np.ndarray:
    """``sinapse.reference.gemm`` evaluated in float64 (c is not read when beta == 0)."""
    f64 = lambda x: None if x is None else np.asarray(x, dtype=np.float64)  # noqa: E731
    return reference.gemm(
        f64(a),
        f64(b),
        f64(c) if beta != 0 else None,
        alpha=alpha,
        beta=beta,
        trans_a=trans_a,
        trans_b=trans_b,
        bias=f64(bias),
        activation=activation,
    )


def gemm_tolerance(a, b, c, alpha, beta, K, *, bias=None) -> np.ndarray:
    """Elementwise float32 error bound of ``alpha * a @ b + beta * c + bias``.

    ``a`` and ``b`` are op(a) (M, K) and op(b) (K, N). Any summation order of K products
    in float32, plus the alpha/beta scalings and the bias add, stays within
    ``(K + 2) * eps32 * (|alpha| |a| @ |b| + |beta| |c| + |bias|)``; a factor 4 covers the
    tiny second-order terms and the 1e-6 absolute slack covers the activation's own
    rounding (relu, sigmoid and tanh are 1-Lipschitz, so the bound carries through them).
    """
    mag = abs(alpha) * (np.abs(np.asarray(a, np.float64)) @ np.abs(np.asarray(b, np.float64)))
    if beta != 0 and c is not None:  # c is not read when beta == 0 (it may hold NaN)
        mag = mag + abs(beta) * np.abs(np.asarray(c, np.float64))
    if bias is not None:
        mag = mag + np.abs(np.asarray(bias, np.float64))
    return 4 * (K + 2) * EPS32 * mag + 1e-6


def assert_within(got: np.ndarray, ref: np.ndarray, tol, what: str = "") -> None:
    """|got - ref| <= tol elementwise, and no NaN/inf; a readable report otherwise."""
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}"
    assert np.isfinite(got).all(), f"{what}: {np.count_nonzero(~np.isfinite(got))} non-finite values"
    err = np.abs(got.astype(np.float64) - ref)
    bad = err > tol
    if bad.any():
        idx = np.unravel_index(np.argmax(np.where(bad, err - tol, -np.inf)), err.shape)
        tol_at = tol[idx] if np.ndim(tol) else tol
        raise AssertionError(
            f"{what}: {np.count_nonzero(bad)} of {err.size} elements off; worst at {idx}: "
            f"got {got[idx]!r}, expected {ref[idx]!r}, |err| {err[idx]:.3g} > tol {tol_at:.3g}"
        )


def check_gemm(
    rng,
    M,
    N,
    K,
    *,
    trans_a=False,
    trans_b=False,
    alpha=1.0,
    beta=0.0,
    bias=False,
    activation=None,
    variant=None,
    simd=None,
    out_mode="none",
    c_nan=None,
):
    """Run sinapse.ops.gemm on random data and compare it with the float64 reference.

    out_mode: "none" (out omitted), "given" (a separate, NaN-prefilled out) or "c" (out=c).
    c_nan: fill c with NaN (default: whenever beta == 0, to check c is not read).
    """
    op_a, op_b = random_f32(rng, (M, K)), random_f32(rng, (K, N))
    a, b = stored(op_a, trans_a), stored(op_b, trans_b)
    if c_nan is None:
        c_nan = beta == 0
    c = nan_filled((M, N)) if c_nan else random_f32(rng, (M, N))
    c_before = c.copy()
    bias_arr = random_f32(rng, (N,)) if bias else None
    a_before, b_before = a.copy(), b.copy()

    ref = gemm_reference(op_a, op_b, c, alpha=alpha, beta=beta, bias=bias_arr, activation=activation)
    tol = gemm_tolerance(op_a, op_b, c, alpha, beta, K, bias=bias_arr)

    kwargs = dict(
        alpha=alpha,
        beta=beta,
        trans_a=trans_a,
        trans_b=trans_b,
        bias=bias_arr,
        activation=activation,
        variant=variant,
        simd=simd,
    )
    if out_mode == "none":
        got = sinapse.ops.gemm(a, b, c, **kwargs)
    elif out_mode == "given":
        out = nan_filled((M, N))
        got = sinapse.ops.gemm(a, b, c, out=out, **kwargs)
        assert got is out
    elif out_mode == "c":
        got = sinapse.ops.gemm(a, b, c, out=c, **kwargs)
        assert got is c
    else:  # pragma: no cover
        raise ValueError(out_mode)

    what = (
        f"gemm M={M} N={N} K={K} trans_a={trans_a} trans_b={trans_b} alpha={alpha} beta={beta} "
        f"bias={bias} act={activation} variant={variant} simd={simd} out={out_mode}"
    )
    assert_within(got, ref, tol, what)
    np.testing.assert_array_equal(a, a_before, err_msg=f"{what}: a was modified")
    np.testing.assert_array_equal(b, b_before, err_msg=f"{what}: b was modified")
    if out_mode != "c":
        np.testing.assert_array_equal(c, c_before, err_msg=f"{what}: c was modified")
    return got


# ---- backends for ops that run on both: the CPU kernels, and the CUDA kernels in the simulator
BACKENDS = ["cpu"] + (["cuda_sim"] if sinapse.cuda.simulator_built() else [])


def on(backend: str):
    """Context in which ops run on ``backend``: the CPU, or the CUDA kernels in the simulator
    with guard pages and the shared-memory race check (the strictest mode)."""
    import contextlib

    if backend == "cuda_sim":
        return sinapse.cuda.simulate(checked=True, racecheck=True)
    return contextlib.nullcontext()


@pytest.fixture(autouse=True)
def _seed_sinapse_global_rng(request):
    """sinapse.utils.global_rng() (initializers, shuffling, dropout seeds) seeded from the test's id,
    so every test sees the same weights whatever ran before it."""
    sinapse.utils.set_random_seed(zlib.crc32(request.node.nodeid.encode()))
