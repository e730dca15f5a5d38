"""sinapse.ops recurrent sequence ops: simple_rnn, lstm, gru and their backwards (BPTT).

Shapes (batch-first, as Keras): x (N, T, D); H units; G gates (SimpleRNN 1, LSTM 4, GRU 3).
Weights use Keras's layout, so Keras weights load unchanged (``ops.rnn_convert`` moves them
to and from PyTorch's):

==========  ================  ====================  =================================
op          kernel            recurrent_kernel      bias
==========  ================  ====================  =================================
simple_rnn  (D, H)            (H, H)                (H,)
lstm        (D, 4H) i,f,c,o   (H, 4H)               (4H,)
gru         (D, 3H) z,r,h     (H, 3H)               (2, 3H) reset_after (input, recurrent)
                                                    (3H,) reset_after=False
==========  ================  ====================  =================================

Every forward takes ``h0`` (and ``c0`` for the LSTM), (N, H), zeros when omitted; ``mask``
(N, T) of bool or uint8, 1 = a real step (Keras's ``mask_zero``/``Masking``: a masked step
keeps the state and repeats the previous output, zeros before the first real step);
``go_backwards`` (process the reversed sequence; outputs come back in processing order, as
Keras returns them); ``return_sequences`` (y is (N, T, H), else the last output (N, H)).
``dropout_mask`` and ``recurrent_dropout_mask`` (float32 or None) are Keras's per-sequence
dropout masks, the multipliers themselves (0 or 1 / (1 - rate)), the same at every step:
``dropout_mask`` (N, D) multiplies x_t before every gate's input product, or (N, G, D) one
mask per gate block (Keras 3's implementation=1 cells: block q projects x_t * m[:, q]);
``recurrent_dropout_mask`` (N, G, H) ((N, H) accepted for SimpleRNN) multiplies h_{t-1}
before gate block q's recurrent product (GRU reset_after: before U_h as well, inside r (.);
reset_after=False: r * (h_{t-1} m[:, 2])), inside the time loop, forward and backward. The
state itself (LSTM's c, GRU's z h_{t-1}) is not masked, as in Keras's cells.
It returns y, the final state(s) and a ``cache`` to hand to the matching ``*_backward``,
which returns the gradients of the loss given dy (the shape of y; None = zeros) and
optionally the final states' gradients.

Every result is a new array unless ``out=`` gives it: a tuple with one entry per array
result, in the order they are returned (the cache is not an array and has none), each an
array or None (allocated), the NumPy ufunc convention. Inputs are only read, so they may
share memory freely; a given ``out`` entry must share none with any argument or another entry.

NumPy arrays run on the CPU, CuPy arrays on the GPU (and NumPy arrays inside
``sinapse.cuda.simulate()`` through the simulated CUDA kernels): the time loop runs in C++
(csrc/common/rnn_sequence.h), see docs/kernels/rnn.md.

``lstm`` takes ``variant``: "naive" (the cell's gate equations as plain loops, one thread,
library exp, after each step's recurrent GEMM; on CUDA one thread per example) or "tuned" (the
default, or $SINAPSE_LSTM; on the CPU its forward fuses each step's recurrent product and gate
equations in one register-tiled kernel, csrc/cpu/rnn_lstm_fused.cpp); the other GEMMs are the
tuned GEMM either way. The descriptor step resolves it (a plan keeps it); the
backward runs the forward's variant unless told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _cpu
from ..registry import resolve_variant
from . import _device, _enums
from ._checks import (
    CPU,
    Array,
    as_bool,
    backend,
    check_elements,
    check_float32,
    check_outs,
    check_shape,
    inspect,
    inspect_outs,
    out_tuple,
    present,
)
from ._plan import descriptor, preparable, run

_CELL_CODES = _enums.RNN_CELLS  # names -> codes (csrc/common/enums.h)
_GATES = _enums.RNN_GATES

# The array results, in the order of each op's out=(...) tuple (the forward's cache has no entry).
_FORWARD = {"simple_rnn": ("y", "h_T"), "lstm": ("y", "h_T", "c_T"), "gru": ("y", "h_T")}
_BACKWARD = ("dx", "dkernel", "drecurrent_kernel", "dbias", "dh0")
_BACKWARD_LSTM = (*_BACKWARD, "dc0")


class RnnCache:
    """What a sequence op's backward needs: its inputs and the forward's workspace (gate
    activations, states before each step). Opaque; pass it to the matching ``*_backward``."""

    __slots__ = (
        "op",
        "cell",
        "device",
        "x",
        "kernel",
        "recurrent_kernel",
        "has_bias",
        "mask",
        "workspace",
        "shape",
        "go_backwards",
        "return_sequences",
        "simd",
        "variant",
        "dropout_mask",
        "recurrent_dropout_mask",
    )
    # The attributes (typed for the type checker; set by the forward through __init__'s keywords).
    op: str  # the forward op's name ("simple_rnn", "lstm", "gru")
    cell: str  # its cell kind ("simple_tanh", "simple_relu", "lstm", "gru", "gru_reset_before")
    device: str  # where the forward ran: "cpu", "cuda" or "cuda_sim"
    x: Array  # the forward's inputs, read by the backward
    kernel: Array
    recurrent_kernel: Array
    has_bias: bool
    mask: Array | None  # as bytes (uint8), or None
    workspace: Array  # float32 (rnn_workspace_floats,): gate activations, states before each step
    shape: tuple[int, int, int, int]  # (N, T, D, H)
    go_backwards: bool
    return_sequences: bool
    simd: str
    variant: str
    dropout_mask: Array | None  # the forward's dropout multipliers, or None
    recurrent_dropout_mask: Array | None

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _check_mask(op, mask, n, t):
    info = inspect(op, "mask", mask)
    if info.dtype not in (np.bool_, np.uint8):
        raise TypeError(f"{op}: `mask` must be bool or uint8 (1 = a real step), got {info.describe()}.")
    if not info.c_contiguous:
        raise ValueError(f"{op}: `mask` must be C-contiguous, got {info.describe()}.")
    check_shape(op, "mask", info, (n, t), "one flag per example and time step of x (N, T)")


def _check_dropout_masks(op, gates, n, d, h, dropout_mask, recurrent_dropout_mask):
    """The dropout masks' infos ({} when none) and their block counts (in_masks, rec_masks)."""
    infos, in_masks = {}, 0
    for name, value, shapes, why in (
        ("dropout_mask", dropout_mask, ((n, d), (n, gates, d)), "(batch, features) or (batch, gates, features)"),
        (
            "recurrent_dropout_mask",
            recurrent_dropout_mask,
            ((n, gates, h), (n, h)) if gates == 1 else ((n, gates, h),),
            "(batch, gates, units)" + (" or (batch, units)" if gates == 1 else ""),
        ),
    ):
        if value is None:
            continue
        info = infos[name] = inspect(op, name, value)
        check_float32(op, name, info)
        if tuple(info.shape) not in shapes:
            raise ValueError(
                f"{op}: `{name}` must have shape {why} = {' or '.join(map(str, shapes))}, got {info.describe()}."
            )
        if name == "dropout_mask":
            in_masks = 1 if len(info.shape) == 2 else gates
    return infos, in_masks, "recurrent_dropout_mask" in infos


def _describe_forward(
    op,
    cell,
    x,
    kernel,
    recurrent_kernel,
    bias,
    h0,
    c0,
    mask,
    go_backwards,
    return_sequences,
    simd,
    variant="tuned",
    out=None,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    """The sequence ops' descriptor step (sinapse.ops._plan); ``c0`` is the LSTM's only."""
    go_backwards = as_bool(op, "go_backwards", go_backwards)
    return_sequences = as_bool(op, "return_sequences", return_sequences)
    gates = _GATES[cell]
    infos = {
        "x": inspect(op, "x", x),
        "kernel": inspect(op, "kernel", kernel),
        "recurrent_kernel": inspect(op, "recurrent_kernel", recurrent_kernel),
    }
    for name, value in (("bias", bias), ("h0", h0), ("c0", c0)):
        if value is not None:
            infos[name] = inspect(op, name, value)
    mi = inspect(op, "mask", mask) if mask is not None else None
    names = _FORWARD[op]
    outs = inspect_outs(op, out, names)
    device = backend(op, {**infos, **({"mask": mi} if mi else {}), **present(outs)})
    xi, ki, ri = infos["x"], infos["kernel"], infos["recurrent_kernel"]
    check_float32(op, "x", xi)
    if len(xi.shape) != 3:
        raise ValueError(f"{op}: `x` must be 3-D (batch, time, features), got {xi.describe()}.")
    n, t, d = xi.shape
    if min(n, t, d) < 1:
        raise ValueError(f"{op}: `x` needs at least one example, one time step and one feature, got {xi.describe()}.")
    check_float32(op, "kernel", ki, ndim=2)
    if ki.shape[0] != d:
        raise ValueError(
            f"{op}: `x` has {d} features but `kernel` expects {ki.shape[0]} (kernel.shape="
            f"{ki.shape}, x.shape={xi.shape}; kernel is (features, {gates} * units))."
        )
    if ki.shape[1] < gates or ki.shape[1] % gates:
        raise ValueError(f"{op}: `kernel` must have {gates} * units columns (one block per gate), got {ki.describe()}.")
    h = ki.shape[1] // gates
    check_float32(op, "recurrent_kernel", ri, ndim=2)
    check_shape(op, "recurrent_kernel", ri, (h, gates * h), f"(units, {gates} * units) with units = {h} from kernel")
    if bias is not None:
        check_float32(op, "bias", infos["bias"])
        shape = (2, gates * h) if cell == "gru" else (gates * h,)
        why = "input and recurrent biases (reset_after=True)" if cell == "gru" else f"{gates} * units"
        check_shape(op, "bias", infos["bias"], shape, why)
    for name in ("h0", "c0"):
        if name in infos:
            check_float32(op, name, infos[name])
            check_shape(op, name, infos[name], (n, h), "the initial state, (batch, units)")
    if mi is not None:
        _check_mask(op, mask, n, t)  # (the launch hands it over as bytes)
    drop, in_masks, rec_masks = _check_dropout_masks(op, gates, n, d, h, dropout_mask, recurrent_dropout_mask)
    if drop:
        backend(op, {**infos, **drop})  # on the inputs' device

    code = _CELL_CODES[cell]
    ws_floats = _cpu.rnn_workspace_floats(code, n, t, d, h, False, in_masks, rec_masks)
    check_elements(op, "x", (ws_floats,), f"(with {h} units) a workspace")
    simd = _device.simd(device, simd, op)  # kept in the cache for the backward
    arrays = {
        n_: infos.get(n_)
        for n_ in ("x", "kernel", "recurrent_kernel", "bias", "h0", "c0")
        if n_ != "c0" or cell == "lstm"
    }
    shapes = ((n, t, h) if return_sequences else (n, h), (n, h), (n, h))[: len(names)]
    check_outs(op, outs, dict(zip(outs, shapes)), {**infos, "mask": mi, **drop})
    params = (cell, code, (n, t, d, h), go_backwards, return_sequences, simd, ws_floats, variant)
    outputs = dict(zip(names, shapes))
    arrays = {**arrays, "mask": mi, "dropout_mask": drop.get("dropout_mask")}
    arrays["recurrent_dropout_mask"] = drop.get("recurrent_dropout_mask")
    return descriptor(op, device, arrays, params, outputs=outputs, out_tuple=names)


def _launch_forward(desc, *given):
    """(y, h_T, c_T, cache) from the arrays in the descriptor's order (c0 only for the LSTM)."""
    cell, code, (n, t, d, h), go_backwards, return_sequences, simd, ws_floats, variant = desc.params
    op, device = desc.op, desc.device
    named = dict(zip((*desc.infos, *desc.outputs), given))  # the inputs, then any given out entries
    mask = named["mask"]
    if mask is not None:  # handed over as bytes (1 = a real step)
        mask = mask.view(np.uint8) if device == CPU else mask.view("uint8")
    y, h_t = desc.output("y", named.get("y")), desc.output("h_T", named.get("h_T"))
    c_t = desc.output("c_T", named.get("c_T")) if cell == "lstm" else None
    ws = _device.empty(op, device, (ws_floats,))
    args = (code, n, t, d, h, go_backwards, return_sequences)
    x, kernel, recurrent_kernel = named["x"], named["kernel"], named["recurrent_kernel"]
    _device.kernels(device).rnn_forward(
        *args,
        x,
        kernel,
        recurrent_kernel,
        named["bias"],
        mask,
        named["h0"],
        named.get("c0"),
        y,
        h_t,
        c_t,
        ws,
        named["dropout_mask"],
        named["recurrent_dropout_mask"],
        variant,
        simd,
        _device.launch_arg(device),
    )
    cache = RnnCache(
        op=op,
        cell=cell,
        device=device,
        x=x,
        kernel=kernel,
        recurrent_kernel=recurrent_kernel,
        has_bias=named["bias"] is not None,
        mask=mask,
        workspace=ws,
        shape=(n, t, d, h),
        go_backwards=go_backwards,
        return_sequences=return_sequences,
        simd=simd,
        variant=variant,
        dropout_mask=named["dropout_mask"],
        recurrent_dropout_mask=named["recurrent_dropout_mask"],
    )
    return y, h_t, c_t, cache


def _describe_backward(op, cell, cache, dy, dh_t, dc_t, variant=None, out=None):
    """The sequence backwards' descriptor step: ``cache`` (the forward's) is part of the call;
    ``variant`` None: the forward's (kept in the cache); ``out``: the op's tuple."""
    if not isinstance(cache, RnnCache) or cache.cell != cell:
        raise TypeError(
            f"{op}: `cache` must be the cache returned by the matching forward "
            f"({op.removesuffix('_backward')}), got {type(cache).__name__}"
            + (f" from {cache.op}" if isinstance(cache, RnnCache) else "")
            + "."
        )
    n, t, d, h = cache.shape
    device = cache.device
    variant = cache.variant if variant is None else resolve_variant(cell, variant, op)
    infos = {name: inspect(op, name, v) for name, v in (("dy", dy), ("dh_T", dh_t), ("dc_T", dc_t)) if v is not None}
    names = _BACKWARD_LSTM if cell == "lstm" else _BACKWARD
    outs = inspect_outs(op, out, names)
    got = backend(op, {**infos, **present(outs)}) if infos or present(outs) else device
    if got != device:
        raise TypeError(
            f"{op}: the gradients (`dy`, `dh_T`, `dc_T`) and `out` are on {got} but the forward ran on {device}."
        )
    if "dy" in infos:  # None: zeros (the loss does not depend on y)
        check_float32(op, "dy", infos["dy"])
        y_shape = (n, t, h) if cache.return_sequences else (n, h)
        check_shape(op, "dy", infos["dy"], y_shape, "the shape of the forward's y")
    for name in ("dh_T", "dc_T"):
        if name in infos:
            check_float32(op, name, infos[name])
            check_shape(op, name, infos[name], (n, h), "the shape of the final state")
    gh = _GATES[cell] * h
    shapes = [(n, t, d), (d, gh), (h, gh), ((2, gh) if cell == "gru" else (gh,)) if cache.has_bias else None, (n, h)]
    if cell == "lstm":
        shapes.append((n, h))
    read = {name: inspect(op, name, getattr(cache, name)) for name in ("x", "kernel", "recurrent_kernel")}
    check_outs(op, outs, dict(zip(outs, shapes)), {**infos, **read})
    return descriptor(
        op,
        device,
        {"dy": infos.get("dy"), "dh_T": infos.get("dh_T"), "dc_T": infos.get("dc_T")},
        (cache, variant),
        outputs=dict(zip(names, shapes)),
        out_tuple=names,
    )


def _launch_backward(desc, dy, dh_t, dc_t, *outs):
    (cache, variant), op, device = desc.params, desc.op, desc.device
    cell, (n, t, d, h) = cache.cell, cache.shape
    if dy is None:
        dy = _device.empty(op, device, (n, t, h) if cache.return_sequences else (n, h))
        dy[...] = 0
    e = lambda shape: _device.empty(op, device, shape)  # noqa: E731
    entries = dict(zip(desc.out_tuple, outs))  # the out=(...) entries (None: allocated)
    dx, dk, drk, dh0 = (desc.output(k, entries.get(k)) for k in ("dx", "dkernel", "drecurrent_kernel", "dh0"))
    db = desc.output("dbias", entries.get("dbias")) if cache.has_bias else None
    dc0 = desc.output("dc0", entries.get("dc0")) if cell == "lstm" else None
    code = _CELL_CODES[cell]
    dm, rdm = cache.dropout_mask, cache.recurrent_dropout_mask
    in_masks = 0 if dm is None else (1 if dm.ndim == 2 else _GATES[cell])
    scratch = e((_cpu.rnn_workspace_floats(code, n, t, d, h, True, in_masks, rdm is not None),))
    args = (code, n, t, d, h, cache.go_backwards, cache.return_sequences)
    _device.kernels(device).rnn_backward(
        *args,
        cache.x,
        cache.kernel,
        cache.recurrent_kernel,
        cache.mask,
        cache.workspace,
        dy,
        dh_t,
        dc_t,
        dx,
        dk,
        drk,
        db,
        dh0,
        dc0,
        scratch,
        dm,
        rdm,
        variant,
        cache.simd,
        _device.launch_arg(device),
    )
    return dx, dk, drk, db, dh0, dc0


def _simple_rnn(
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
    out=None,
    simd=None,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    if activation not in ("tanh", "relu"):
        raise ValueError(f"simple_rnn: `activation` must be 'tanh' or 'relu', got {activation!r}.")
    cell = f"simple_{activation}"
    return _describe_forward(
        "simple_rnn",
        cell,
        x,
        kernel,
        recurrent_kernel,
        bias,
        h0,
        None,
        mask,
        go_backwards,
        return_sequences,
        simd,
        out=out,
        dropout_mask=dropout_mask,
        recurrent_dropout_mask=recurrent_dropout_mask,
    )


def _launch_simple_rnn(desc, *arrays):
    y, h_t, _, cache = _launch_forward(desc, *arrays)
    return y, h_t, cache


@preparable(_simple_rnn, _launch_simple_rnn, out_tuple=_FORWARD["simple_rnn"])
def simple_rnn(
    x: Array,
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None = None,
    *,
    activation: str = "tanh",
    h0: Array | None = None,
    mask: Array | None = None,
    go_backwards: bool = False,
    return_sequences: bool = True,
    out: Sequence[Array | None] | None = None,
    simd: str | None = None,
    dropout_mask: Array | None = None,
    recurrent_dropout_mask: Array | None = None,
) -> tuple[Array, Array, RnnCache]:
    """Keras's SimpleRNN over a sequence: ``h_t = act(x_t kernel + h_{t-1} recurrent_kernel + bias)``.

    x (N, T, D), kernel (D, H), recurrent_kernel (H, H), bias (H,) or None, h0 (N, H) or None,
    mask (N, T) bool/uint8 or None; activation "tanh" or "relu"; dropout_mask (N, D) and
    recurrent_dropout_mask (N, H) or (N, 1, H) float32 or None: Keras's per-sequence dropout
    multipliers on x_t and on h_{t-1} (module docstring).
    Returns ``(y, h_T, cache)``: y (N, T, H) (or (N, H) without return_sequences), h_T (N, H).
    out: None or a tuple ``(y, h_T)`` of preallocated float32 arrays or None (module docstring).

    Source: Keras 3 ``keras.layers.SimpleRNN`` (Elman 1990).

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; mask not
            bool/uint8; non-bool flags.
        ValueError: x not 3-D or empty; kernel, recurrent_kernel, bias, h0, mask, dropout masks of the wrong shape;
            non-contiguous arrays; a bad ``out`` entry; activation not 'tanh' or 'relu'.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_simple_rnn, _launch_simple_rnn, locals())


def simple_rnn_backward(
    dy: Array | None, cache: RnnCache, dh_T: Array | None = None, *, out: Sequence[Array | None] | None = None
) -> tuple[Array, Array, Array, Array | None, Array]:
    """Gradients of a simple_rnn call: ``(dx, dkernel, drecurrent_kernel, dbias, dh0)``.

    dy: the shape of y (None: zeros); cache: the forward's; dh_T (N, H) or None. dbias is None
    when the forward had no bias. Shapes: dx (N, T, D), dkernel (D, H), drecurrent_kernel (H, H),
    dbias (H,), dh0 (N, H). out: None or a tuple of the five, each an array or None (allocated;
    None for dbias without a bias).

    Backpropagation through time (Werbos 1990) of simple_rnn.

    Raises:
        TypeError: ``cache`` not the matching forward's; gradients not float32 or on another device than the
            forward.
        ValueError: dy or the final-state gradients of the wrong shape; a bad ``out`` entry.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    op = "simple_rnn_backward"
    cell = cache.cell if isinstance(cache, RnnCache) and cache.cell.startswith("simple_") else "simple_tanh"
    desc = _describe_backward(op, cell, cache, dy, dh_T, None, out=out)
    dx, dk, drk, db, dh0, _ = _launch_backward(desc, dy, dh_T, None, *out_tuple(op, out, _BACKWARD))
    return dx, dk, drk, db, dh0


def _lstm(
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
    out=None,
    simd=None,
    variant=None,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    variant = resolve_variant("lstm", variant)
    args = (x, kernel, recurrent_kernel, bias, h0, c0, mask, go_backwards, return_sequences, simd, variant)
    drop = {"dropout_mask": dropout_mask, "recurrent_dropout_mask": recurrent_dropout_mask}
    return _describe_forward("lstm", "lstm", *args, out=out, **drop)


@preparable(_lstm, _launch_forward, out_tuple=_FORWARD["lstm"])
def lstm(
    x: Array,
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None = None,
    *,
    h0: Array | None = None,
    c0: Array | None = None,
    mask: Array | None = None,
    go_backwards: bool = False,
    return_sequences: bool = True,
    out: Sequence[Array | None] | None = None,
    simd: str | None = None,
    variant: str | None = None,
    dropout_mask: Array | None = None,
    recurrent_dropout_mask: Array | None = None,
) -> tuple[Array, Array, Array, RnnCache]:
    """Keras's LSTM over a sequence (sigmoid gates, tanh activations, gate order i, f, c, o):
    ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.

    x (N, T, D), kernel (D, 4H), recurrent_kernel (H, 4H), bias (4H,) or None, h0 and c0
    (N, H) or None, mask (N, T) bool/uint8 or None; dropout_mask (N, D) or (N, 4, D) and
    recurrent_dropout_mask (N, 4, H) or None: Keras's per-sequence dropout multipliers, per
    gate block i, f, c, o (module docstring). ``unit_forget_bias`` is Keras's
    initializer setting (forget-gate block of the bias starts at 1): set ``bias[H:2H] = 1``.
    Returns ``(y, h_T, c_T, cache)``: y (N, T, H) (or (N, H)), h_T and c_T (N, H).
    out: None or a tuple ``(y, h_T, c_T)`` of preallocated float32 arrays or None.
    variant: the cell kernel, "naive" or "tuned" (default: $SINAPSE_LSTM, else "tuned");
    ValueError for another name.

    Source: Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000, as
    Keras 3's ``keras.layers.LSTM``.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; mask not
            bool/uint8; non-bool flags.
        ValueError: x not 3-D or empty; kernel, recurrent_kernel, bias, h0, c0, mask, dropout masks of the
            wrong shape;
            non-contiguous arrays; a bad ``out`` entry; an unknown ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_lstm, _launch_forward, locals())


def lstm_backward(
    dy: Array | None,
    cache: RnnCache,
    dh_T: Array | None = None,
    dc_T: Array | None = None,
    *,
    out: Sequence[Array | None] | None = None,
    variant: str | None = None,
) -> tuple[Array, Array, Array, Array | None, Array, Array]:
    """Gradients of an lstm call: ``(dx, dkernel, drecurrent_kernel, dbias, dh0, dc0)``.

    dy: the shape of y (None: zeros); cache: the forward's; dh_T, dc_T (N, H) or None. Shapes:
    dx (N, T, D), dkernel (D, 4H), drecurrent_kernel (H, 4H), dbias (4H,) (None without a bias),
    dh0 and dc0 (N, H). out: None or a tuple of the six, each an array or None (allocated).
    variant: the cell kernel, "naive" or "tuned" (default: the forward's).

    Backpropagation through time of lstm (Hochreiter & Schmidhuber 1997; Keras's cell).

    Raises:
        TypeError: ``cache`` not the matching forward's; gradients not float32 or on another device than the
            forward.
        ValueError: dy or the final-state gradients of the wrong shape; a bad ``out`` entry; an unknown
            ``variant``.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    desc = _describe_backward("lstm_backward", "lstm", cache, dy, dh_T, dc_T, variant, out=out)
    return _launch_backward(desc, dy, dh_T, dc_T, *out_tuple("lstm_backward", out, _BACKWARD_LSTM))


def _gru(
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
    out=None,
    simd=None,
    dropout_mask=None,
    recurrent_dropout_mask=None,
):
    cell = "gru" if as_bool("gru", "reset_after", reset_after) else "gru_reset_before"
    args = (x, kernel, recurrent_kernel, bias, h0, None, mask, go_backwards, return_sequences, simd)
    drop = {"dropout_mask": dropout_mask, "recurrent_dropout_mask": recurrent_dropout_mask}
    return _describe_forward("gru", cell, *args, out=out, **drop)


@preparable(_gru, _launch_simple_rnn, out_tuple=_FORWARD["gru"])
def gru(
    x: Array,
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None = None,
    *,
    reset_after: bool = True,
    h0: Array | None = None,
    mask: Array | None = None,
    go_backwards: bool = False,
    return_sequences: bool = True,
    out: Sequence[Array | None] | None = None,
    simd: str | None = None,
    dropout_mask: Array | None = None,
    recurrent_dropout_mask: Array | None = None,
) -> tuple[Array, Array, RnnCache]:
    """Keras's GRU over a sequence (gate order z, r, h; ``h_t = z h_{t-1} + (1 - z) hh``).

    reset_after=True (Keras's default, PyTorch's GRU): ``hh = tanh(x W_h + b_h + r (h U_h + b_rec_h))``,
    bias (2, 3H) = (input bias, recurrent bias). reset_after=False (the original GRU):
    ``hh = tanh(x W_h + (r h) U_h + b_h)``, bias (3H,).
    x (N, T, D), kernel (D, 3H), recurrent_kernel (H, 3H), h0 (N, H) or None, mask (N, T) or None;
    dropout_mask (N, D) or (N, 3, D) and recurrent_dropout_mask (N, 3, H) or None: Keras's
    per-sequence dropout multipliers, per gate block z, r, h (module docstring).
    Returns ``(y, h_T, cache)``: y (N, T, H) (or (N, H)), h_T (N, H).
    out: None or a tuple ``(y, h_T)`` of preallocated float32 arrays or None.

    Source: Cho et al. 2014, as Keras 3's ``keras.layers.GRU``.

    Raises:
        TypeError: a non-array or non-float32 array argument, or arrays on different devices; mask not
            bool/uint8; non-bool flags.
        ValueError: x not 3-D or empty; kernel, recurrent_kernel, bias, h0, mask, dropout masks of the wrong shape;
            non-contiguous arrays; a bad ``out`` entry.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    return run(_gru, _launch_simple_rnn, locals())


def gru_backward(
    dy: Array | None, cache: RnnCache, dh_T: Array | None = None, *, out: Sequence[Array | None] | None = None
) -> tuple[Array, Array, Array, Array | None, Array]:
    """Gradients of a gru call: ``(dx, dkernel, drecurrent_kernel, dbias, dh0)``.

    dy: the shape of y (None: zeros); cache: the forward's; dh_T (N, H) or None. Shapes: dx
    (N, T, D), dkernel (D, 3H), drecurrent_kernel (H, 3H), dbias (2, 3H) or (3H,) like the
    forward's bias (None without one), dh0 (N, H). out: None or a tuple of the five, each an
    array or None (allocated).

    Backpropagation through time of gru (Cho et al. 2014; Keras's cell).

    Raises:
        TypeError: ``cache`` not the matching forward's; gradients not float32 or on another device than the
            forward.
        ValueError: dy or the final-state gradients of the wrong shape; a bad ``out`` entry.
        MemoryError: a result cannot be allocated.
        sinapse.CudaUnavailableError: CUDA arrays where CUDA cannot be used.
    """
    cell = cache.cell if isinstance(cache, RnnCache) and cache.cell.startswith("gru") else "gru"
    desc = _describe_backward("gru_backward", cell, cache, dy, dh_T, None, out=out)
    dx, dk, drk, db, dh0, _ = _launch_backward(desc, dy, dh_T, None, *out_tuple("gru_backward", out, _BACKWARD))
    return dx, dk, drk, db, dh0
