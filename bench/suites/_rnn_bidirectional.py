"""The rnn suite's Bidirectional LSTM section: keras.layers.Bidirectional(LSTM(H,
return_sequences=True)) (merge "concat") as sinapse's layer vs torch.nn.LSTM(bidirectional=True,
batch_first=True), forward (inference) and forward+backward (BPTT with the input's gradient).

The issue's shape, 64x50x128 -> 256: 128 units each way (the concatenated output has 256
features, as torch's LSTM(128, bidirectional=True)); a second shape runs 256 units each way.
Peer "two kernels" runs only the layer's two sequence-op calls (ops.lstm forward and
go_backwards, and their backwards): the gap to the layer is the wrapper's own work (the
flip of the backward output, the concatenation, dx = dx_f + dx_b).
"""

from __future__ import annotations

import sys

import numpy as np

from sinapse import layers, ops

from .. import harness

# (N, T, D, H per direction, pass)
ROWS = [
    (64, 50, 128, 128, "forward"),
    (64, 50, 128, 128, "forward+backward"),
    (64, 50, 128, 256, "forward"),
    (64, 50, 128, 256, "forward+backward"),
]


def _sinapse_fns(x, dy, h):
    layer = layers.Bidirectional(layers.LSTM(h, return_sequences=True))
    layer.ensure_built(x.shape[1:])
    f, b = layer.forward_layer, layer.backward_layer
    dy_half = np.ascontiguousarray(dy[..., :h])

    def fwd():
        return layer.forward(x)

    def both():
        layer.forward(x, training=True)
        layer.backward(dy)

    def kernels_fwd():
        for lay, back in ((f, False), (b, True)):
            ops.lstm(
                x,
                lay.kernel.value,
                lay.recurrent_kernel.value,
                lay.bias.value,
                go_backwards=back,
                return_sequences=True,
            )

    def kernels_both():
        for lay, back in ((f, False), (b, True)):
            cache = ops.lstm(
                x,
                lay.kernel.value,
                lay.recurrent_kernel.value,
                lay.bias.value,
                go_backwards=back,
                return_sequences=True,
            )[-1]
            ops.lstm_backward(dy_half, cache)

    return layer, (fwd, kernels_fwd), (both, kernels_both)


def _torch_fns(torch, layer, x, dy):
    from sinapse.ops import rnn_convert

    h = layer.forward_layer.units
    module = torch.nn.LSTM(x.shape[-1], h, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for inner, suffix in ((layer.forward_layer, ""), (layer.backward_layer, "_reverse")):
            k, rk, b = (w.numpy() for w in inner.weights)
            for name, value in rnn_convert.keras_to_torch("lstm", k, rk, b).items():
                getattr(module, name + suffix).copy_(torch.from_numpy(value))
    tx = torch.from_numpy(x).requires_grad_()
    tdy = torch.from_numpy(dy)

    def fwd():
        with torch.no_grad():
            return module(tx)

    def both():
        module(tx)[0].backward(tdy)

    return fwd, both


def check_against_torch(torch, layer, x) -> float:
    """Max |sinapse - torch| of the forward outputs (the two compute one function)."""
    fwd, _ = _torch_fns(torch, layer, x, np.zeros((*x.shape[:2], 2 * layer.forward_layer.units), np.float32))
    return float(np.abs(layer.forward(x) - fwd()[0].numpy()).max())


def rows(torch, opts) -> list:
    rng = np.random.default_rng(1)
    out = []
    for n, t, d, h, kind in ROWS:
        x = rng.standard_normal((n, t, d), dtype=np.float32)
        dy = rng.standard_normal((n, t, 2 * h), dtype=np.float32)
        layer, fwd, both = _sinapse_fns(x, dy, h)
        mine = fwd if kind == "forward" else both
        fns = {"sinapse": mine[0], "sinapse two kernels": mine[1]}
        extra = {"op": "bidirectional_lstm", "pass": kind}
        if torch is not None:
            tf, tb = _torch_fns(torch, layer, x, dy)
            fns["torch"] = tf if kind == "forward" else tb
            extra["max_abs_diff_vs_torch"] = check_against_torch(torch, layer, x)
        print(f"  Bidirectional LSTM H{h}x2 {kind} ...", file=sys.stderr)
        flops = 2 * 2.0 * n * t * (d + h) * 4 * h * (3 if kind == "forward+backward" else 1)
        row = harness.Row(f"BiLSTM N{n} T{t} D{d} H{h}x2 -> {2 * h}", flops, extra=extra)
        row.timings = harness.time_side_by_side(fns, **opts)
        out.append(row)
    return out


def markdown(rows_: list) -> str:
    table = []
    for r in rows_:
        s, k = r.timings["sinapse"].median_s, r.timings["sinapse two kernels"].median_s
        tt = r.timings["torch"].median_s if "torch" in r.timings else None
        table.append(
            [
                r.label,
                r.extra["pass"],
                f"{s * 1e3:.2f}",
                f"{k * 1e3:.2f}",
                f"{(s - k) / s * 100:.0f}%",
                f"{tt * 1e3:.2f}" if tt else "-",
                f"{s / tt:.2f}x" if tt else "-",
            ]
        )
    return (
        "\n\n## Bidirectional LSTM\n\n"
        'sinapse\'s `Bidirectional(LSTM(H, return_sequences=True))` (merge "concat") vs '
        "`torch.nn.LSTM(D, H, bidirectional=True, batch_first=True)` with the same weights (their forward "
        "outputs agree to float32 rounding, `max_abs_diff_vs_torch` in rnn.json). The issue's row is "
        "64x50x128 -> 256: H = 128 units each way, 256 output features. two kernels ms = the layer's two "
        "sequence-op calls alone; wrapper share = (layer - two kernels) / layer: the flip of the backward "
        "output, the concatenation and dx = dx_f + dx_b.\n\n"
        + harness.markdown_table(
            ["layer", "pass", "sinapse ms", "two kernels ms", "wrapper share", "torch ms", "sinapse / torch"], table
        )
    )
