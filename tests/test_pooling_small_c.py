"""Average pooling with few channels (C < 16), vectorised over pixels (csrc/cpu/pooling_small_c.cpp),
on every SIMD path this CPU runs, forced: the permute form (strides 1 and 2: every block of
outputs reads from at most two vectors), the element-by-element fallback (stride 3), windows that
overlap, "same" padding (partial windows, divisors that differ per output), "valid" pooling that
leaves columns and rows uncovered (their gradient is 0), and a NaN, which must reach only the
windows that contain it — against the float64 reference and the naive variant."""

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS
from sinapse import ops, reference

# (N, H, W, C), pool, strides, padding
CASES = [
    ((3, 28, 28, 6), 2, 2, "valid"),  # LeNet's S2
    ((2, 10, 10, 1), 2, 2, "valid"),
    ((2, 9, 11, 5), 2, 2, "valid"),  # an uncovered last row and column
    ((2, 9, 11, 5), 3, 2, "same"),  # overlapping, partial windows
    ((1, 7, 13, 15), (2, 3), 1, "same"),
    ((2, 12, 17, 3), 3, 3, "valid"),  # stride 3: the element loop
    ((1, 5, 6, 7), (3, 2), (1, 3), "same"),
    ((2, 1, 40, 2), 1, 2, "valid"),
]


def _run(x, pool, strides, padding, variant=None):
    y = ops.avg_pool2d(x, pool, strides, padding, variant=variant)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    return y, dy, ops.avg_pool2d_backward(dy, x, pool, strides, padding, variant=variant)


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("shape,pool,strides,padding", CASES)
def test_small_channels_match_reference(rng, path, shape, pool, strides, padding):
    x = rng.standard_normal(shape).astype(np.float32)
    with sinapse.cpu.use_simd(path):
        sinapse.cpu.simd_paths_run()
        y, dy, dx = _run(x, pool, strides, padding)
        assert sinapse.cpu.simd_paths_run() == [path]
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, reference.avg_pool2d(x64, pool, strides, padding), rtol=1e-6, atol=1e-6)
    rdx = reference.avg_pool2d_backward(dy.astype(np.float64), x64, pool, strides, padding)
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("shape,pool,strides,padding", CASES)
def test_small_channels_agree_with_naive_and_keep_nans_local(path, shape, pool, strides, padding):
    x = np.random.default_rng(2).integers(0, 3, shape).astype(np.float32)
    x.flat[x.size // 2] = np.nan
    with sinapse.cpu.use_simd(path):
        tuned = _run(x, pool, strides, padding, "tuned")
    naive = _run(x, pool, strides, padding, "naive")
    for a, b in zip(tuned, naive):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # NaNs where the naive has them, nowhere else


@pytest.mark.parametrize("threads", [1, 2])
def test_small_channels_threads(rng, restore_threads, threads):
    sinapse.set_num_threads(threads)
    x = rng.standard_normal((64, 28, 28, 6)).astype(np.float32)
    y, dy, dx = _run(x, 2, 2, "valid")
    np.testing.assert_allclose(y, reference.avg_pool2d(x.astype(np.float64), 2, 2, "valid"), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, np.repeat(np.repeat(dy, 2, 1), 2, 2) / 4, rtol=1e-6, atol=1e-7)
