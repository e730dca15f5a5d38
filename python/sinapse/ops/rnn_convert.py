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

from typing import Any

import numpy as np

from . import _enums

_GATES = {
    layer: _enums.RNN_GATES[cell] for layer, cell in (("simple_rnn", "simple_tanh"), ("lstm", "lstm"), ("gru", "gru"))
}


def _cell(op, cell):
    if not isinstance(cell, str) or cell not in _GATES:
        raise ValueError(f"{op}: `cell` must be 'simple_rnn', 'lstm' or 'gru', got {cell!r}.")
    return _GATES[cell]


def _matrix(op, name, a, ndim=2):
    """A real floating array of rank ``ndim`` (any float dtype; nothing else is converted)."""
    if not isinstance(a, np.ndarray) and not (isinstance(a, (list, tuple))):
        raise TypeError(f"{op}: `{name}` must be a NumPy array, got {type(a).__name__}.")
    a = np.asarray(a)
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: `{name}` must hold floats, got dtype {a.dtype} (shape {a.shape}).")
    if a.ndim != ndim:
        raise ValueError(f"{op}: `{name}` must be {ndim}-D, got shape {a.shape}.")
    return a


def _units(op, gates, rows_name, rows, rec_name, rec_shape, rec_rows_first):
    """H from the recurrent matrix; every gate block must be H wide (G*H rows/columns)."""
    h = rec_shape[0] if rec_rows_first else rec_shape[1]
    gh = rec_shape[1] if rec_rows_first else rec_shape[0]
    if gh != gates * h or rows != gh:
        want = "(units, {g} * units)" if rec_rows_first else "({g} * units, units)"
        raise ValueError(
            f"{op}: `{rec_name}` must have shape {want.format(g=gates)} with its {gates} * units "
            f"matching `{rows_name}`'s {rows}, got {rec_shape}."
        )
    return h


def _gru_swap_zr(a, axis):
    """Swap the first two gate blocks along `axis`: Keras z, r, h <-> PyTorch r, z, n (its own inverse)."""
    z, r, h = np.split(np.asarray(a), 3, axis=axis)
    return np.ascontiguousarray(np.concatenate([r, z, h], axis=axis))


def keras_to_torch(cell: str, kernel: Any, recurrent_kernel: Any, bias: Any | None = None) -> dict[str, np.ndarray]:
    """``{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}`` (bias entries only with a bias).

    kernel (D, G*H), recurrent_kernel (H, G*H), bias (G*H,) or, for a GRU, (2, 3H); any float
    dtype. The results are NumPy arrays of the input dtype (PyTorch's nn.LSTM/nn.GRU/nn.RNN layout).

    Raises:
        TypeError: an argument that is not a NumPy array (or list) of real floats.
        ValueError: an unknown ``cell``; wrong ranks, or gate blocks not H wide.
    """
    op = "keras_to_torch"
    gates = _cell(op, cell)
    kernel, recurrent_kernel = _matrix(op, "kernel", kernel), _matrix(op, "recurrent_kernel", recurrent_kernel)
    _units(op, gates, "kernel", kernel.shape[1], "recurrent_kernel", recurrent_kernel.shape, True)
    gh = kernel.shape[1]
    if bias is not None:
        want = (2, gh) if cell == "gru" else (gh,)
        bias = _matrix(op, "bias", bias, ndim=len(want))
        if bias.shape != want:
            why = " (reset_after=True: input and recurrent biases)" if cell == "gru" else ""
            raise ValueError(f"{op}: `bias` must have shape {want}{why}, got {bias.shape}.")
    w_ih, w_hh = kernel.T, recurrent_kernel.T
    out = {}
    if cell == "gru":
        out["weight_ih_l0"], out["weight_hh_l0"] = _gru_swap_zr(w_ih, 0), _gru_swap_zr(w_hh, 0)
        if bias is not None:
            out["bias_ih_l0"], out["bias_hh_l0"] = _gru_swap_zr(bias[0], 0), _gru_swap_zr(bias[1], 0)
        return out
    out["weight_ih_l0"], out["weight_hh_l0"] = np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh)
    if bias is not None:
        out["bias_ih_l0"] = np.array(bias)
        out["bias_hh_l0"] = np.zeros_like(out["bias_ih_l0"])
    return out


def torch_to_keras(
    cell: str,
    weight_ih: Any,
    weight_hh: Any,
    bias_ih: Any | None = None,
    bias_hh: Any | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(kernel, recurrent_kernel, bias)`` in Keras's layout (bias None when PyTorch has none).

    weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,) each, both or neither;
    any float dtype. The results are NumPy arrays of the input dtype.

    Raises:
        TypeError: an argument that is not a NumPy array (or list) of real floats.
        ValueError: an unknown ``cell``; wrong ranks, gate blocks not H wide, or only one of the two biases.
    """
    op = "torch_to_keras"
    gates = _cell(op, cell)
    w_ih, w_hh = _matrix(op, "weight_ih", weight_ih), _matrix(op, "weight_hh", weight_hh)
    _units(op, gates, "weight_ih", w_ih.shape[0], "weight_hh", w_hh.shape, False)
    gh = w_ih.shape[0]
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError(
            f"{op}: pass both `bias_ih` and `bias_hh` or neither, got only "
            f"`{'bias_ih' if bias_hh is None else 'bias_hh'}`."
        )
    if bias_ih is not None:
        bias_ih, bias_hh = _matrix(op, "bias_ih", bias_ih, ndim=1), _matrix(op, "bias_hh", bias_hh, ndim=1)
        for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
            if b.shape != (gh,):
                raise ValueError(f"{op}: `{name}` must have shape ({gh},) ({gates} * units), got {b.shape}.")
    if cell == "gru":
        kernel, rk = _gru_swap_zr(w_ih, 0).T, _gru_swap_zr(w_hh, 0).T
        bias = None if bias_ih is None else np.stack([_gru_swap_zr(bias_ih, 0), _gru_swap_zr(bias_hh, 0)])
    else:
        kernel, rk = w_ih.T, w_hh.T
        bias = None if bias_ih is None else bias_ih + bias_hh
    return np.ascontiguousarray(kernel), np.ascontiguousarray(rk), bias
