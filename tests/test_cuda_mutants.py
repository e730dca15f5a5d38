"""Mutants: deliberately broken CUDA kernels (SINAPSE_SIM builds only, csrc/cuda/test_switches.cuh)
that the ops' own correctness tests must catch. Each case switches one mutant on
(sinapse._cuda_sim.set_mutant) and calls an existing test of that op as it is, on the simulator
("cuda_sim": checked mode with the shared-memory race check, conftest.on); the test must then
fail: a wrong result fails its comparison with the reference (AssertionError), a missing
barrier its race check (RuntimeError naming the kernel). The same tests pass without the
mutant (they run in their own files), so the failure is the mutant's.

Covered here: the tuned GEMM (missing barrier between K stages, an off-by-one store guard, a
transposed register tile), conv2d backward data and filter, max and average pooling backward,
and the reductions (bias gradient, batch-norm statistics and gradient sums, softmax's row
maximum and sum, the losses' total, the optimizers' sum of squares). The older mutants (GEMM
naive/blocked, conv2d forward, embedding, layer_norm, depthwise, resize, augment) are tested
beside their ops.
"""

import contextlib

import pytest

import sinapse
import test_batch_norm
import test_bias
import test_conv2d
import test_gemm_cuda
import test_losses
import test_optimizers
import test_pooling
import test_softmax

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")


@contextlib.contextmanager
def mutant(name: str):
    """Run the kernels with mutant ``name`` switched on; always switched off after."""
    sinapse._cuda_sim.set_mutant(name)
    try:
        yield
    finally:
        sinapse._cuda_sim.set_mutant("")


def caught(name: str, check, error=AssertionError, match=None) -> None:
    """``check()`` (an op's own test) fails with ``error`` while mutant ``name`` is on."""
    with mutant(name), pytest.raises(error, match=match):
        check()


# ---- the tuned GEMM: test_gemm_cuda's comparison with the float64 reference ------------------
TRANSPOSES = test_gemm_cuda.TRANSPOSES


@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_tuned_gemm_missing_barrier_is_caught_by_the_race_check(rng, trans_a, trans_b):
    # K = 40: three K stages, so a thread reaches the next stage's buffer while others still fill it.
    caught(
        "gemm_tuned_nosync",
        lambda: test_gemm_cuda.test_variants_match_reference(rng, "tuned", 33, 65, 40, trans_a, trans_b, "checked"),
        RuntimeError,
        r"gemm_tuned_kernel.*shared-memory race on `(As|Bs)`",
    )


@pytest.mark.parametrize("which", ["gemm_tuned_edge", "gemm_tuned_swap"])
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("mode", ["fast", "checked"])
def test_tuned_gemm_wrong_results_are_caught(rng, which, trans_a, trans_b, mode):
    caught(
        which,
        lambda: test_gemm_cuda.test_variants_match_reference(rng, "tuned", 65, 17, 129, trans_a, trans_b, mode),
    )


# ---- conv2d backward: test_conv2d's configurations against the einsum reference ---------------
def test_conv2d_backward_data_mutant_is_caught(rng):
    # "same" padding with pad_top 2 (dilation 2, stride 2): dx without the top padding is wrong.
    config = ((1, 9, 9, 2), (3, 3, 2, 2), (2, 1), "same", (2, 3))
    assert config in test_conv2d.CONFIGS
    for variant in ("naive", "tuned"):
        caught("conv2d_dx_nopad", lambda: test_conv2d.check(rng, "cuda_sim", *config, variant=variant))


def test_conv2d_backward_filter_mutant_is_caught(rng):
    config = ((3, 8, 8, 2), (2, 2, 2, 3), 3, "same", 1)  # 3 images: the mutant's dW misses the last
    assert config in test_conv2d.CONFIGS
    caught("conv2d_dw_short_batch", lambda: test_conv2d.test_configs_match_reference(rng, "cuda_sim", *config))


# ---- pooling backward (the tuned, grid-stride kernels) ---------------------------------------
@pytest.mark.parametrize("config", [((1, 5, 5, 2), (2, 3), (3, 1), "same"), ((2, 6, 6, 3), 3, 1, "same")])
def test_max_pool_backward_mutant_is_caught(rng, config):
    assert config in test_pooling.CONFIGS
    caught(
        "max_pool2d_dx_short",
        lambda: test_pooling.test_configs_match_reference(rng, "cuda_sim", "max", *config, "tuned"),
    )


def test_avg_pool_backward_mutant_is_caught(rng):
    # "same" padding clips the border windows: Keras divides by the pixels inside, the mutant by 9.
    config = ((2, 6, 6, 3), 3, 1, "same")
    assert config in test_pooling.CONFIGS
    caught(
        "avg_pool2d_dx_count_pad",
        lambda: test_pooling.test_configs_match_reference(rng, "cuda_sim", "avg", *config, "tuned"),
    )


# ---- the reductions ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7,), (128, 10), (2, 5, 5, 65)])
def test_bias_gradient_mutant_is_caught(rng, shape):
    assert shape in test_bias.SHAPES
    caught("bias_backward_skip_row", lambda: test_bias.test_matches_reference(rng, "cuda_sim", shape))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4, 16)])
def test_batch_norm_statistics_mutant_is_caught(rng, shape):
    assert shape in test_batch_norm.SHAPES
    caught(
        "batch_norm_stats_short",
        lambda: test_batch_norm.test_forward_matches_reference(rng, "cuda_sim", shape, True, "tuned"),
    )


def test_batch_norm_gradient_sums_mutant_is_caught(rng):
    caught(
        "batch_norm_sums_short",
        lambda: test_batch_norm.test_backward_matches_finite_differences(rng, "cuda_sim", True, "tuned"),
    )


@pytest.mark.parametrize("which", ["softmax_max_unreduced", "softmax_sum_warp_only"])
@pytest.mark.parametrize("shape", [(3, 129), (4, 1000)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_row_reduction_mutants_are_caught(rng, which, shape, log):
    assert shape in test_softmax.SHAPES
    caught(
        which,
        lambda: test_softmax.test_forward_and_backward_match_reference(rng, "cuda_sim", shape, log, "tuned"),
    )


@pytest.mark.parametrize("name,from_logits", [("mse", False), ("categorical_crossentropy", True)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_total_mutant_is_caught(rng, name, from_logits, reduction):
    assert (name, from_logits) in test_losses.CASES
    caught(
        "loss_total_short_tree",
        lambda: test_losses.test_value_and_gradient(rng, "cuda_sim", name, from_logits, (7, 3), reduction, False),
    )


@pytest.mark.parametrize("which", ["sum_squares_short_tree", "sum_squares_finish_short"])
@pytest.mark.parametrize("sizes", [[5, 300], [70000]], ids=str)  # [70000]: 2000 on the simulator
def test_sum_squares_mutants_are_caught(rng, which, sizes):
    caught(which, lambda: test_optimizers.test_global_norm_and_clipping_match_reference(rng, "cuda_sim", sizes))


# ---- the switch itself -----------------------------------------------------------------------
def test_unknown_mutant_is_refused_and_none_is_left_on():
    with pytest.raises(ValueError, match="set_mutant: unknown mutant 'gemm_tuned_nosyn'"):
        sinapse._cuda_sim.set_mutant("gemm_tuned_nosyn")
    assert sinapse._cuda_sim.mutant() == ""
    with mutant("gemm_tuned_swap"):
        assert sinapse._cuda_sim.mutant() == "gemm_tuned_swap"
    assert sinapse._cuda_sim.mutant() == ""
