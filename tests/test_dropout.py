"""Dropout: Philox4x32-10 against its published known answers; CPU and simulated CUDA masks
bit-identical to each other and to the NumPy reference; mask statistics; the backward masks
gradients identically; inference is the identity; bad arguments."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.reference.dropout import philox4x32_10


def test_philox_known_answers():
    # Random123's kat_vectors for philox4x32_10: counter 0 / key 0, and the digits of pi.
    zero = philox4x32_10(np.zeros((1, 4), np.uint32), 0)[0]
    assert [hex(v) for v in zero] == ["0x6627e8d5", "0xe169c58d", "0xbc57ac4c", "0x9b00dbd8"]
    pi = np.array([[0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344]], np.uint32)
    got = philox4x32_10(pi, (0x299F31D0 << 32) | 0xA4093822)[0]
    assert [hex(v) for v in got] == ["0xd16cfe09", "0x94fdcceb", "0x5001e420", "0x24126ea1"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1001, 70_001])
@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.9])
def test_matches_reference_bit_for_bit(rng, backend, n, rate):
    x = rng.standard_normal(n).astype(np.float32)
    with on(backend):
        y = ops.dropout(x, rate, seed=1234, offset=77)
    np.testing.assert_array_equal(y, reference.dropout(x, rate, 1234, 77))


def test_cpu_and_cuda_masks_are_identical(rng):
    if "cuda_sim" not in BACKENDS:
        pytest.skip("built without the CUDA simulator")
    x = np.ones((64, 33), np.float32)
    cpu = ops.dropout(x, 0.3, seed=2**40 + 5, offset=2**33)
    with sinapse.cuda.simulate():
        cuda = ops.dropout(x, 0.3, seed=2**40 + 5, offset=2**33)
    np.testing.assert_array_equal(cpu, cuda)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_mask_statistics(rate):
    x = np.ones(400_000, np.float32)
    y = ops.dropout(x, rate, seed=7)
    kept = (y != 0).mean()
    assert abs(kept - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / x.size)
    assert abs(y.mean() - 1.0) < 0.01  # inverted scaling keeps the expectation
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-7)


def test_seed_and_offset_change_the_mask():
    x = np.ones(1000, np.float32)
    a = ops.dropout(x, 0.5, seed=1, offset=0)
    assert not np.array_equal(a, ops.dropout(x, 0.5, seed=2, offset=0))
    assert not np.array_equal(a, ops.dropout(x, 0.5, seed=1, offset=250))
    np.testing.assert_array_equal(a[4:], ops.dropout(x[4:], 0.5, seed=1, offset=1))  # offset counts blocks of 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_masks_gradients_identically(rng, backend):
    x = rng.standard_normal((8, 50)).astype(np.float32)
    dy = rng.standard_normal((8, 50)).astype(np.float32)
    with on(backend):
        y = ops.dropout(x, 0.4, seed=9, offset=3)
        dx = ops.dropout_backward(dy, 0.4, seed=9, offset=3)
    mask = reference.dropout_mask(x.shape, 0.4, 9, 3)
    np.testing.assert_array_equal(y == 0, mask == 0)
    np.testing.assert_array_equal(dx, dy * mask)


def test_inference_is_identity(rng):
    x = rng.standard_normal(10).astype(np.float32)
    assert ops.dropout(x, 0.5, seed=1, training=False) is x
    out = np.zeros_like(x)
    assert ops.dropout(x, 0.5, seed=1, training=False, out=out) is out
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(rate=1.0), ValueError, r"dropout: `rate` must be in \[0, 1\), got 1.0"),
        (dict(rate=-0.1), ValueError, r"dropout: `rate` must be in \[0, 1\)"),
        (dict(rate=float("nan")), ValueError, r"dropout: `rate` must be in \[0, 1\), got nan"),
        (dict(rate=0.5, seed=-1), ValueError, r"dropout: `seed` must be an integer"),
        (dict(rate=0.5, seed=1.5), TypeError, r"dropout: `seed` must be an integer"),
        (dict(rate=0.5, offset=2**64), ValueError, r"dropout: `offset` must be an integer"),
        (dict(rate="0.5"), TypeError, r"dropout: `rate` must be a real number"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    kwargs.setdefault("seed", 0)
    with pytest.raises(exc, match=match):
        ops.dropout(np.ones(3, np.float32), **kwargs)
