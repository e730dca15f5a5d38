"""Reference GEMM: the definition, ``C[i, j] = sum_k op(A)[i, k] op(B)[k, j]``."""

from __future__ import annotations

import numpy as np

from .activation import activation as _activation


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, bias=None, activation=None):
    """``act(alpha * op(a) @ op(b) + beta * c + bias)`` in the precision of the inputs.

    As in BLAS, ``c`` is not read when beta == 0 (NaN in it does not propagate).
    The product is an explicit sum over k (np.einsum without BLAS), not a library GEMM.
    """
    a, b = np.asarray(a), np.asarray(b)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"reference.gemm: inner dimensions differ: {op_a.shape} @ {op_b.shape}")
    dtype = np.result_type(a, b)
    product = np.einsum("ik,kj->ij", op_a, op_b, optimize=False).astype(dtype, copy=False)
    result = dtype.type(alpha) * product
    if beta != 0:
        result = result + dtype.type(beta) * np.asarray(c, dtype=dtype)
    if bias is not None:
        result = result + np.asarray(bias, dtype=dtype)
    return _activation(activation)(result)
