"""sinapse.ops.gemm against the float64 reference: every variant x every SIMD path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import sinapse
from conftest import (
    ACTIVATIONS,
    GEMM_VARIANTS,
    SIMD_PATHS,
    assert_within,
    check_gemm,
    gemm_reference,
    gemm_tolerance,
    nan_filled,
    random_f32,
)
from sinapse import _cpu, ops

TRANSPOSES = list(itertools.product([False, True], repeat=2))
TRANS_IDS = [f"{'T' if ta else 'N'}{'T' if tb else 'N'}" for ta, tb in TRANSPOSES]

# Every value of {1, 2, 7, 15, 16, 17, 63, 64, 65, 127, 257, 1000} appears in each of M, N
# and K at least once across these (M, N, K) triples, with K = 1000, M = 1000 and N = 1000
# cases; all are small enough (<= 2.2 MFLOP) for the naive variant.
SHAPES = [
    (1, 1, 1),
    (2, 7, 15),
    (7, 2, 1000),
    (15, 16, 17),
    (16, 17, 63),
    (17, 63, 64),
    (63, 64, 65),
    (64, 65, 127),
    (65, 127, 2),
    (127, 1, 257),
    (257, 15, 7),
    (1000, 7, 16),
    (1, 1000, 17),
    (2, 257, 1),
    (7, 1, 2),
    (16, 15, 7),
    (1, 1000, 1000),
    (1000, 2, 257),
]
# Rotated over SHAPES so edge tiles also see beta != 0 (compute_tile's scratch path).
ALPHA_BETA_ROTATION = [(1.0, 0.0), (0.5, -0.5), (-2.0, 1.0)]


def test_shape_list_covers_every_awkward_size():
    sizes = {1, 2, 7, 15, 16, 17, 63, 64, 65, 127, 257, 1000}
    for dim in range(3):
        assert {s[dim] for s in SHAPES} >= sizes, f"dimension {'MNK'[dim]} misses some sizes"


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES, ids=TRANS_IDS)
@pytest.mark.parametrize("shape_index", range(len(SHAPES)), ids=["x".join(map(str, s)) for s in SHAPES])
def test_awkward_shapes(rng, shape_index, trans_a, trans_b, variant, simd):
    M, N, K = SHAPES[shape_index]
    alpha, beta = ALPHA_BETA_ROTATION[shape_index % len(ALPHA_BETA_ROTATION)]
    check_gemm(rng, M, N, K, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, variant=variant, simd=simd)


ALPHA_BETA = [
    (1.0, 0.0),  # c full of NaN: must not be read
    (-2.0, 0.0),  # idem, with a negative alpha
    (1.0, 1.0),
    (0.5, -0.5),
    (-2.0, 1.0),
    (0.5, 0.25),
    (0.0, 1.0),  # alpha == 0: the result is beta * c
]


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("alpha,beta", ALPHA_BETA)
def test_alpha_beta(rng, alpha, beta, variant, simd):
    # K crosses every path's KC: later K blocks must accumulate onto beta * c, not redo it.
    for trans_a, trans_b in TRANSPOSES:
        check_gemm(
            rng, 29, 41, 300, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, variant=variant, simd=simd
        )


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_epilogue(rng, bias, activation, variant, simd):
    # Edge tiles in M and N for every micro-kernel, and K > KC: the epilogue must run once,
    # after the last K block (relu or tanh applied twice would be caught).
    check_gemm(rng, 29, 41, 300, alpha=1.5, beta=-0.5, bias=bias, activation=activation, variant=variant, simd=simd)
    check_gemm(rng, 13, 70, 5, trans_a=True, bias=bias, activation=activation, variant=variant, simd=simd)


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
def test_aliased_inputs(rng, variant, simd):
    """a and b may be the same array (x @ x.T, x.T @ x): inputs are only read."""
    x = random_f32(rng, (37, 21))
    x0 = x.copy()
    for trans_a, trans_b in [(False, True), (True, False)]:
        op_a, op_b = (x.T if trans_a else x), (x.T if trans_b else x)
        got = ops.gemm(x, x, trans_a=trans_a, trans_b=trans_b, variant=variant, simd=simd)
        assert_within(got, gemm_reference(op_a, op_b), gemm_tolerance(op_a, op_b, None, 1.0, 0.0, op_a.shape[1]))
    np.testing.assert_array_equal(x, x0)


def test_epilogue_actually_applied(rng):
    """Guard against a tolerance so loose that a missing activation would still pass."""
    a, b = random_f32(rng, (8, 20)), random_f32(rng, (20, 8))
    plain = ops.gemm(a, b)
    assert (plain < -0.5).any() and (plain > 0.5).any()
    for act in ("relu", "sigmoid", "tanh"):
        got = ops.gemm(a, b, activation=act)
        ref = gemm_reference(a, b, activation=act)
        assert_within(got, ref, gemm_tolerance(a, b, None, 1.0, 0.0, 20), act)
        assert not np.allclose(got, plain, atol=0.1), act


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize("out_mode", ["none", "given", "c"])
def test_out_modes(rng, out_mode, beta, variant, simd):
    # check_gemm asserts the returned object is `out`, that c is untouched unless out=c,
    # and (beta == 0) that the NaN in c and in the pre-filled out do not leak.
    check_gemm(rng, 37, 45, 70, beta=beta, bias=True, activation="tanh", out_mode=out_mode, variant=variant, simd=simd)


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
def test_out_without_c_is_not_read(rng, variant, simd):
    a, b = random_f32(rng, (20, 9)), random_f32(rng, (9, 33))
    out = nan_filled((20, 33))
    got = ops.gemm(a, b, out=out, variant=variant, simd=simd)
    assert got is out
    assert_within(out, gemm_reference(a, b), gemm_tolerance(a, b, None, 1.0, 0.0, 9))


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid"])
@pytest.mark.parametrize("beta", [0.0, -1.5])
@pytest.mark.parametrize("out_mode", ["none", "given", "c"])
def test_k_zero(rng, out_mode, beta, activation, variant, simd):
    """K == 0: the product is empty, so the result is act(beta * c + bias)."""
    M, N = 5, 19
    for trans_a, trans_b in TRANSPOSES:
        a = np.zeros((0, M) if trans_a else (M, 0), np.float32)
        b = np.zeros((N, 0) if trans_b else (0, N), np.float32)
        c = nan_filled((M, N)) if beta == 0 else random_f32(rng, (M, N))
        bias = random_f32(rng, (N,))
        expected = (beta * c.astype(np.float64) if beta != 0 else np.zeros((M, N))) + bias
        expected = sinapse.reference.activation(activation)(expected)
        out = {"none": None, "given": nan_filled((M, N)), "c": c}[out_mode]
        got = ops.gemm(
            a,
            b,
            c,
            alpha=2.0,
            beta=beta,
            trans_a=trans_a,
            trans_b=trans_b,
            bias=bias,
            activation=activation,
            out=out,
            variant=variant,
            simd=simd,
        )
        if out is not None:
            assert got is out
        assert_within(got, expected, 1e-6 + 4 * np.finfo(np.float32).eps * np.abs(expected), "K=0")


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("M,N,K", [(0, 5, 3), (4, 0, 3), (0, 0, 3), (0, 5, 0), (4, 0, 0)])
def test_empty_result(M, N, K, variant, simd):
    for trans_a, trans_b in TRANSPOSES:
        a = np.ones((K, M) if trans_a else (M, K), np.float32)
        b = np.ones((N, K) if trans_b else (K, N), np.float32)
        c = np.ones((M, N), np.float32)
        bias = np.ones((N,), np.float32)
        got = ops.gemm(
            a,
            b,
            c,
            beta=1.0,
            trans_a=trans_a,
            trans_b=trans_b,
            bias=bias,
            activation="relu",
            variant=variant,
            simd=simd,
        )
        assert got.shape == (M, N) and got.dtype == np.float32
        out = np.empty((M, N), np.float32)
        assert ops.gemm(a, b, out=out, trans_a=trans_a, trans_b=trans_b, variant=variant, simd=simd) is out


# ----------------------------------------------------------------- multi-block shapes


def big_shapes(simd: str) -> list[tuple[int, int, int]]:
    """Shapes whose M, N and K cross the tuned kernel's MC, NC and KC for this path."""
    bk = _cpu.gemm_blocking(simd)
    MR, NR, KC, MC, NC = bk["MR"], bk["NR"], bk["KC"], bk["MC"], bk["NC"]
    return [
        (MC + MR // 2 + 1, 33, 2 * KC + 5),  # 2 M blocks (ragged), 3 K blocks
        (11, NC + NR + 3, KC + 13),  # 2 N blocks (ragged), 2 K blocks
        (MC + MR + 7, NC + NR // 2 + 1, KC + 44),  # all three at once
    ]


def test_big_shapes_cross_every_block_size():
    for simd in SIMD_PATHS:
        bk = _cpu.gemm_blocking(simd)
        shapes = big_shapes(simd)
        assert any(M > bk["MC"] for M, _, _ in shapes), simd
        assert any(N > bk["NC"] for _, N, _ in shapes), simd
        assert any(K > bk["KC"] for _, _, K in shapes), simd


BIG_CASES = [(simd, shape) for simd in SIMD_PATHS for shape in big_shapes(simd)]


@pytest.mark.parametrize("variant", [v for v in GEMM_VARIANTS if v != "naive"])  # naive: too slow here
@pytest.mark.parametrize("simd,shape", BIG_CASES, ids=[f"{s}-{'x'.join(map(str, sh))}" for s, sh in BIG_CASES])
@pytest.mark.parametrize("trans_index", range(len(TRANSPOSES)), ids=TRANS_IDS)
def test_multi_block_shapes(rng, trans_index, simd, shape, variant):
    M, N, K = shape
    trans_a, trans_b = TRANSPOSES[trans_index]
    check_gemm(
        rng,
        M,
        N,
        K,
        trans_a=trans_a,
        trans_b=trans_b,
        alpha=0.75,
        beta=(0.0, -0.5)[trans_index % 2],
        bias=trans_index >= 2,
        activation=(None, "relu", "tanh", "sigmoid")[trans_index],
        variant=variant,
        simd=simd,
    )


# ------------------------------------------------------------------- threads & env


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("M,N,K", [(150, 200, 300), (500, 24, 300), (24, 500, 300)])
def test_one_and_two_threads_agree(rng, restore_threads, M, N, K, variant, simd):
    # >= 6 MFLOP each, so two threads are really used (tall-skinny and short-wide too).
    a, b, c = random_f32(rng, (K, M)), random_f32(rng, (K, N)), random_f32(rng, (M, N))
    bias = random_f32(rng, (N,))
    results = {}
    for n in (1, 2):
        sinapse.set_num_threads(n)
        results[n] = ops.gemm(
            a, b, c, alpha=0.5, beta=2.0, trans_a=True, bias=bias, activation="relu", variant=variant, simd=simd
        )
    ref = gemm_reference(a.T, b, c, alpha=0.5, beta=2.0, bias=bias, activation="relu")
    tol = gemm_tolerance(a.T, b, c, 0.5, 2.0, K, bias=bias)
    assert_within(results[1], ref, tol, "1 thread")
    assert_within(results[2], ref, tol, "2 threads")
    assert_within(results[2], results[1].astype(np.float64), 2 * tol, "2 threads vs 1")


def _env_case(rng):
    a, b = random_f32(rng, (23, 1000)), random_f32(rng, (1000, 19))
    return a, b


def test_sinapse_gemm_env_selects_variant(rng, monkeypatch):
    a, b = _env_case(rng)
    simd = SIMD_PATHS[-1]
    explicit = {v: ops.gemm(a, b, alpha=0.7, variant=v, simd=simd) for v in GEMM_VARIANTS}
    for v in GEMM_VARIANTS:
        monkeypatch.setenv("SINAPSE_GEMM", v)
        via_env = ops.gemm(a, b, alpha=0.7, simd=simd)
        # The variants sum in different orders, so their float32 results differ bitwise:
        # the env result must be exactly the one of the variant it names.
        np.testing.assert_array_equal(via_env, explicit[v], err_msg=f"SINAPSE_GEMM={v}")
        assert any(not np.array_equal(via_env, explicit[w]) for w in GEMM_VARIANTS if w != v), (
            "variants indistinguishable; this test cannot tell which one ran"
        )
        assert sinapse.config()["gemm_variant"] == v
        # variant= still wins over the environment
        np.testing.assert_array_equal(
            ops.gemm(a, b, alpha=0.7, variant=GEMM_VARIANTS[-1], simd=simd), explicit[GEMM_VARIANTS[-1]]
        )
    monkeypatch.delenv("SINAPSE_GEMM")
    np.testing.assert_array_equal(
        ops.gemm(a, b, alpha=0.7, simd=simd), explicit[sinapse.registry.OPS["gemm"].default_variant]
    )


@pytest.mark.parametrize("value", ["fast", "Tuned", "naive "])
def test_sinapse_gemm_env_invalid(rng, monkeypatch, value):
    a, b = _env_case(rng)
    monkeypatch.setenv("SINAPSE_GEMM", value)
    with pytest.raises(ValueError, match=r"gemm: \$SINAPSE_GEMM=.*is not a variant.*naive"):
        ops.gemm(a, b)


def test_sinapse_simd_env_selects_path(rng, monkeypatch):
    a, b = _env_case(rng)
    explicit = {p: ops.gemm(a, b, variant="tuned", simd=p) for p in SIMD_PATHS}
    for p in SIMD_PATHS:
        monkeypatch.setenv("SINAPSE_SIMD", p)
        assert sinapse.cpu.simd_path() == p
        assert sinapse.config()["simd_in_use"] == p
        np.testing.assert_array_equal(ops.gemm(a, b, variant="tuned"), explicit[p], err_msg=f"SINAPSE_SIMD={p}")
    if "generic" in SIMD_PATHS and len(SIMD_PATHS) > 1:
        # FMA (avx2/avx512) vs separate multiply-add (generic): the env choice is observable.
        monkeypatch.setenv("SINAPSE_SIMD", "generic")
        assert not np.array_equal(ops.gemm(a, b, variant="tuned"), explicit[SIMD_PATHS[-1]])


@pytest.mark.parametrize("value", ["sse9", "AVX2", "neon"])
def test_sinapse_simd_env_invalid(rng, monkeypatch, value):
    a, b = _env_case(rng)
    monkeypatch.setenv("SINAPSE_SIMD", value)
    with pytest.raises(ValueError, match=rf"SINAPSE_SIMD='{value}' is not a SIMD path"):
        ops.gemm(a, b)
    with pytest.raises(ValueError, match="SINAPSE_SIMD"):
        sinapse.cpu.simd_path()


def test_default_simd_is_best(rng):
    assert sinapse.cpu.simd_path() == sinapse.cpu.best_simd_path() == SIMD_PATHS[-1]


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_nan_in_a_stays_in_its_row(rng, activation, variant, simd):
    """NaN in op(a) makes exactly its row NaN, whatever the epilogue (relu keeps NaN, as NumPy)."""
    a, b = random_f32(rng, (30, 300)), random_f32(rng, (300, 40))
    a[13, 7] = np.nan
    got = ops.gemm(a, b, activation=activation, bias=random_f32(rng, (40,)), variant=variant, simd=simd)
    assert np.isnan(got[13]).all()
    assert not np.isnan(np.delete(got, 13, axis=0)).any()


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", GEMM_VARIANTS)
def test_activation_saturation(variant, simd):
    a = np.full((5, 4), 50.0, np.float32)
    b = np.ones((4, 6), np.float32)
    b[:, :3] = -1  # pre-activations -200 and +200
    expect = {"sigmoid": [0, 0, 0, 1, 1, 1], "tanh": [-1, -1, -1, 1, 1, 1], "relu": [0, 0, 0, 200, 200, 200]}
    for act, row in expect.items():
        got = ops.gemm(a, b, activation=act, variant=variant, simd=simd)
        np.testing.assert_array_equal(got, np.tile(np.array(row, np.float32), (5, 1)), err_msg=act)


# The tuned variant sends M <= 4 rows (batch-1 inference, GEMV) to a streaming path that
# does not pack B (csrc/cpu/gemm_small_m.cpp). Wide N gives several column chunks (and
# threads); K not a multiple of 4 exercises its 4-rows-of-B loop and its remainder.
@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("M", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False), (True, True)])
def test_small_m_path(rng, restore_threads, simd, M, trans_a, trans_b):
    sinapse.set_num_threads(2)
    for beta, activation, out_mode in ((0.0, None, "given"), (0.5, "tanh", "c")):
        check_gemm(
            rng,
            M,
            9000,
            35,
            trans_a=trans_a,
            trans_b=trans_b,
            alpha=-1.25,
            beta=beta,
            bias=True,
            activation=activation,
            variant="tuned",
            simd=simd,
            out_mode=out_mode,
        )
