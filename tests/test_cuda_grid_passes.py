"""Every grid-stride loop of csrc/cuda/*.cu takes a second pass, and every tile loop runs
partial tiles in every dimension, on the simulator, against the NumPy reference.

Grid-stride kernels are launched with at most 65535 blocks (test_switches.cuh); a second pass
on a GPU needs 65535 x 256 = 16.8M elements, which the simulator cannot run in a test. The
simulator build lets a test lower that cap (sinapse._cuda_sim.set_grid_stride_cap): here it is
2 blocks, so a loop makes a second pass past 512 elements (blocks of 256 threads) and the sizes
below (a little over 1024 where the kernel's work allows) give two full passes and a partial
third, on a grid of more than one block. Most cases call an op's own test with such sizes, so
the comparison is the one that file makes; every op runs under simulate(checked=True,
racecheck=True) (conftest.on("cuda_sim")), the GEMM cases in its "checked" mode too.

That each case really runs its kernels' second pass is tested too: with the pass skipped
(sinapse._cuda_sim.set_skipped_pass: the named kernel sees a gridDim twice its grid, so its
loop strides over the second pass) the same case must fail, kernel by kernel.

Loops not driven by the cap: the per-row team loops of softmax (128 threads), layer_norm (a
warp, or 128 threads past 1024 features) and the losses' total (256 threads) take more passes
with longer rows; sum_squares' partial kernel strides over its n whenever n > 256 x its blocks
(n = 2000 on the simulator). sum_squares' finish loop cannot take a second pass: it walks at
most 256 partial sums with 256 threads (ops.optimizers.SUM_SQUARES_PARTIALS).
"""

import contextlib

import numpy as np
import pytest

import sinapse
import test_activation
import test_activation_prelu
import test_augment
import test_batch_norm
import test_bias
import test_conv2d
import test_depthwise_conv2d
import test_dropout
import test_dropout_noise
import test_embedding
import test_gemm_cuda
import test_layer_norm
import test_losses
import test_merge
import test_optimizers
import test_pooling
import test_resize
import test_softmax
from conftest import on
from sinapse import ops, reference

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")

CAP = 2  # blocks of a grid-stride kernel's grid in these tests
GPU_CAP = 65535


@contextlib.contextmanager
def grid_stride_cap(blocks: int):
    before = sinapse._cuda_sim.grid_stride_cap()
    sinapse._cuda_sim.set_grid_stride_cap(blocks)
    try:
        yield
    finally:
        sinapse._cuda_sim.set_grid_stride_cap(before)


@pytest.fixture(autouse=True)
def _capped():
    with grid_stride_cap(CAP):
        yield
    assert sinapse._cuda_sim.grid_stride_cap() == GPU_CAP


# ---- the cap itself -------------------------------------------------------------------------
def test_the_cap_bounds_grid_stride_grids_and_is_restored():
    x, y = np.ones(1300, np.float32), np.zeros(1300, np.float32)
    with grid_stride_cap(1), sinapse.cuda.simulate():
        got = ops.axpy(2.0, x, y)
        assert "grid=(1, 1, 1)" in sinapse._cuda_sim.last_launch()  # one block walks all 1300 elements
    np.testing.assert_array_equal(got, np.full(1300, 2.0, np.float32))
    assert sinapse._cuda_sim.grid_stride_cap() == CAP
    for bad in (0, GPU_CAP + 1):
        with pytest.raises(ValueError, match=r"set_grid_stride_cap: blocks must be in \[1, 65535\]"):
            sinapse._cuda_sim.set_grid_stride_cap(bad)


# ---- axpy: until now no test ran its CUDA kernel ------------------------------------------------
@pytest.mark.parametrize("checked", [False, True])
@pytest.mark.parametrize("n", [0, 1, 255, 257, 1300])
@pytest.mark.parametrize("cap", [CAP, GPU_CAP])
def test_axpy_kernel(rng, checked, n, cap):
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    want = reference.axpy(-0.75, x.astype(np.float64), y.astype(np.float64))
    with grid_stride_cap(cap), sinapse.cuda.simulate(checked=checked, racecheck=checked):
        new = ops.axpy(-0.75, x, y)
        out = np.full(n, np.nan, np.float32)
        assert ops.axpy(-0.75, x, y, out=out) is out
        in_place = y.copy()
        ops.axpy(-0.75, x, in_place, out=in_place)
        assert sinapse._cuda_sim.last_launch().startswith("axpy_kernel<<<") or n == 0
    for got in (new, out, in_place):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_axpy_kernel_nd_and_sgd_step(rng):
    w, g = rng.standard_normal((3, 20, 23)).astype(np.float32), rng.standard_normal((3, 20, 23)).astype(np.float32)
    want = w.astype(np.float64) - 0.1 * g
    with on("cuda_sim"):
        ops.axpy(-0.1, g, w, out=w)
    np.testing.assert_allclose(w, want, rtol=1e-6, atol=1e-6)


# ---- every grid-stride kernel: a case that runs its second pass --------------------------------
# Each case calls the ops (mostly through their own tests) at sizes past two passes of the capped
# grid; GRID_STRIDE_KERNELS names the kernels (by launch name) whose second pass it runs: every
# kernel of csrc/cuda/*.cu with a loop over gridDim (`grep -n gridDim csrc/cuda/*.cu`).
def _activation(rng):
    for name in ("relu", "tanh"):
        assert name in test_activation.NAMES
        test_activation.test_forward_and_backward_match_reference(rng, "cuda_sim", name, 1300)


def _prelu(rng):
    # forward and dx: 1200 elements; dalpha: one thread per alpha entry, 1100 of them.
    test_activation_prelu.test_matches_reference(rng, "cuda_sim", (2, 2, 300), (2, 300))
    test_activation_prelu.test_matches_reference(rng, "cuda_sim", (2, 1100), (1100,))


def _axpy(rng):
    x, y = rng.standard_normal(1300).astype(np.float32), rng.standard_normal(1300).astype(np.float32)
    with on("cuda_sim"):
        got = ops.axpy(2.5, x, y)
    np.testing.assert_allclose(
        got, reference.axpy(2.5, x.astype(np.float64), y.astype(np.float64)), rtol=1e-6, atol=1e-6
    )


def _bias_add(rng):
    test_bias.test_matches_reference(rng, "cuda_sim", (40, 33))


def _batch_norm(rng):
    for training in (True, False):
        test_batch_norm.test_forward_matches_reference(rng, "cuda_sim", (40, 33), training, "tuned")
        x = rng.standard_normal((40, 33)).astype(np.float32)
        gamma, beta, rmean, rvar = test_batch_norm.params(rng, 33)
        dy = rng.standard_normal(x.shape).astype(np.float32)
        with on("cuda_sim"):
            _, mean, invstd = ops.batch_norm(x, gamma, beta, rmean, rvar, training=training, variant="tuned")
            grads = ops.batch_norm_backward(dy, x, gamma, mean, invstd, training=training, variant="tuned")
        f64 = [a.astype(np.float64) for a in (dy, x, gamma, mean, invstd)]
        for got, want in zip(grads, reference.batch_norm_backward(*f64, training=training)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _dropout(rng):
    test_dropout.test_matches_reference_bit_for_bit(rng, "cuda_sim", 4 * 1300 + 3, 0.25)  # 4 draws a thread
    test_dropout_noise.test_spatial_dropout_matches_reference_bit_for_bit(rng, "cuda_sim", (2, 7, 100), 3)
    test_dropout_noise.test_gaussian_noise_matches_reference(rng, "cuda_sim", 4 * 1300 + 5, 1)


def _embedding(rng):
    test_embedding.test_forward_and_backward_match_reference(rng, "cuda_sim", (40,), 9, 33, np.int32)


def _merge(rng):
    for mode in ("add", "maximum"):
        test_merge.test_merge_matches_reference(rng, "cuda_sim", mode, (4, 330))
    xs = [rng.standard_normal((20, k)).astype(np.float32) for k in (60, 7)]
    dy = rng.standard_normal((20, 67)).astype(np.float32)
    with on("cuda_sim"):
        y = ops.concatenate(xs, axis=-1)
        dx = ops.concatenate_backward(dy, xs, axis=-1)
    np.testing.assert_array_equal(y, reference.concatenate(xs, axis=-1))
    for got, want in zip(dx, reference.concatenate_backward(dy, [x.shape for x in xs], axis=-1)):
        np.testing.assert_array_equal(got, want)


def _optimizers(rng):
    first = {}  # the first case of each optimizer
    for case in test_optimizers.CASES:
        first.setdefault(case[0], case)
    for kind, opts, slots in first.values():
        (w, state), (ref_w, ref_state) = test_optimizers._run(kind, opts, slots, (40, 33), rng, "cuda_sim")
        np.testing.assert_allclose(w, ref_w, rtol=2e-5, atol=2e-6, err_msg=kind)
        for name in state:
            np.testing.assert_allclose(state[name], ref_state[name], rtol=2e-5, atol=2e-6, err_msg=f"{kind} {name}")
    # scale_clip (clip_by_value, clip_by_global_norm) on 1300 and 2000 elements, sum_squares on 2000
    test_optimizers.test_global_norm_and_clipping_match_reference(rng, "cuda_sim", [1300, 2000])


def _affine(rng):
    # forward: one thread per output pixel (2 x 24 x 24); backward: one per (image, channel) plane (2 x 520)
    test_augment.test_affine_matches_reference(rng, "cuda_sim", (2, 24, 24, 1), "bilinear", "reflect")
    test_augment.test_affine_matches_reference(rng, "cuda_sim", (2, 2, 2, 520), "nearest", "constant")


def _flip_contrast_brightness(rng):
    test_augment.test_flip_contrast_brightness_match_reference(rng, "cuda_sim", (2, 24, 24, 1))  # flip, brightness
    test_augment.test_flip_contrast_brightness_match_reference(rng, "cuda_sim", (2, 2, 2, 520))  # contrast


def _conv2d(rng):
    # forward 12 x 12 x 16 outputs, dx 12 x 12 x 8 inputs, dW 3 x 3 x 8 x 16 weights
    test_conv2d.check(rng, "cuda_sim", (1, 12, 12, 8), (3, 3, 8, 16), 1, "same", 1, variant="naive")


def _depthwise_naive(rng):
    # forward, dx, dW (3 x 3 x 65 x 1) over elements; db over 1100 output channels (second call)
    geo = (None, 1, "same", 1)
    test_depthwise_conv2d.test_matches_reference(rng, "cuda_sim", "naive", (2, 9, 17, 65), (3, 3, 65, 1), *geo)
    test_depthwise_conv2d.test_matches_reference(rng, "cuda_sim", "naive", (1, 1, 2, 550), (1, 1, 550, 2), *geo)


def _depthwise_tuned(rng):
    # the tiled forward and dx walk N x tiles = 2 x 9 jobs on grid.y, the dW reduction 9 kernel rows
    test_depthwise_conv2d.test_matches_reference(
        rng, "cuda_sim", "tuned", (2, 9, 17, 65), (3, 3, 65, 1), None, 1, "same", 1
    )


def _pooling(rng):
    x = rng.standard_normal((2, 16, 16, 6)).astype(np.float32)  # in 3072, out 768 (2 x 2 windows)
    for kind in ("max", "avg"):
        test_pooling.check_against_reference(kind, "cuda_sim", x, 2, None, "valid", "tuned")
        test_pooling.check_against_reference(kind, "cuda_sim", x, 3, 2, "same", "tuned")


def _resize(rng):
    for interpolation in ("nearest", "bilinear"):
        test_resize.test_resize_matches_reference(rng, "cuda_sim", (2, 10, 12, 6), (13, 9), interpolation, "tuned")


def _crop(rng):
    x = rng.standard_normal((2, 20, 21, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 15, 13, 3)).astype(np.float32)
    with on("cuda_sim"):
        y = ops.crop(x, 2, 5, 15, 13)
        dx = ops.crop_backward(dy, (20, 21), 2, 5, fill_value=-1.5)
    np.testing.assert_array_equal(y, reference.crop(x, 2, 5, 15, 13))
    np.testing.assert_array_equal(dx, reference.crop_backward(dy, (20, 21), 2, 5, fill_value=-1.5))


GRID_STRIDE_KERNELS = {
    _activation: ["activation_forward_kernel", "activation_backward_kernel"],
    _prelu: ["prelu_forward_kernel", "prelu_dx_kernel", "prelu_dalpha_kernel"],
    _axpy: ["axpy_kernel"],
    _bias_add: ["bias_add_kernel"],
    _batch_norm: ["batch_norm_apply_kernel", "batch_norm_dx_kernel"],
    _dropout: ["dropout_kernel", "dropout_channels_kernel", "gaussian_noise_kernel"],
    _embedding: ["embedding_forward_kernel"],
    _merge: ["merge_forward_kernel", "merge_backward_kernel", "concat_part_kernel"],
    _optimizers: [
        "sgd_update_kernel",
        "adagrad_update_kernel",
        "adadelta_update_kernel",
        "rmsprop_update_kernel",
        "adam_update_kernel",
        "scale_clip_kernel",
        "sum_squares_partial_kernel",
    ],
    _affine: ["affine_forward_kernel", "affine_backward_kernel"],
    _flip_contrast_brightness: [
        "flip_kernel",
        "contrast_kernel",
        "contrast_backward_kernel",
        "brightness_kernel",
        "brightness_backward_kernel",
    ],
    _conv2d: ["conv2d_forward_kernel", "conv2d_backward_data_kernel", "conv2d_backward_filter_kernel"],
    _depthwise_naive: [
        "depthwise_conv2d_forward_naive_kernel",
        "depthwise_conv2d_dx_kernel",
        "depthwise_conv2d_dw_naive_kernel",
        "depthwise_conv2d_db_naive_kernel",
    ],
    _depthwise_tuned: [
        "depthwise_conv2d_forward_tiled_kernel",
        "depthwise_conv2d_dx_tiled_kernel",
        "depthwise_conv2d_dw_tuned_kernel",
    ],
    _pooling: [
        "max_pool2d_forward_kernel",
        "max_pool2d_backward_kernel",
        "avg_pool2d_forward_kernel",
        "avg_pool2d_backward_kernel",
    ],
    _resize: ["resize_forward_kernel", "resize_backward_kernel"],
    _crop: ["crop_forward_kernel", "crop_backward_kernel"],
}
PAIRS = [(case, kernel) for case, kernels in GRID_STRIDE_KERNELS.items() for kernel in kernels]


@pytest.mark.parametrize("case", GRID_STRIDE_KERNELS, ids=lambda c: c.__name__[1:])
def test_grid_stride_loops_take_a_second_pass(rng, case):
    case(rng)


@pytest.mark.parametrize(("case", "kernel"), PAIRS, ids=[kernel for _, kernel in PAIRS])
def test_a_skipped_second_pass_is_caught(rng, case, kernel):
    """The case above reaches `kernel`'s second pass: with that pass skipped (the kernel sees a
    gridDim twice its grid, so its loop strides over the second pass) the same case fails."""
    sinapse._cuda_sim.set_skipped_pass(kernel)
    try:
        with pytest.raises(AssertionError):
            case(rng)
    finally:
        sinapse._cuda_sim.set_skipped_pass("")


# ---- row and team loops ------------------------------------------------------------------------
@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows_longer_than_two_blocks(rng, log):
    test_softmax.test_forward_and_backward_match_reference(rng, "cuda_sim", (3, 300), log, "tuned")


@pytest.mark.parametrize("features", [70, 1100])  # the warp team (32 lanes), the block team (128 threads)
def test_layer_norm_rows(rng, features):
    test_layer_norm.test_layer_norm_matches_reference(rng, "cuda_sim", "tuned", features)


def test_loss_total_over_more_rows_than_threads(rng):
    test_losses.test_value_and_gradient(rng, "cuda_sim", "mse", False, (300, 2), "mean", True)


# ---- tile loops: partial tiles in every dimension ---------------------------------------------
# M = 70, N = 67, K = 37: a full and a partial tile along each of M, N, K for the 16 x 16 tiles
# (naive, blocked) and the tuned kernel's 64 x 64 C tiles and 16-deep K stages (three stages).
@pytest.mark.parametrize("variant", test_gemm_cuda.VARIANTS)
@pytest.mark.parametrize("trans_a,trans_b", test_gemm_cuda.TRANSPOSES)
def test_gemm_partial_tiles(rng, variant, trans_a, trans_b):
    test_gemm_cuda.test_variants_match_reference(rng, variant, 70, 67, 37, trans_a, trans_b, "checked")


def test_conv2d_pointwise_gemm_partial_tiles(rng):
    # tuned 1x1 stride 1: y = x (70 x 37) @ w (37 x 67), dx (70 x 67) @ w.T, dW x.T (37 x 70) @ dy
    test_conv2d.check(rng, "cuda_sim", (1, 7, 10, 37), (1, 1, 37, 67), 1, "valid", 1, variant="tuned")


def test_depthwise_tiles_partial_in_every_dimension(rng):
    # The tuned tile: 32 channels x 8 columns x 4 rows; 33 channels, 17 columns and 9 rows leave
    # a partial tile in each (and stride 1 runs dx as a tiled forward of dy too).
    test_depthwise_conv2d.test_matches_reference(
        rng, "cuda_sim", "tuned", (1, 9, 17, 33), (3, 3, 33, 1), None, 1, "same", 1
    )
