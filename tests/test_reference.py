"""sinapse.reference: the yardstick the kernels are checked against must itself be right."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import random_f32
from sinapse import reference

TRANSPOSES = list(itertools.product([False, True], repeat=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
def test_gemm_matches_matmul(rng, dtype, trans_a, trans_b):
    M, N, K = 7, 11, 13
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    c = rng.standard_normal((M, N)).astype(dtype)
    bias = rng.standard_normal(N).astype(dtype)
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    rtol = 1e-5 if dtype == np.float32 else 1e-12

    got = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    assert got.dtype == dtype and got.shape == (M, N)
    np.testing.assert_allclose(got, op_a @ op_b, rtol=rtol, atol=rtol)

    got = reference.gemm(a, b, c, alpha=-2.0, beta=0.5, trans_a=trans_a, trans_b=trans_b, bias=bias)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, -2 * (op_a @ op_b) + 0.5 * c + bias, rtol=rtol, atol=10 * rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_beta_zero_does_not_read_c(rng, dtype):
    a, b = rng.standard_normal((4, 6)).astype(dtype), rng.standard_normal((6, 5)).astype(dtype)
    c = np.full((4, 5), np.nan, dtype)
    got = reference.gemm(a, b, c, beta=0.0)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, a @ b, rtol=1e-5)
    assert np.isnan(reference.gemm(a, b, c, beta=1.0)).all()  # but beta != 0 does read it


def test_gemm_k_zero_and_mismatch():
    got = reference.gemm(np.zeros((3, 0)), np.zeros((0, 4)), np.ones((3, 4)), beta=2.0, bias=np.ones(4))
    np.testing.assert_array_equal(got, 3.0)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        reference.gemm(np.zeros((3, 2)), np.zeros((3, 4)))


def test_gemm_activation(rng):
    a, b = random_f32(rng, (5, 4)), random_f32(rng, (4, 6))
    plain = reference.gemm(a, b)
    np.testing.assert_allclose(reference.gemm(a, b, activation="relu"), np.maximum(plain, 0))
    np.testing.assert_allclose(reference.gemm(a, b, activation="tanh"), np.tanh(plain), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_textbook_values(dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.5, math.log(3.0), 3.0], dtype)
    relu, sigmoid, tanh = (reference.activation(n) for n in ("relu", "sigmoid", "tanh"))
    np.testing.assert_array_equal(relu(x), np.array([0, 0, 0, 0.5, math.log(3.0), 3.0], dtype))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(
        sigmoid(x), [1 / (1 + math.e**2), 0.5, 0.5, 1 / (1 + math.exp(-0.5)), 0.75, 1 / (1 + math.exp(-3))], rtol=tol
    )
    np.testing.assert_allclose(
        tanh(x), [math.tanh(-2), 0, 0, math.tanh(0.5), 0.8, math.tanh(3)], rtol=tol, atol=tol
    )  # tanh(ln 3) = (9 - 1) / (9 + 1)
    for f in (relu, sigmoid, tanh):
        assert f(x).dtype == dtype
    assert np.isnan(relu(np.array([np.nan])))[0]  # NaN stays NaN
    assert reference.activation(None)(x) is x
    assert reference.activation("linear")(x) is x


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'mish'"):
        reference.activation("mish")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy(rng, dtype):
    x, y = rng.standard_normal(10).astype(dtype), rng.standard_normal(10).astype(dtype)
    got = reference.axpy(0.3, x, y)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, 0.3 * x.astype(np.float64) + y, rtol=1e-6 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    # filterwarnings=error: an overflow RuntimeWarning from exp would fail this test.
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype)
    y = reference.activation("sigmoid")(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, [0.0, math.exp(-30.0), 0.5, 1.0, 1.0], rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- geometry from the op's own arguments


def test_conv2d_same_padding_puts_the_extra_pixel_after():
    # Keras/TF: 4 pixels, 3-tap kernel, stride 2 -> 2 outputs, total padding 1, all of it at the
    # bottom/right; the windows hold 3x3, 3x2, 2x3 and 2x2 real pixels.
    got = reference.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=2, padding="same")
    np.testing.assert_array_equal(got[0, :, :, 0], [[9, 6], [6, 4]])
    got = reference.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding="same")  # stride 1: 1 each side
    np.testing.assert_array_equal(got[0, :, :, 0], [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


@pytest.mark.parametrize(
    "size,k,s,d", [(5, 3, 2, 1), (6, 3, 2, 1), (7, 2, 3, 2), (9, 3, 1, 3), (1, 4, 1, 1), (8, 1, 5, 1)]
)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_output_size_follows_keras(size, k, s, d, padding):
    """keras.src.ops.operation_utils.compute_conv_output_shape: floor((n - (k-1)d - 1) / s) + 1
    for "valid", floor((n - 1) / s) + 1 for "same"."""
    extent = (k - 1) * d + 1
    if padding == "valid" and extent > size:
        with pytest.raises(ValueError, match="larger than the padded input"):
            reference.conv2d(np.ones((1, size, size, 1)), np.ones((k, k, 1, 1)), padding=padding, dilation_rate=d)
        return
    want = (size - extent) // s + 1 if padding == "valid" else (size - 1) // s + 1
    y = reference.conv2d(
        np.ones((1, size, 3, 1)), np.ones((k, 1, 1, 1)), strides=(s, 1), padding=padding, dilation_rate=(d, 1)
    )
    assert y.shape == (1, want, 3, 1)


def test_conv2d_explicit_padding_is_top_bottom_left_right():
    x = np.ones((1, 2, 2, 1))
    y = reference.conv2d(x, np.ones((1, 1, 1, 1)), padding=(1, 0, 0, 2))
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]])


def test_pooling_same_windows_follow_keras():
    x = np.arange(25.0).reshape(1, 5, 5, 1)
    # 5 pixels, pool 2, stride 2, "same": 3 outputs, total padding 1 at the bottom/right.
    np.testing.assert_array_equal(
        reference.max_pool2d(x, 2, 2, "same")[0, :, :, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    )
    avg = reference.avg_pool2d(x, 2, None, "same")[0, :, :, 0]  # strides default to the pool size
    np.testing.assert_array_equal(avg, [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]])  # real pixels only
    assert reference.max_pool2d(x, 3, 1, "valid").shape == (1, 3, 3, 1)
    assert reference.max_pool2d(x, (2, 3)).shape == (1, 2, 1, 1)  # defaults: valid, strides = pool_size
    with pytest.raises(ValueError, match="reference.max_pool2d: `padding` must be 'valid' or 'same'"):
        reference.max_pool2d(x, 2, 2, "full")


# --------------------------------------------------------------------------- backward references vs central differences


def numeric_grad(loss, arrays, key, eps=1e-6):
    """d loss / d arrays[key] by central differences, in float64."""
    grad = np.zeros_like(arrays[key])
    for idx in np.ndindex(grad.shape):
        plus, minus = dict(arrays), dict(arrays)
        plus[key], minus[key] = arrays[key].copy(), arrays[key].copy()
        plus[key][idx] += eps
        minus[key][idx] -= eps
        grad[idx] = (loss(plus) - loss(minus)) / (2 * eps)
    return grad


@pytest.mark.parametrize(
    "geo", [dict(strides=(2, 1), padding="same", dilation_rate=(1, 2)), dict(padding=(1, 0, 2, 1))]
)
def test_conv2d_backward_matches_central_differences(rng, geo):
    p = {"x": rng.standard_normal((2, 5, 4, 2)), "w": rng.standard_normal((2, 3, 2, 3)), "b": rng.standard_normal(3)}
    dy = rng.standard_normal(reference.conv2d(p["x"], p["w"], **geo).shape)
    grads = dict(zip("xwb", reference.conv2d_backward(dy, p["x"], p["w"], **geo)))
    loss = lambda q: (reference.conv2d(q["x"], q["w"], q["b"], **geo) * dy).sum()  # noqa: E731
    for key in p:
        np.testing.assert_allclose(grads[key], numeric_grad(loss, p, key), rtol=1e-6, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool,strides,padding", [(3, 2, "same"), ((2, 3), None, "valid"), (2, 1, "same")])
def test_pooling_backward_matches_central_differences(rng, kind, pool, strides, padding):
    p = {"x": rng.standard_normal((2, 5, 6, 2))}  # continuous values: no ties, max is differentiable
    f, back = getattr(reference, f"{kind}_pool2d"), getattr(reference, f"{kind}_pool2d_backward")
    dy = rng.standard_normal(f(p["x"], pool, strides, padding).shape)
    loss = lambda q: (f(q["x"], pool, strides, padding) * dy).sum()  # noqa: E731
    np.testing.assert_allclose(
        back(dy, p["x"], pool, strides, padding), numeric_grad(loss, p, "x"), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_matches_central_differences(rng, training):
    c, eps = 3, 1e-3
    p = {"x": rng.standard_normal((4, 2, c)), "gamma": rng.standard_normal(c), "beta": rng.standard_normal(c)}
    running_mean, running_var = rng.standard_normal(c), rng.random(c) + 0.5
    dy = rng.standard_normal(p["x"].shape)

    def loss(q):
        y, _, _ = reference.batch_norm(
            q["x"], q["gamma"], q["beta"], running_mean, running_var, training=training, epsilon=eps
        )
        return (y * dy).sum()

    if training:  # the forward's batch statistics, as the op hands them to its backward
        mean, invstd = p["x"].mean(axis=(0, 1)), 1 / np.sqrt(p["x"].var(axis=(0, 1)) + eps)
    else:
        mean, invstd = running_mean, 1 / np.sqrt(running_var + eps)
    grads = reference.batch_norm_backward(dy, p["x"], p["gamma"], mean, invstd, training=training)
    for key, g in zip(("x", "gamma", "beta"), grads):
        np.testing.assert_allclose(g, numeric_grad(loss, p, key), rtol=1e-6, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_backward_matches_central_differences(rng, dtype):
    p = {"x": rng.standard_normal((3, 7))}
    dy = rng.standard_normal((3, 7))
    loss = lambda q: (reference.dropout(q["x"], 0.3, 5, 2) * dy).sum()  # noqa: E731
    np.testing.assert_allclose(
        reference.dropout_backward(dy, 0.3, 5, 2), numeric_grad(loss, p, "x"), rtol=1e-6, atol=1e-8
    )
    got = reference.dropout_backward(dy.astype(dtype), 0.3, 5, 2)
    assert got.dtype == dtype and got.shape == dy.shape
    assert np.array_equal(got == 0, reference.dropout_mask(dy.shape, 0.3, 5, 2) == 0)  # the forward's mask


RNN_CELLS = [
    ("simple_rnn", 1, {"activation": "tanh"}),
    ("simple_rnn", 1, {"activation": "relu"}),
    ("lstm", 4, {}),
    ("gru", 3, {"reset_after": True}),
    ("gru", 3, {"reset_after": False}),
]


@pytest.mark.parametrize("cell,gates,opts", RNN_CELLS)
@pytest.mark.parametrize("go_backwards,return_sequences", [(False, True), (True, False)])
def test_rnn_cell_backward_matches_central_differences(rng, cell, gates, opts, go_backwards, return_sequences):
    """BPTT of each cell, every input: x, kernel, recurrent_kernel, bias, h0 (and c0), with a mask."""
    n, t, d, h = 3, 4, 2, 3
    p = {
        "x": rng.standard_normal((n, t, d)),
        "kernel": rng.standard_normal((d, gates * h)) / np.sqrt(d),
        "recurrent_kernel": rng.standard_normal((h, gates * h)) / np.sqrt(h),
        "bias": 0.5 * rng.standard_normal((2, 3 * h) if opts.get("reset_after") else (gates * h,)),
        "h0": rng.standard_normal((n, h)),
    }
    if cell == "lstm":
        p["c0"] = rng.standard_normal((n, h))
    mask = np.ones((n, t), bool)
    mask[1, 2] = mask[2, 0] = False  # a masked step inside a sequence and one at its start
    kw = dict(mask=mask, go_backwards=go_backwards, return_sequences=return_sequences, **opts)
    forward, backward = getattr(reference, cell), getattr(reference, f"{cell}_backward")

    def run(q):
        states = {"c0": q["c0"]} if cell == "lstm" else {}
        return forward(q["x"], q["kernel"], q["recurrent_kernel"], q["bias"], h0=q["h0"], **states, **kw)

    outs = run(p)
    seeds = [rng.standard_normal(o.shape) for o in outs]  # dy, dh_T (and dc_T)

    def loss(q):
        return sum((o * s).sum() for o, s in zip(run(q), seeds))

    finals = {"dh_T": seeds[1], **({"dc_T": seeds[2], "c0": p["c0"]} if cell == "lstm" else {})}
    grads = backward(seeds[0], p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], h0=p["h0"], **finals, **kw)
    keys = ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")
    assert len(grads) == (6 if cell == "lstm" else 5)
    for key, g in zip(keys, grads):
        assert g.dtype == np.float64 and g.shape == p[key].shape, key
        np.testing.assert_allclose(g, numeric_grad(loss, p, key), rtol=1e-6, atol=1e-8, err_msg=f"{cell} d{key}")
