"""Weights of recurrent layers between Keras's layout (sinapse's) and PyTorch's.

==========  ===========================  ==========================================
            Keras / sinapse              PyTorch (nn.RNN / nn.LSTM / nn.GRU, layer 0)
==========  ===========================  ==========================================
input       kernel (D, G*H)              weight_ih_l0 (G*H, D)  = kernel.T
recurrent   recurrent_kernel (H, G*H)    weight_hh_l0 (G*H, H)  = recurrent_kernel.T
bias        one (G*H,); GRU (2, 3H)      bias_ih_l0 + bias_hh_l0, (G*H,) each
LSTM gates  i, f, c, o                   i, f, g, o  (the same order; c is PyTorch's g)
GRU gates   z, r, h                      r, z, n     (blocks reordered)
==========  ===========================  ==========================================

PyTorch's GRU is Keras's ``reset_after=True`` GRU (its ``b_hn`` sits inside ``r * (...)``
like Keras's recurrent bias); Keras's ``reset_after=False`` has no PyTorch counterpart.
PyTorch's two LSTM/RNN biases only ever appear summed, so Keras -> PyTorch puts the bias in
``bias_ih`` and zeros in ``bias_hh``, and PyTorch -> Keras adds them.
Plain NumPy, any float dtype; the results are new C-contiguous arrays.
"""

from __future__ import annotations

import numpy as np

_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def _cell(cell):
    if cell not in _GATES:
        raise ValueError(f"rnn convert: cell must be 'simple_rnn', 'lstm' or 'gru', got {cell!r}.")
    return _GATES[cell]


def _gru_swap_zr(a, axis):
    """Swap the first two gate blocks along `axis`: Keras z, r, h <-> PyTorch r, z, n (its own inverse)."""
    z, r, h = np.split(np.asarray(a), 3, axis=axis)
    return np.ascontiguousarray(np.concatenate([r, z, h], axis=axis))


def keras_to_torch(cell, kernel, recurrent_kernel, bias=None):
    """``{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}`` (bias entries only with a bias)."""
    _cell(cell)
    w_ih, w_hh = np.asarray(kernel).T, np.asarray(recurrent_kernel).T
    out = {}
    if cell == "gru":
        out["weight_ih_l0"], out["weight_hh_l0"] = _gru_swap_zr(w_ih, 0), _gru_swap_zr(w_hh, 0)
        if bias is not None:
            bias = np.asarray(bias)
            if bias.shape != (2, w_ih.shape[0]):
                raise ValueError(f"rnn convert: a GRU bias must be (2, 3H) (reset_after=True), got {bias.shape}.")
            out["bias_ih_l0"], out["bias_hh_l0"] = _gru_swap_zr(bias[0], 0), _gru_swap_zr(bias[1], 0)
        return out
    out["weight_ih_l0"], out["weight_hh_l0"] = np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh)
    if bias is not None:
        out["bias_ih_l0"] = np.array(bias)
        out["bias_hh_l0"] = np.zeros_like(out["bias_ih_l0"])
    return out


def torch_to_keras(cell, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """``(kernel, recurrent_kernel, bias)`` in Keras's layout (bias None when PyTorch has none)."""
    _cell(cell)
    w_ih, w_hh = np.asarray(weight_ih), np.asarray(weight_hh)
    if cell == "gru":
        kernel, rk = _gru_swap_zr(w_ih, 0).T, _gru_swap_zr(w_hh, 0).T
        bias = None if bias_ih is None else np.stack([_gru_swap_zr(bias_ih, 0), _gru_swap_zr(bias_hh, 0)])
    else:
        kernel, rk = w_ih.T, w_hh.T
        bias = None if bias_ih is None else np.asarray(bias_ih) + np.asarray(bias_hh)
    return np.ascontiguousarray(kernel), np.ascontiguousarray(rk), bias
