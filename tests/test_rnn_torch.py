"""An independent check of the recurrent ops: torch.nn.RNN / LSTM / GRU (batch_first) with
weights moved by sinapse.ops.rnn_convert give the same outputs, final states and gradients
(skipped without PyTorch); and the converters round-trip."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops
from sinapse.ops import rnn_convert

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def keras_weights(rng, cell, d, h):
    g = GATES[cell]
    bias = rng.standard_normal((2, g * h) if cell == "gru" else (g * h,))
    return (rng.standard_normal((d, g * h)) * 0.4, rng.standard_normal((h, g * h)) * 0.4, bias * 0.3)


@pytest.mark.parametrize("cell", GATES)
def test_converters_round_trip(rng, cell):
    k, rk, b = keras_weights(rng, cell, 3, 5)
    back = rnn_convert.torch_to_keras(cell, *rnn_convert.keras_to_torch(cell, k, rk, b).values())
    for got, want in zip(back, (k, rk, b)):
        np.testing.assert_array_equal(got, want)


def _bad_conversions():
    k, rk = np.ones((3, 9)), np.ones((3, 9))
    return [
        (lambda: rnn_convert.keras_to_torch("gru", np.ones(1), np.ones((1, 3))), ValueError, "kernel"),
        (lambda: rnn_convert.keras_to_torch("gru", k, np.ones((2, 9))), ValueError, "recurrent_kernel"),
        (lambda: rnn_convert.keras_to_torch("gru", k, "x"), TypeError, "recurrent_kernel"),
        (lambda: rnn_convert.keras_to_torch("gru", k, rk, np.ones(9)), ValueError, "bias"),
        (lambda: rnn_convert.keras_to_torch(True, k, rk), ValueError, "cell"),
        (lambda: rnn_convert.keras_to_torch("lstm", np.ones((3, 8), np.int32), np.ones((2, 8))), TypeError, "kernel"),
        (lambda: rnn_convert.torch_to_keras("gru", np.ones((1, 3, 1)), np.ones((3, 1))), ValueError, "weight_ih"),
        (lambda: rnn_convert.torch_to_keras("gru", np.ones((9, 2)), np.ones((6, 2))), ValueError, "weight_hh"),
        (
            lambda: rnn_convert.torch_to_keras("lstm", np.ones((8, 2)), np.ones((8, 2)), np.ones(8)),
            ValueError,
            "bias_hh",
        ),
        (
            lambda: rnn_convert.torch_to_keras("lstm", np.ones((8, 2)), np.ones((8, 2)), np.ones(8), np.ones(4)),
            ValueError,
            "bias_hh",
        ),
    ]


@pytest.mark.parametrize("case", range(len(_bad_conversions())))
def test_converter_errors_name_the_function_and_the_argument(case):
    call, error, name = _bad_conversions()[case]
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert message.startswith(("keras_to_torch: ", "torch_to_keras: ")) and f"`{name}`" in message, message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "cell, activation", [("simple_rnn", "tanh"), ("simple_rnn", "relu"), ("lstm", None), ("gru", None)]
)
def test_matches_torch(rng, backend, cell, activation):
    torch = pytest.importorskip("torch")
    n, t, d, h = 3, 4, 5, 6
    k, rk, b = (a.astype(np.float32) for a in keras_weights(rng, cell, d, h))
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    h0 = rng.standard_normal((n, h)).astype(np.float32)
    c0 = rng.standard_normal((n, h)).astype(np.float32)
    dy = rng.standard_normal((n, t, h)).astype(np.float32)

    kw = {"nonlinearity": activation} if cell == "simple_rnn" else {}
    module = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        d, h, batch_first=True, **kw
    ).double()
    with torch.no_grad():
        for name, value in rnn_convert.keras_to_torch(cell, k, rk, b).items():
            getattr(module, name).copy_(torch.from_numpy(value.astype(np.float64)))
    tx = torch.from_numpy(x.astype(np.float64)).requires_grad_()
    th0 = torch.from_numpy(h0[None].astype(np.float64)).requires_grad_()
    tc0 = torch.from_numpy(c0[None].astype(np.float64)).requires_grad_()
    ty, state = module(tx, (th0, tc0) if cell == "lstm" else th0)
    ty.backward(torch.from_numpy(dy.astype(np.float64)))
    g_ih, g_hh = module.weight_ih_l0.grad.numpy(), module.weight_hh_l0.grad.numpy()
    g_bih, g_bhh = module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy()

    with on(backend):
        if cell == "lstm":
            y, h_t, c_t, cache = ops.lstm(x, k, rk, b, h0=h0, c0=c0)
            dx, dk, drk, db, dh0, dc0 = ops.lstm_backward(dy, cache)
        elif cell == "gru":
            y, h_t, cache = ops.gru(x, k, rk, b, h0=h0)
            dx, dk, drk, db, dh0 = ops.gru_backward(dy, cache)
        else:
            y, h_t, cache = ops.simple_rnn(x, k, rk, b, h0=h0, activation=activation)
            dx, dk, drk, db, dh0 = ops.simple_rnn_backward(dy, cache)
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    t_h = (state[0] if cell == "lstm" else state)[0].detach().numpy()
    np.testing.assert_allclose(h_t, t_h, **tol)
    if cell == "lstm":
        np.testing.assert_allclose(c_t, state[1][0].detach().numpy(), **tol)
        np.testing.assert_allclose(dc0, tc0.grad.numpy()[0], **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(dh0, th0.grad.numpy()[0], **tol)
    # PyTorch's gradients, in Keras's layout (its two biases get the same gradient but GRU's).
    want_k, want_rk, want_b = rnn_convert.torch_to_keras(cell, g_ih, g_hh, g_bih, g_bhh)
    np.testing.assert_allclose(dk, want_k, **tol)
    np.testing.assert_allclose(drk, want_rk, **tol)
    if cell == "gru":
        np.testing.assert_allclose(db, want_b, **tol)
    else:
        np.testing.assert_allclose(db, g_bih, **tol)
