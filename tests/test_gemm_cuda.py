"""The CUDA GEMM kernels (csrc/cuda/gemm.cu), every variant, run on the CPU by the SIMT
simulator (sinapse._cuda_sim) against the float64 reference; the deliberately broken
mutants must fail the same checks; and CuPy dispatch on a real GPU when one is present."""

import itertools

import numpy as np
import pytest

import sinapse
from conftest import ACTIVATIONS, assert_within, check_gemm, gemm_reference, gemm_tolerance, random_f32
from sinapse import ops

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")

VARIANTS = sinapse.registry.OPS["gemm"].variants
# Sizes around the kernels' block boundaries (16 for naive/blocked, 64 for tuned).
EDGES = [1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129]
SHAPES = [
    (1, 1, 1),
    (31, 33, 17),
    (32, 32, 32),
    (33, 31, 65),
    (63, 65, 64),
    (64, 64, 63),
    (65, 17, 129),
    (127, 64, 33),
    (129, 129, 16),
    (1, 129, 15),
    (129, 1, 127),
    (16, 63, 1),
]
TRANSPOSES = list(itertools.product([False, True], repeat=2))


def test_shape_list_covers_every_edge():
    used = {v for shape in SHAPES for v in shape}
    assert set(EDGES) <= used


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("M,N,K", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("mode", ["fast", "checked"])
def test_variants_match_reference(rng, variant, M, N, K, trans_a, trans_b, mode):
    # checked: every buffer between guard pages and the shared-memory race check on, so an
    # out-of-bounds access or a missing barrier fails loudly.
    checked = mode == "checked"
    with sinapse.cuda.simulate(checked=checked, racecheck=checked):
        check_gemm(
            rng, M, N, K, trans_a=trans_a, trans_b=trans_b, alpha=1.5, beta=0.0, variant=variant, out_mode="given"
        )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
def test_epilogues_and_beta(rng, variant, activation, bias):
    with sinapse.cuda.simulate():
        for beta, out_mode in ((0.0, "none"), (-0.5, "c"), (1.0, "given")):
            check_gemm(
                rng,
                65,
                33,
                40,
                trans_a=True,
                alpha=-0.75,
                beta=beta,
                bias=bias,
                activation=activation,
                variant=variant,
                out_mode=out_mode,
            )


@pytest.mark.parametrize("variant", VARIANTS)
def test_k_zero_and_empty(rng, variant):
    with sinapse.cuda.simulate():
        check_gemm(rng, 7, 9, 0, beta=0.5, bias=True, activation="relu", variant=variant, out_mode="c")
        assert ops.gemm(np.ones((0, 3), np.float32), np.ones((3, 4), np.float32), variant=variant).shape == (0, 4)


@pytest.mark.parametrize("variant", VARIANTS)
def test_result_does_not_depend_on_thread_interleaving(rng, variant):
    a, b = random_f32(rng, (70, 50)), random_f32(rng, (50, 90))
    results = []
    for seed in (1, 2, 3):
        with sinapse.cuda.simulate(seed=seed):
            results.append(ops.gemm(a, b, variant=variant))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_variant_and_env_variable_pick_the_kernel(rng, monkeypatch):
    # SINAPSE_GEMM names the same three variants on both backends; the simulator records
    # which kernel the op launched.
    a, b = random_f32(rng, (40, 30)), random_f32(rng, (30, 40))
    with sinapse.cuda.simulate():
        for v in VARIANTS:
            ops.gemm(a, b, variant=v)
            assert sinapse._cuda_sim.last_launch().startswith(f"gemm_{v}_kernel<<<")
            monkeypatch.setenv("SINAPSE_GEMM", v)
            ops.gemm(a, b)
            assert sinapse._cuda_sim.last_launch().startswith(f"gemm_{v}_kernel<<<")
        monkeypatch.delenv("SINAPSE_GEMM")
        ops.gemm(a, b)
        assert sinapse._cuda_sim.last_launch().startswith("gemm_tuned_kernel<<<grid=(1, 1, 1), block=(256, 1, 1)")


# ---- mutants: the checks above must catch a broken kernel ---------------------------------
def _run_mutant(rng, which, M, N, K):
    op_a, op_b = random_f32(rng, (M, K)), random_f32(rng, (K, N))
    out = np.full((M, N), np.nan, np.float32)
    sinapse._cuda_sim.gemm_mutant(op_a, op_b, out, which=which)
    ref = gemm_reference(op_a, op_b, out, alpha=1.0, beta=0.0)
    tol = gemm_tolerance(op_a, op_b, out, 1.0, 0.0, K)
    return out, ref, tol


@pytest.mark.parametrize("which", ["blocked_nosync", "naive_offbyone"])
@pytest.mark.parametrize("M,N,K", [(32, 32, 32), (33, 17, 65)])
def test_mutants_are_caught(rng, which, M, N, K):
    out, ref, tol = _run_mutant(rng, which, M, N, K)
    with pytest.raises(AssertionError):
        assert_within(out, ref, tol, f"mutant {which}")


def test_racecheck_names_the_missing_barrier(rng):
    a, b = random_f32(rng, (32, 32)), random_f32(rng, (32, 32))
    out = np.empty((32, 32), np.float32)
    with sinapse.cuda.simulate(racecheck=True):
        with pytest.raises(RuntimeError, match=r"gemm_blocked_kernel<nosync>.*shared-memory race on `(As|Bs)`"):
            sinapse._cuda_sim.gemm_mutant(a, b, out, which="blocked_nosync")


def test_unknown_mutant_is_refused():
    z = np.zeros((1, 1), np.float32)
    with pytest.raises(ValueError, match="unknown mutant"):
        sinapse._cuda_sim.gemm_mutant(z, z.copy(), z.copy(), which="nope")


# ---- CuPy on a real GPU ---------------------------------------------------------------------
def _cupy_or_skip():
    if not sinapse.cuda.is_available():
        pytest.skip(f"no usable CUDA here: {sinapse.cuda.why_unavailable()}")
    import cupy

    return cupy


@pytest.mark.parametrize("variant", VARIANTS)
def test_cupy_dispatch_on_gpu(rng, variant):
    cupy = _cupy_or_skip()
    a, b, bias = random_f32(rng, (129, 65)), random_f32(rng, (129, 33)), random_f32(rng, (33,))
    got = ops.gemm(
        cupy.asarray(a), cupy.asarray(b), trans_a=True, bias=cupy.asarray(bias), activation="tanh", variant=variant
    )
    assert isinstance(got, cupy.ndarray)
    ref = gemm_reference(a.T, b, None, bias=bias, activation="tanh")
    assert_within(cupy.asnumpy(got), ref, gemm_tolerance(a.T, b, None, 1.0, 0.0, 129, bias=bias), "cupy gemm")
