"""Recurrent sequence ops (SimpleRNN tanh/relu, LSTM, GRU reset_after True/False) on the CPU
and the simulated CUDA kernels: forward and backward against the step-by-step reference on
awkward sizes with every option (mask, go_backwards, return_sequences, initial states), the
reference's own gradients against finite differences, masking against shorter sequences,
and bad input. The LSTM cell's kernel variants (naive, tuned: the registry's) on every
backend against the reference and each other."""

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops, reference
from sinapse.registry import OPS

LSTM_VARIANTS = OPS["rnn"].variants  # the LSTM cell is the RNN family's one with a naive variant

# name -> (reference cell, gates, op keyword options)
CELLS = {
    "simple_tanh": ("simple_rnn", 1, {"activation": "tanh"}),
    "simple_relu": ("simple_rnn", 1, {"activation": "relu"}),
    "lstm": ("lstm", 4, {}),
    "gru": ("gru", 3, {"reset_after": True}),
    "gru_reset_before": ("gru", 3, {"reset_after": False}),
}


def make(rng, name, n, t, d, h, *, bias=True, states=True, mask=False, dtype=np.float64):
    cell, gates, _ = CELLS[name]
    r = lambda *s: rng.standard_normal(s)  # noqa: E731
    p = {"x": r(n, t, d), "kernel": r(d, gates * h) / np.sqrt(d), "recurrent_kernel": r(h, gates * h) / np.sqrt(h)}
    if bias:
        p["bias"] = 0.5 * (r(2, gates * h) if name == "gru" else r(gates * h))
    if states:
        p["h0"] = r(n, h)
        if cell == "lstm":
            p["c0"] = r(n, h)
    if mask:
        m = rng.random((n, t)) > 0.35
        m[0, :] = True  # one full-length example
        if n > 1:
            m[1, :] = False  # and one with no real step at all
        p["mask"] = m
    return {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in p.items()}


def run_op(name, p, **kw):
    """(y, h_T, c_T or None, cache) from sinapse.ops."""
    cell, _, opts = CELLS[name]
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p.get("bias"))
    common = dict(h0=p.get("h0"), mask=p.get("mask"), **kw)
    if cell == "lstm":
        return ops.lstm(*args, c0=p.get("c0"), **common)
    y, h, cache = getattr(ops, cell)(*args, **opts, **common)
    return y, h, None, cache


def run_backward(name, cache, dy, dh, dc):
    cell = CELLS[name][0]
    if cell == "lstm":
        return ops.lstm_backward(dy, cache, dh, dc)
    return (*getattr(ops, f"{cell}_backward")(dy, cache, dh), None)


def run_reference(name, p, **kw):
    cell, _, opts = CELLS[name]
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p.get("bias"))
    common = dict(h0=p.get("h0"), mask=p.get("mask"), **kw)
    if cell == "lstm":
        return reference.lstm(*args, c0=p.get("c0"), **common)
    return (*getattr(reference, cell)(*args, **opts, **common), None)


def reference_backward(name, p, dy, dh, dc, **kw):
    cell, _, opts = CELLS[name]
    args = (dy, p["x"], p["kernel"], p["recurrent_kernel"], p.get("bias"))
    common = dict(dh_T=dh, h0=p.get("h0"), mask=p.get("mask"), **kw)
    if cell == "lstm":
        return reference.lstm_backward(*args, dc_T=dc, c0=p.get("c0"), **common)
    return (*getattr(reference, f"{cell}_backward")(*args, **opts, **common), None)


def f32(p):
    return {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in p.items()}


def close(got, ref, what):
    assert got.dtype == np.float32, what
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5 * scale, err_msg=what)


def check(backend, rng, name, n, t, d, h, *, bias=True, states=True, mask=False, **kw):
    p = make(rng, name, n, t, d, h, bias=bias, states=states, mask=mask)
    with on(backend):
        y, h_t, c_t, cache = run_op(name, f32(p), **kw)
    ry, rh, rc = run_reference(name, p, **kw)
    what = f"{name} N{n} T{t} D{d} H{h} {kw} bias={bias} states={states} mask={mask}"
    close(y, ry, f"y {what}")
    close(h_t, rh, f"h_T {what}")
    if rc is not None:
        close(c_t, rc, f"c_T {what}")
    dy = rng.standard_normal(ry.shape)
    dh = rng.standard_normal(rh.shape)
    dc = rng.standard_normal(rh.shape) if rc is not None else None
    with on(backend):
        got = run_backward(
            name, cache, dy.astype(np.float32), dh.astype(np.float32), None if dc is None else dc.astype(np.float32)
        )
    ref = reference_backward(name, p, dy, dh, dc, **kw)
    for label, g, r in zip(("dx", "dkernel", "drecurrent_kernel", "dbias", "dh0", "dc0"), got, ref):
        assert (g is None) == (r is None), f"{label} {what}"
        if g is not None:
            close(g, r, f"{label} {what}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("n", [3, 6])  # the CPU runs N <= 4 through its small-batch forward
def test_options_match_reference(rng, backend, name, go_backwards, return_sequences, n):
    check(backend, rng, name, n, 5, 4, 6, mask=True, go_backwards=go_backwards, return_sequences=return_sequences)


# N, T, D, H: single step, single example, one unit, 65 units, and sizes around a 256-thread block.
SIZES = [(1, 1, 1, 1), (1, 4, 3, 65), (4, 1, 5, 64), (2, 3, 2, 129), (5, 2, 3, 51)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("size", SIZES)
def test_awkward_sizes_match_reference(rng, backend, name, size):
    check(backend, rng, name, *size)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
def test_without_bias_and_initial_states(rng, backend, name):
    check(backend, rng, name, 2, 3, 3, 4, bias=False, states=False)


@pytest.mark.parametrize("variant", LSTM_VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("n", [1, 6])  # 1: the CPU's small-batch forward (tuned only), 6: the step kernels
def test_lstm_variants_match_reference(rng, monkeypatch, backend, variant, go_backwards, return_sequences, n):
    monkeypatch.setenv("SINAPSE_LSTM", variant)  # ops.lstm resolves it; the backward runs the forward's variant
    check(backend, rng, "lstm", n, 5, 4, 6, mask=True, go_backwards=go_backwards, return_sequences=return_sequences)
    check(backend, rng, "lstm", 2, 3, 2, 129, bias=False, states=False)  # more units than a 128-thread block


@pytest.mark.parametrize("backend", BACKENDS)
def test_lstm_variants_agree(rng, backend):
    """naive and tuned LSTM cells (library vs polynomial exp on the CPU) within float32
    rounding; the backward's variant may differ from the forward's."""
    p = f32(make(rng, "lstm", 3, 6, 5, 33, mask=True))
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    dy = rng.standard_normal((3, 6, 33)).astype(np.float32)
    got = {}
    with on(backend):
        for fv in LSTM_VARIANTS:
            y, h_t, c_t, cache = ops.lstm(*args, h0=p["h0"], c0=p["c0"], mask=p["mask"], variant=fv)
            for bv in LSTM_VARIANTS:
                got[fv, bv] = (y, h_t, c_t, *ops.lstm_backward(dy, cache, variant=bv))
    first, *others = got.values()
    for other in others:
        for label, a, b in zip(("y", "h_T", "c_T", "dx", "dk", "drk", "db", "dh0", "dc0"), first, other):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=label)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_lstm_variant_reaches_the_cuda_kernel(rng):
    """Each variant name launches its own gate kernel (the forward ends with the last step's)."""
    import sinapse

    p = f32(make(rng, "lstm", 2, 3, 4, 5))
    expected = {"naive": "lstm_step_forward_naive_kernel", "tuned": "rnn_step_forward_kernel"}
    for v in LSTM_VARIANTS:
        with on("cuda_sim"):
            ops.lstm(p["x"], p["kernel"], p["recurrent_kernel"], p["bias"], variant=v)
            launch = sinapse._cuda_sim.last_launch()
        assert launch.startswith(expected[v] + "<<<"), launch


def test_lstm_variant_errors(rng, monkeypatch):
    from sinapse import _cpu

    p = f32(make(rng, "lstm", 2, 3, 4, 5))
    args = (p["x"], p["kernel"], p["recurrent_kernel"], p["bias"])
    with pytest.raises(ValueError, match=r"lstm: `variant`='fast' is not a variant of lstm; expected one of naive"):
        ops.lstm(*args, variant="fast")
    monkeypatch.setenv("SINAPSE_LSTM", "fastest")
    with pytest.raises(ValueError, match=r"lstm: \$SINAPSE_LSTM='fastest' is not a variant of lstm"):
        ops.lstm(*args)
    monkeypatch.delenv("SINAPSE_LSTM")
    cache = ops.lstm(*args)[-1]
    with pytest.raises(ValueError, match=r"lstm_backward: `variant`='slow' is not a variant of lstm"):
        ops.lstm_backward(None, cache, variant="slow")
    # The naive cell is the LSTM's: the binding refuses it for another cell.
    gru = (3, 2, 3, 4, 1, False, True)  # cell code 3 (GRU), N, T, D, H, go_backwards, return_sequences
    ws = np.zeros(_cpu.rnn_workspace_floats(3, 2, 3, 4, 1, False), np.float32)
    y, h, k, rk = (np.zeros(s, np.float32) for s in ((2, 3, 1), (2, 1), (4, 3), (1, 3)))
    with pytest.raises(ValueError, match="rnn: the naive variant exists for the LSTM cell only"):
        _cpu.rnn_forward(*gru, p["x"], k, rk, None, None, None, None, y, h, None, ws, None, None, "naive", "generic")


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_reference_gradients_match_finite_differences(rng, name, go_backwards):
    p = make(rng, name, 2, 3, 2, 3, mask=True)
    p["mask"][1, 1] = True  # the second example: one real step between masked ones
    ry, rh, rc = run_reference(name, p, go_backwards=go_backwards)
    dy, dh = rng.standard_normal(ry.shape), rng.standard_normal(rh.shape)
    dc = rng.standard_normal(rh.shape) if rc is not None else None

    def loss(q):
        y, h, c = run_reference(name, q, go_backwards=go_backwards)
        return (y * dy).sum() + (h * dh).sum() + (0.0 if c is None else (c * dc).sum())

    grads = reference_backward(name, p, dy, dh, dc, go_backwards=go_backwards)
    names = ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")
    eps = 1e-6
    for key, g in zip(names, grads):
        if key not in p:
            assert g is None
            continue
        numeric = np.zeros_like(p[key])
        for idx in np.ndindex(p[key].shape):
            plus, minus = dict(p), dict(p)
            plus[key], minus[key] = p[key].copy(), p[key].copy()
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8, err_msg=f"{name} d{key}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CELLS)
def test_masked_sequence_equals_shorter_sequence(rng, backend, name):
    """Right-padded examples with a mask give what each example alone, cut to its length, gives;
    the padded steps get zero input gradients."""
    n, t, d, h = 6, 5, 3, 4
    p = f32(make(rng, name, n, t, d, h))
    lengths = [5, 2, 3, 1, 4, 5]
    p["mask"] = np.arange(t)[None, :] < np.array(lengths)[:, None]
    dy_last = rng.standard_normal((n, h)).astype(np.float32)
    with on(backend):
        y, h_t, c_t, cache = run_op(name, p, return_sequences=False)
        dx = run_backward(name, cache, dy_last, None, None)[0]
        for i, length in enumerate(lengths):
            q = {
                k: (v[i : i + 1, :length] if k == "x" else v[i : i + 1] if k in ("h0", "c0") else v)
                for k, v in p.items()
                if k != "mask"
            }
            yi, hi, ci, ci_cache = run_op(name, q, return_sequences=False)
            dxi = run_backward(name, ci_cache, dy_last[i : i + 1], None, None)[0]
            np.testing.assert_allclose(y[i], yi[0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(h_t[i], hi[0], rtol=1e-5, atol=1e-6)
            if c_t is not None:
                np.testing.assert_allclose(c_t[i], ci[0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(dx[i, :length], dxi[0], rtol=1e-4, atol=1e-6)
            assert not dx[i, length:].any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_go_backwards_is_the_reversed_sequence(rng, backend):
    """go_backwards runs the reversed input and returns outputs in processing order (Keras)."""
    p = f32(make(rng, "lstm", 2, 4, 3, 5))
    with on(backend):
        yb, hb, cb, _ = run_op("lstm", p, go_backwards=True)
        q = dict(p, x=np.ascontiguousarray(p["x"][:, ::-1]))
        yf, hf, cf, _ = run_op("lstm", q)
    np.testing.assert_array_equal(yb, yf)
    np.testing.assert_array_equal(hb, hf)
    np.testing.assert_array_equal(cb, cf)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fully_masked_sequence_keeps_the_state_and_outputs_zeros(rng, backend):
    p = f32(make(rng, "gru", 2, 3, 2, 3))
    p["mask"] = np.zeros((2, 3), np.uint8)
    with on(backend):
        y, h_t, _, _ = run_op("gru", p)
    assert not y.any()
    np.testing.assert_array_equal(h_t, p["h0"])


def test_bad_input(rng):
    p = f32(make(rng, "lstm", 2, 3, 4, 5))
    x, k, rk, b = p["x"], p["kernel"], p["recurrent_kernel"], p["bias"]
    c = np.ascontiguousarray
    with pytest.raises(ValueError, match=r"lstm: `x` must be 3-D"):
        ops.lstm(x[0], k, rk, b)
    with pytest.raises(ValueError, match=r"lstm: `x` has 4 features but `kernel` expects 3"):
        ops.lstm(x, k[:3], rk, b)
    with pytest.raises(ValueError, match=r"lstm: `kernel` must have 4 \* units columns"):
        ops.lstm(x, c(k[:, :18]), rk, b)
    with pytest.raises(ValueError, match=r"lstm: `recurrent_kernel` must have shape \(5, 20\)"):
        ops.lstm(x, k, rk[:4], b)
    with pytest.raises(ValueError, match=r"lstm: `bias` must have shape \(20,\)"):
        ops.lstm(x, k, rk, b[:19])
    with pytest.raises(ValueError, match=r"gru: `bias` must have shape \(2, 15\)"):
        ops.gru(x, c(k[:, :15]), c(rk[:, :15]), b[:15])
    with pytest.raises(ValueError, match=r"lstm: `h0` must have shape \(2, 5\)"):
        ops.lstm(x, k, rk, b, h0=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"lstm: `mask` must have shape \(2, 3\)"):
        ops.lstm(x, k, rk, b, mask=np.ones((2, 4), bool))
    with pytest.raises(TypeError, match=r"lstm: `mask` must be bool or uint8"):
        ops.lstm(x, k, rk, b, mask=np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"lstm: `x` must be float32"):
        ops.lstm(x.astype(np.float64), k, rk, b)
    with pytest.raises(ValueError, match=r"simple_rnn: `activation` must be 'tanh' or 'relu'"):
        ops.simple_rnn(x, c(k[:, :5]), c(rk[:, :5]), activation="sigmoid")
    with pytest.raises(TypeError, match=r"lstm: `go_backwards` must be True or False"):
        ops.lstm(x, k, rk, b, go_backwards="yes")
    y, _, _, cache = ops.lstm(x, k, rk, b)
    with pytest.raises(ValueError, match=r"lstm_backward: `dy` must have shape \(2, 3, 5\)"):
        ops.lstm_backward(c(y[:, 0]), cache)
    with pytest.raises(TypeError, match=r"gru_backward: `cache` must be the cache returned by the matching forward"):
        ops.gru_backward(y, cache)
