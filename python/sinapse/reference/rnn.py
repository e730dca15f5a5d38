"""Reference SimpleRNN, LSTM and GRU over whole sequences, forward and backward (BPTT).

Written step by step from Keras's equations (weights in Keras's layout: kernel (D, G*H),
recurrent_kernel (H, G*H), gate blocks LSTM i, f, c, o and GRU z, r, h), one time step
at a time, with matrix products as explicit sums (np.einsum, no BLAS). Masking is Keras's:
``h = where(mask, h_new, h_prev)`` (the state carries through a masked step) and
``out = where(mask, h_new, out_prev)`` with ``out_prev`` zeros before the first step; the
backward differentiates exactly those ``where``s. ``go_backwards`` processes the reversed
sequence and returns the outputs in processing order, as Keras does. Works in the
precision of the inputs (float64 for gradient checks).
"""

from __future__ import annotations

import functools

import numpy as np


def _mm(a, b):
    return np.einsum("ik,kj->ij", a, b, optimize=False)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _split(a, n):
    return np.split(a, n, axis=-1)


# --------------------------------------------------------------------------- cells: one step
# Each forward returns (h, c, saved); each backward maps (dh, dc) of the step's outputs to
# (dx_t, dkernel, drecurrent, dbias, dh_prev, dc_prev).


def _simple_step(x, h, c, kernel, rk, bias, activation):
    pre = _mm(x, kernel) + _mm(h, rk) + (0 if bias is None else bias)
    h_new = np.tanh(pre) if activation == "tanh" else np.maximum(pre, 0)
    return h_new, None, (x, h, h_new)


def _simple_step_back(dh, dc, saved, kernel, rk, bias, activation):
    x, h, h_new = saved
    dpre = dh * (1 - h_new**2) if activation == "tanh" else dh * (h_new > 0)
    return _mm(dpre, kernel.T), _mm(x.T, dpre), _mm(h.T, dpre), dpre.sum(0), _mm(dpre, rk.T), None


def _lstm_step(x, h, c, kernel, rk, bias, _):
    z = _mm(x, kernel) + _mm(h, rk) + (0 if bias is None else bias)
    zi, zf, zc, zo = _split(z, 4)
    i, f, g, o = _sigmoid(zi), _sigmoid(zf), np.tanh(zc), _sigmoid(zo)
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new, (x, h, c, i, f, g, o, c_new)


def _lstm_step_back(dh, dc, saved, kernel, rk, bias, _):
    x, h, c, i, f, g, o, c_new = saved
    tc = np.tanh(c_new)
    dc_total = dc + dh * o * (1 - tc**2)
    dz = np.concatenate(
        [dc_total * g * i * (1 - i), dc_total * c * f * (1 - f), dc_total * i * (1 - g**2), dh * tc * o * (1 - o)],
        axis=-1,
    )
    return _mm(dz, kernel.T), _mm(x.T, dz), _mm(h.T, dz), dz.sum(0), _mm(dz, rk.T), dc_total * f


def _gru_step(x, h, c, kernel, rk, bias, reset_after):
    hidden = rk.shape[0]
    if reset_after:
        b_in, b_rec = (0, 0) if bias is None else (bias[0], bias[1])
        xz, xr, xh = _split(_mm(x, kernel) + b_in, 3)
        rz, rr, rh = _split(_mm(h, rk) + b_rec, 3)
        z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
        hh = np.tanh(xh + r * rh)
        saved = (x, h, z, r, hh, rh)
    else:
        xz, xr, xh = _split(_mm(x, kernel) + (0 if bias is None else bias), 3)
        z = _sigmoid(xz + _mm(h, rk[:, :hidden]))
        r = _sigmoid(xr + _mm(h, rk[:, hidden : 2 * hidden]))
        hh = np.tanh(xh + _mm(r * h, rk[:, 2 * hidden :]))
        saved = (x, h, z, r, hh, None)
    return z * h + (1 - z) * hh, None, saved


def _gru_step_back(dh, dc, saved, kernel, rk, bias, reset_after):
    x, h, z, r, hh, rh = saved
    hidden = rk.shape[0]
    dz = dh * (h - hh) * z * (1 - z)
    dhh = dh * (1 - z) * (1 - hh**2)
    dh_prev = dh * z
    if reset_after:
        dr = dhh * rh * r * (1 - r)
        d_in = np.concatenate([dz, dr, dhh], axis=-1)  # d(x W + b_in)
        d_rec = np.concatenate([dz, dr, dhh * r], axis=-1)  # d(h U + b_rec)
        dh_prev = dh_prev + _mm(d_rec, rk.T)
        drk = _mm(h.T, d_rec)
        dbias = np.stack([d_in.sum(0), d_rec.sum(0)])
    else:
        d_rh = _mm(dhh, rk[:, 2 * hidden :].T)  # d(r * h)
        dr = d_rh * h * r * (1 - r)
        d_in = np.concatenate([dz, dr, dhh], axis=-1)
        dh_prev = dh_prev + d_rh * r + _mm(np.concatenate([dz, dr], -1), rk[:, : 2 * hidden].T)
        drk = np.concatenate([_mm(h.T, np.concatenate([dz, dr], -1)), _mm((r * h).T, dhh)], axis=-1)
        dbias = d_in.sum(0)
    return _mm(d_in, kernel.T), _mm(x.T, d_in), drk, dbias, dh_prev, None


def _dropout_step(cell, drop, x, h, c, kernel, rk, bias, option):
    """One step with Keras 3's per-gate dropout masks (its implementation=1 cells, written
    out per gate block): block q projects ``x * dm[q]`` and ``h * rm[q]``; forward only."""
    dm, rm = drop
    g = kernel.shape[1] // rk.shape[0]
    xs = _split(kernel, g)
    us = _split(rk, g)
    if cell == "gru" and option:
        b_in, b_rec = (np.zeros(kernel.shape[1]), np.zeros(kernel.shape[1])) if bias is None else (bias[0], bias[1])
    else:
        b_in, b_rec = (np.zeros(kernel.shape[1]) if bias is None else bias), np.zeros(kernel.shape[1])
    b_in, b_rec = _split(b_in, g), _split(b_rec, g)
    xw = [_mm(x * dm[q], xs[q]) + b_in[q] for q in range(g)]
    hu = [_mm(h * rm[q], us[q]) + b_rec[q] for q in range(g)]
    if cell == "simple_rnn":
        pre = xw[0] + hu[0]
        return (np.tanh(pre) if option == "tanh" else np.maximum(pre, 0)), None, None
    if cell == "lstm":
        i, f = _sigmoid(xw[0] + hu[0]), _sigmoid(xw[1] + hu[1])
        gg, o = np.tanh(xw[2] + hu[2]), _sigmoid(xw[3] + hu[3])
        c_new = f * c + i * gg
        return o * np.tanh(c_new), c_new, None
    z, r = _sigmoid(xw[0] + hu[0]), _sigmoid(xw[1] + hu[1])
    hh = np.tanh(xw[2] + r * hu[2]) if option else np.tanh(xw[2] + _mm(r * (h * rm[2]), us[2]))
    return z * h + (1 - z) * hh, None, None


def _dropout_lists(cell, kernel, rk, dropout_mask, recurrent_dropout_mask, n):
    """Per-gate-block mask lists ([G] of (N, D), [G] of (N, H)) from the ops' mask shapes
    (None: ones; an (N, D) input mask is shared by every gate; SimpleRNN's (N, H) is one block)."""
    hidden, d = rk.shape[0], kernel.shape[0]
    g = kernel.shape[1] // hidden
    dm_all = np.ones((n, 1, d)) if dropout_mask is None else np.asarray(dropout_mask).reshape(n, -1, d)
    rm_all = (
        np.ones((n, g, hidden))
        if recurrent_dropout_mask is None
        else np.asarray(recurrent_dropout_mask).reshape(n, g, hidden)
    )
    dm = [dm_all[:, q if dm_all.shape[1] > 1 else 0] for q in range(g)]
    return dm, [rm_all[:, q] for q in range(g)]


_CELLS = {
    "simple_rnn": (_simple_step, _simple_step_back),
    "lstm": (_lstm_step, _lstm_step_back),
    "gru": (_gru_step, _gru_step_back),
}


# --------------------------------------------------------------------------- sequences


def _run(cell, x, kernel, rk, bias, h0, c0, mask, go_backwards, return_sequences, option, drop=None):
    step = _CELLS[cell][0]
    x = np.asarray(x)
    n, t_len, _ = x.shape
    if drop is not None and (drop[0] is not None or drop[1] is not None):
        step = functools.partial(_dropout_step, cell, _dropout_lists(cell, kernel, rk, drop[0], drop[1], n))

    hidden = rk.shape[0]
    dtype = np.result_type(x, kernel, rk)
    h = np.zeros((n, hidden), dtype) if h0 is None else np.asarray(h0, dtype)
    c = (np.zeros((n, hidden), dtype) if c0 is None else np.asarray(c0, dtype)) if cell == "lstm" else None
    out = np.zeros((n, hidden), dtype)
    outputs, tape = [], []
    for t in range(t_len - 1, -1, -1) if go_backwards else range(t_len):
        h_new, c_new, saved = step(x[:, t], h, c, kernel, rk, bias, option)
        m = np.ones((n, 1), bool) if mask is None else np.asarray(mask)[:, t].astype(bool)[:, None]
        tape.append((t, m, saved))
        h = np.where(m, h_new, h)
        c = np.where(m, c_new, c) if c is not None else None
        out = np.where(m, h_new, out)
        outputs.append(out)
    y = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return y, h, c, tape


def _backprop(cell, x, kernel, rk, bias, tape, dy, dh_t, dc_t, return_sequences, option):
    step_back = _CELLS[cell][1]
    x = np.asarray(x)
    n, t_len, _ = x.shape
    hidden = rk.shape[0]
    dtype = np.result_type(x, kernel, rk)
    zeros = np.zeros((n, hidden), dtype)
    dh = zeros if dh_t is None else np.asarray(dh_t, dtype)
    dc = (zeros if dc_t is None else np.asarray(dc_t, dtype)) if cell == "lstm" else None
    d_out = zeros  # gradient reaching the previous output through masked steps
    dx = np.zeros(x.shape, dtype)
    dkernel, drk = np.zeros(kernel.shape, dtype), np.zeros(rk.shape, dtype)
    dbias = None if bias is None else np.zeros(np.shape(bias), dtype)
    for s in range(t_len - 1, -1, -1):
        t, m, saved = tape[s]
        g_out = d_out + (dy[:, s] if return_sequences else (dy if s == t_len - 1 else 0))
        dh_new = np.where(m, dh + g_out, 0)
        dc_new = np.where(m, dc, 0) if dc is not None else None
        d_out = np.where(m, 0, g_out)
        # A masked step's gradient is exactly 0 (dx_t = 0): its gate values (NaN or inf from a
        # padded x) do not enter through 0 * NaN. The weight gradients are sum_t x_t^T dz_t and
        # sum_t h_t^T dz_t over every step, in IEEE: a non-finite x_t or h_t of a masked step
        # meets its zero dz_t there (0 * NaN = NaN), as the kernels' whole-sequence GEMMs (and
        # TF's where-gradient) compute it.
        zeroed = tuple(None if v is None else np.where(m, v, 0) for v in saved)
        dxt, dk, dr, db, dh_prev, dc_prev = step_back(dh_new, dc_new, zeroed, kernel, rk, bias, option)
        dk = dk + _mm(np.where(m, 0, saved[0]).T, np.zeros((n, dk.shape[1]), dtype))
        dr = dr + _mm(np.where(m, 0, saved[1]).T, np.zeros((n, dr.shape[1]), dtype))
        dx[:, t] = dxt
        dkernel += dk
        drk += dr
        if dbias is not None:
            dbias += db
        dh = dh_prev + np.where(m, 0, dh)
        dc = dc_prev + np.where(m, 0, dc) if dc is not None else None
    return dx, dkernel, drk, dbias, dh, dc


def simple_rnn(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    activation="tanh",
    h0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    """``(y, h_T)``: ``h = act(x_t W + h U + b)`` over the sequence (act: "tanh" or "relu").

    ``dropout_mask`` / ``recurrent_dropout_mask``: the per-sequence dropout multipliers of
    ``sinapse.ops.simple_rnn`` (Keras's cell: ``act((x_t m) W + (h m_r) U + b)``)."""
    drop = (dropout_mask, recurrent_dropout_mask)
    y, h, _, _ = _run(
        "simple_rnn",
        x,
        kernel,
        recurrent_kernel,
        bias,
        h0,
        None,
        mask,
        go_backwards,
        return_sequences,
        activation,
        drop,
    )
    return y, h


def lstm(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    h0=None,
    c0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    """``(y, h_T, c_T)`` of Keras's LSTM (sigmoid gates, tanh cell activation); the dropout
    masks as ``sinapse.ops.lstm``'s (Keras 3's implementation=1 cell, one mask per gate block)."""
    drop = (dropout_mask, recurrent_dropout_mask)
    y, h, c, _ = _run(
        "lstm", x, kernel, recurrent_kernel, bias, h0, c0, mask, go_backwards, return_sequences, None, drop
    )
    return y, h, c


def gru(
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    reset_after=True,
    h0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    """``(y, h_T)`` of Keras's GRU; bias (2, 3H) with reset_after, else (3H,); the dropout
    masks as ``sinapse.ops.gru``'s (Keras 3's implementation=1 cell, one mask per gate block)."""
    drop = (dropout_mask, recurrent_dropout_mask)
    y, h, _, _ = _run(
        "gru", x, kernel, recurrent_kernel, bias, h0, None, mask, go_backwards, return_sequences, reset_after, drop
    )
    return y, h


def _backward(cell, option, dy, x, kernel, rk, bias, dh_T, dc_T, h0, c0, mask, go_backwards, return_sequences):
    """Run the forward again (keeping its tape), then BPTT; the six gradients of _backprop."""
    _, _, _, tape = _run(cell, x, kernel, rk, bias, h0, c0, mask, go_backwards, return_sequences, option)
    return _backprop(cell, x, kernel, rk, bias, tape, np.asarray(dy), dh_T, dc_T, return_sequences, option)


def simple_rnn_backward(
    dy,
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    dh_T=None,
    activation="tanh",
    h0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
):
    """BPTT through :func:`simple_rnn` (same arguments, after ``dy``): the gradients of
    ``sum(y * dy) + sum(h_T * dh_T)`` as ``(dx, dkernel, drecurrent_kernel, dbias, dh0)``.

    dy has y's shape, (N, T, H) or (N, H); dh_T (N, H) or None (zeros). Shapes follow the
    arguments: dx (N, T, D), dkernel (D, H), drecurrent_kernel (H, H), dbias (H,) (None
    without a bias), dh0 (N, H). Derivation: Werbos, "Backpropagation through time" (1990),
    applied to Keras's SimpleRNNCell; tested against central differences in float64."""
    dx, dk, drk, db, dh0, _ = _backward(
        "simple_rnn", activation, dy, x, kernel, recurrent_kernel, bias, dh_T, None, h0, None, mask, go_backwards,
        return_sequences,
    )  # fmt: skip
    return dx, dk, drk, db, dh0


def lstm_backward(
    dy,
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    dh_T=None,
    dc_T=None,
    h0=None,
    c0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
):
    """BPTT through :func:`lstm` (same arguments, after ``dy``): the gradients of
    ``sum(y * dy) + sum(h_T * dh_T) + sum(c_T * dc_T)`` as
    ``(dx, dkernel, drecurrent_kernel, dbias, dh0, dc0)``.

    dy has y's shape; dh_T, dc_T (N, H) or None (zeros). dkernel (D, 4H), drecurrent_kernel
    (H, 4H), dbias (4H,) (None without a bias), dh0 and dc0 (N, H). The cell's derivatives
    follow Hochreiter & Schmidhuber (1997) with Keras's gate order i, f, c, o."""
    return _backward(
        "lstm", None, dy, x, kernel, recurrent_kernel, bias, dh_T, dc_T, h0, c0, mask, go_backwards, return_sequences
    )


def gru_backward(
    dy,
    x,
    kernel,
    recurrent_kernel,
    bias=None,
    *,
    dh_T=None,
    reset_after=True,
    h0=None,
    mask=None,
    go_backwards=False,
    return_sequences=True,
):
    """BPTT through :func:`gru` (same arguments, after ``dy``): the gradients of
    ``sum(y * dy) + sum(h_T * dh_T)`` as ``(dx, dkernel, drecurrent_kernel, dbias, dh0)``.

    dy has y's shape; dh_T (N, H) or None. dkernel (D, 3H), drecurrent_kernel (H, 3H), dbias
    like the bias ((2, 3H) with reset_after, else (3H,); None without one), dh0 (N, H). The
    cell is Cho et al. (2014) as Keras's GRUCell writes it (gate order z, r, h)."""
    dx, dk, drk, db, dh0, _ = _backward(
        "gru", reset_after, dy, x, kernel, recurrent_kernel, bias, dh_T, None, h0, None, mask, go_backwards,
        return_sequences,
    )  # fmt: skip
    return dx, dk, drk, db, dh0
