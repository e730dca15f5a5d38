"""Layer arguments and sizes (issue 11, classes 2, 7/8 and the Embedding wrong answer).

Flags are True/False only; size arguments are bounded ints checked at construction; every
weight (Layer.add_weight) and buffer (Layer.buffer) is bounded by the device's memory before
it is allocated, with an error naming the layer, the weight/buffer, its shape and bytes;
integer Embedding ids reach the kernel exactly.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sinapse import layers
from sinapse.layers import _limits
from sinapse.models import Sequential

X_IMG = np.ones((1, 4, 4, 1), np.float32)


def _peak_bytes(fn):
    """Run fn (it must raise) and return the peak of what Python/NumPy allocated meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises((MemoryError, ValueError)) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], info.value
    finally:
        tracemalloc.stop()


@pytest.fixture
def one_gib(monkeypatch):
    """A 1 GiB device, so the bound is tested the same on any machine."""
    monkeypatch.setattr(_limits, "memory_bytes", lambda device: 2**30)


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda: layers.Dense(2**20).build((None, 2**20)),
            r"Dense\.build: the `kernel` of shape \(1048576, 1048576\) "
            r"needs 4 TiB",
        ),
        (
            lambda: layers.Conv2D(2**26, 3)(X_IMG),
            r"Conv2D\.build: the `kernel` of shape \(3, 3, 1, 67108864\) needs 2.25 GiB",
        ),
        (
            lambda: layers.LSTM(2**15)(np.ones((1, 2, 4), np.float32)),
            r"LSTM\.build: the `recurrent_kernel` of shape "
            r"\(32768, 131072\)",
        ),
        (
            lambda: layers.Embedding(2**40, 2**20).build((None, 3)),
            r"Embedding\.build: the `embeddings` of shape "
            r"\(1099511627776, 1048576\) needs 4 EiB",
        ),
        (
            lambda: layers.ZeroPadding2D(2**20)(np.ones((1, 1, 1, 1), np.float32)),
            r"ZeroPadding2D layer '.*': the buffer `y` of shape \(1, 2097153, 2097153, 1\) needs 16 TiB",
        ),
        (
            lambda: layers.Dense(2**16)(np.ones((2**14, 4), np.float32)),
            r"Dense layer .*buffer `y` of shape \(16384, 65536\)",
        ),
    ],
)
def test_weights_and_buffers_are_bounded_before_allocation(one_gib, make, match):
    peak, exc = _peak_bytes(make)
    assert isinstance(exc, MemoryError) and isinstance(exc, ValueError)
    assert pytest.raises(MemoryError, lambda: (_ for _ in ()).throw(exc)).match(match)
    assert peak < 64 * 2**20, f"allocated {peak} bytes before refusing"


def test_the_bound_is_the_real_memory_by_default():
    peak, exc = _peak_bytes(lambda: layers.Dense(2**31 - 1).build((None, 2**31 - 1)))
    assert "Dense.build: the `kernel` of shape (2147483647, 2147483647) needs 16 EiB" in str(exc)
    assert peak < 64 * 2**20


def test_numpy_allocation_failures_name_the_layer(monkeypatch):
    """What NumPy raises past the bound ("array is too big", MemoryError) names the layer too."""
    monkeypatch.setattr(_limits, "check_alloc", lambda *args: None)  # as if the bound passed
    layer = layers.Dense(3)
    for failure in (
        ValueError("array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size."),
        MemoryError("Unable to allocate 16 EiB"),
    ):

        def fail(shape, dtype=np.float32, failure=failure):
            raise failure

        monkeypatch.setattr(type(layer.device), "empty", lambda self, shape, dtype=np.float32: fail(shape))
        with pytest.raises(
            MemoryError,
            match=r"Dense layer 'dense\w*': the buffer `y` of shape \(2, 3\) "
            r"\(24 bytes\) could not be allocated",
        ):
            layer(np.ones((2, 4), np.float32))


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: layers.Dense(2**31), ValueError, r"Dense: `units` must be a positive integer .*got 2147483648"),
        (lambda: layers.Dense(2.0), TypeError, r"Dense: `units` must be a positive integer, got 2.0"),
        (lambda: layers.Conv2D(0, 3), ValueError, r"Conv2D: `filters`"),
        (lambda: layers.Conv2D(4, 2**31), ValueError, r"`kernel_size`"),
        (lambda: layers.LSTM(2**30), ValueError, r"LSTM: `units` must be a positive integer \(from 1 to 536870911\)"),
        (lambda: layers.GRU(True), TypeError, r"GRU: `units`"),
        (lambda: layers.Embedding(0, 3), ValueError, r"Embedding: `input_dim`"),
        (lambda: layers.Embedding(3, 2**31), ValueError, r"Embedding: `output_dim`"),
        (lambda: layers.Embedding(3, 3, input_length=-1), ValueError, r"Embedding: `input_length`"),
        (lambda: layers.ZeroPadding2D(-1), ValueError, r"ZeroPadding2D: `padding`"),
        (lambda: layers.ZeroPadding2D(2**31), ValueError, r"ZeroPadding2D: `padding`"),
        (
            lambda: layers.ZeroPadding2D(2**30)(X_IMG),
            ValueError,
            r"ZeroPadding2D: `padding`=.* gives images of 2147483652",
        ),
    ],
)
def test_size_arguments_are_checked_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda v: layers.Dense(3, use_bias=v), "use_bias"),
        (lambda v: layers.Conv2D(3, 3, use_bias=v), "use_bias"),
        (lambda v: layers.LSTM(3, return_sequences=v), "return_sequences"),
        (lambda v: layers.LSTM(3, return_state=v), "return_state"),
        (lambda v: layers.GRU(3, go_backwards=v), "go_backwards"),
        (lambda v: layers.SimpleRNN(3, stateful=v), "stateful"),
        (lambda v: layers.SimpleRNN(3, unroll=v), "unroll"),
        (lambda v: layers.LSTM(3, unit_forget_bias=v), "unit_forget_bias"),
        (lambda v: layers.GRU(3, reset_after=v), "reset_after"),
        (lambda v: layers.Embedding(3, 3, mask_zero=v), "mask_zero"),
        (lambda v: layers.BatchNormalization(center=v), "center"),
        (lambda v: layers.BatchNormalization(scale=v), "scale"),
        (lambda v: layers.GlobalMaxPooling2D(keepdims=v), "keepdims"),
        (lambda v: layers.Dense(3, trainable=v), "trainable"),
        (lambda v: setattr(layers.Dense(3), "trainable", v), "trainable"),
        (lambda v: layers.Dropout(0.5)(np.ones((2, 2), np.float32), training=v), "training"),
    ],
)
@pytest.mark.parametrize("value", ["no", "yes", 0, 1, None])
def test_layer_flags_are_true_or_false_only(make, name, value):
    with pytest.raises(TypeError, match=rf"^\w+(\.\w+)?: `{name}` must be True or False, got {value!r}"):
        make(value)


def test_dropout_training_false_is_the_identity_and_true_drops():
    x = np.ones((4, 64), np.float32)
    d = layers.Dropout(0.5, seed=1)
    assert np.array_equal(d(x, training=False), x)
    assert (d(x, training=np.bool_(True)) == 0).any()


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64 + 5, 2**70])
def test_dropout_seed_range(seed):
    with pytest.raises(ValueError, match=rf"Dropout: `seed` must be .*got {seed}"):
        layers.Dropout(0.5, seed=seed)


def test_dropout_offset_cannot_wrap():
    d = layers.Dropout(0.5, seed=5)
    d.build((None, 8))
    with pytest.raises(ValueError, match="offset must be <= 2\\*\\*63, got 18446744073709551615"):
        d.set_rng_state({"seed": np.uint64(5), "offset": np.uint64(2**64 - 1)})
    d.set_rng_state({"seed": np.uint64(5), "offset": np.uint64(2**63 - 1)})
    with pytest.raises(ValueError, match="passes"):
        d(np.ones((1, 8), np.float32), training=True)


# ---------------------------------------------------------------- Embedding ids
BIG = 2**24 + 1


def _table():
    e = layers.Embedding(2**24 + 4, 1, embeddings_initializer="uniform")
    e.build((None, 1))
    e.set_weights([np.arange(2**24 + 4, dtype=np.float32)[:, None] % 1000 + 0.5])
    return e


@pytest.mark.parametrize("dtype", [np.int64, np.uint32, np.uint64])
def test_embedding_integer_ids_are_exact(dtype):
    e = _table()
    ids = np.array([[BIG], [BIG + 2], [3]], dtype)
    expected = e.get_weights()[0][ids.astype(np.int64)[:, 0]]
    assert np.array_equal(e(ids)[:, 0], expected)


def test_embedding_ids_through_the_model_are_exact():
    e = _table()
    m = Sequential([e])
    m.compile("sgd", "mse")
    ids = np.array([[BIG], [BIG + 2]], np.int64)
    want = e.get_weights()[0][[BIG, BIG + 2]]
    assert np.array_equal(m.predict(ids, verbose=0)[:, 0], want)
    assert np.array_equal(m.predict_on_batch(ids)[:, 0], want)
    assert np.array_equal(m(ids)[:, 0], want)
    assert np.isfinite(m.evaluate(ids, want, verbose=0))
    assert np.isfinite(m.train_on_batch(ids, want))


@pytest.mark.parametrize(
    "ids,match",
    [
        (np.array([[BIG + 1]], np.float32), r"got the id 16777218 as float32.*exactly only up to 16777216"),
        (np.array([[1.5]]), r"whole numbers, got 1.5"),
        (np.array([[np.nan]], np.float32), r"whole numbers, got nan"),
        (np.array([[np.inf]]), r"whole numbers, got inf"),
    ],
)
def test_embedding_float_ids_must_be_exact_integers(ids, match):
    with pytest.raises(ValueError, match=match):
        _table()(ids)
    m = Sequential([_table()])
    with pytest.raises(ValueError, match=match):
        m.predict(ids, verbose=0)


@pytest.mark.parametrize(
    "ids",
    [
        np.array([[2**31]], np.float64),
        np.array([[2**31]], np.int64),
        np.array([[-5]], np.int32),
        np.array([[2**64 - 1]], np.uint64),
    ],
)
def test_embedding_out_of_range_reports_the_users_value(ids):
    e = layers.Embedding(10, 2)
    with pytest.raises(IndexError, match=rf"got (values from )?{int(ids.ravel()[0])}"):
        e(ids)


# ---------------------------------------------------------------- errors name the layer and `x`
@pytest.mark.parametrize(
    "x,error,match",
    [
        (np.array([["a"] * 6]), TypeError, r"Dense\.__call__: `x` must hold numbers, got an array of dtype <U1"),
        ([[1, 2], [3]], ValueError, r"Dense\.__call__: `x` must be a rectangular array"),
    ],
)
def test_direct_call_conversion_errors_name_the_layer_and_x(x, error, match):
    with pytest.raises(error, match=match):
        layers.Dense(3)(x)


@pytest.mark.parametrize("layer", [layers.GlobalMaxPooling2D, layers.GlobalAveragePooling2D])
def test_global_pooling_on_empty_images_names_the_layer_and_shape(layer):
    with pytest.raises(ValueError, match=rf"{layer.__name__}: inputs of shape \(None, 0, 0, 2\) have no pixels"):
        layer()(np.ones((1, 0, 0, 2), np.float32))
