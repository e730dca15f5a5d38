"""The one aliasing rule (ops/_checks.check_aliasing), for every op with a writable argument,
on the CPU and on the CUDA kernels in the simulator.

Cases are built automatically from one table: for every argument an op writes (``out``,
running statistics, optimizer parameters and slots) and every other array argument, the
two are made views of one buffer, either starting at the same byte ("exact") or one
element apart ("partial"). Every such case must raise a ValueError naming the op and both
arguments — except the exact in-place pairs the op documents as allowed, which must give
the same result as separate arrays (so the allowance is verified against the kernel).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS
from sinapse import ops

F = np.float32


def _f(*shape):
    return ("f", shape)


def _spec(call, arrays, written, allow=()):
    return dict(call=call, arrays=arrays, written=written, allow=set(allow))


# op -> how to call it with a dict of arrays, the arrays (kind, shape), which it writes and
# the exact (written, other) aliases it documents as supported in place.
SPECS = {
    "gemm": _spec(
        lambda a: ops.gemm(a["a"], a["b"], a["c"], beta=0.5, bias=a["bias"], out=a["out"]),
        dict(a=_f(4, 3), b=_f(3, 5), c=_f(4, 5), bias=_f(5), out=_f(4, 5)),
        ["out"],
        [("out", "c")],
    ),
    "axpy": _spec(
        lambda a: ops.axpy(0.5, a["x"], a["y"], out=a["out"]),
        dict(x=_f(6), y=_f(6), out=_f(6)),
        ["out"],
        [("out", "y")],
    ),
    "activation": _spec(
        lambda a: ops.activation(a["x"], "elu", out=a["out"]), dict(x=_f(3, 8), out=_f(3, 8)), ["out"], [("out", "x")]
    ),
    "activation_backward": _spec(
        lambda a: ops.activation_backward(a["dy"], a["x"], "gelu", out=a["out"]),
        dict(dy=_f(3, 8), x=_f(3, 8), out=_f(3, 8)),
        ["out"],
        [("out", "dy"), ("out", "x")],
    ),
    "softmax": _spec(
        lambda a: ops.softmax(a["x"], out=a["out"]), dict(x=_f(3, 7), out=_f(3, 7)), ["out"], [("out", "x")]
    ),
    "log_softmax": _spec(
        lambda a: ops.log_softmax(a["x"], out=a["out"]), dict(x=_f(3, 7), out=_f(3, 7)), ["out"], [("out", "x")]
    ),
    "softmax_backward": _spec(
        lambda a: ops.softmax_backward(a["dy"], a["y"], out=a["out"]),
        dict(dy=_f(3, 7), y=_f(3, 7), out=_f(3, 7)),
        ["out"],
        [("out", "dy")],
    ),
    "log_softmax_backward": _spec(
        lambda a: ops.log_softmax_backward(a["dy"], a["y"], out=a["out"]),
        dict(dy=_f(3, 7), y=_f(3, 7), out=_f(3, 7)),
        ["out"],
        [("out", "dy")],
    ),
    "merge": _spec(
        lambda a: ops.merge([a["inputs[0]"], a["inputs[1]"]], "multiply", out=a["out"]),
        {"inputs[0]": _f(3, 4), "inputs[1]": _f(3, 4), "out": _f(3, 4)},
        ["out"],
        [("out", "inputs[0]")],
    ),
    "merge_backward": _spec(
        lambda a: ops.merge_backward(
            a["dy"], [a["inputs[0]"], a["inputs[1]"]], "multiply", out=(a["out[0]"], a["out[1]"])
        ),
        {"dy": _f(3, 4), "inputs[0]": _f(3, 4), "inputs[1]": _f(3, 4), "out[0]": _f(3, 4), "out[1]": _f(3, 4)},
        ["out[0]", "out[1]"],
    ),
    "concatenate": _spec(
        lambda a: ops.concatenate([a["inputs[0]"], a["inputs[1]"]], axis=1, out=a["out"]),
        {"inputs[0]": _f(3, 2), "inputs[1]": _f(3, 4), "out": _f(3, 6)},
        ["out"],
    ),
    "concatenate_backward": _spec(
        lambda a: ops.concatenate_backward(a["dy"], [(3, 2), (3, 4)], axis=1, out=(a["out[0]"], a["out[1]"])),
        {"dy": _f(3, 6), "out[0]": _f(3, 2), "out[1]": _f(3, 4)},
        ["out[0]", "out[1]"],
    ),
    "bias_add": _spec(
        lambda a: ops.bias_add(a["x"], a["bias"], out=a["out"]),
        dict(x=_f(3, 4), bias=_f(4), out=_f(3, 4)),
        ["out"],
        [("out", "x")],
    ),
    "bias_backward": _spec(lambda a: ops.bias_backward(a["dy"], out=a["out"]), dict(dy=_f(3, 4), out=_f(4)), ["out"]),
    "dropout": _spec(
        lambda a: ops.dropout(a["x"], 0.5, 7, out=a["out"]), dict(x=_f(4, 6), out=_f(4, 6)), ["out"], [("out", "x")]
    ),
    "dropout_backward": _spec(
        lambda a: ops.dropout_backward(a["dy"], 0.5, 7, out=a["out"]),
        dict(dy=_f(4, 6), out=_f(4, 6)),
        ["out"],
        [("out", "dy")],
    ),
    "batch_norm": _spec(
        lambda a: ops.batch_norm(
            a["x"],
            a["gamma"],
            a["beta"],
            a["running_mean"],
            a["running_var"],
            training=True,
            out=(a["out[0]"], a["out[1]"], None),
        ),
        dict(
            x=_f(6, 3),
            gamma=_f(3),
            beta=_f(3),
            running_mean=_f(3),
            running_var=_f(3),
            **{"out[0]": _f(6, 3), "out[1]": _f(3)},
        ),
        ["out[0]", "out[1]", "running_mean", "running_var"],
        [("out[0]", "x")],
    ),
    "batch_norm(inference)": _spec(
        lambda a: ops.batch_norm(
            a["x"],
            a["gamma"],
            a["beta"],
            a["running_mean"],
            a["running_var"],
            training=False,
            out=(a["out[0]"], None, a["out[2]"]),
        ),
        dict(
            x=_f(6, 3),
            gamma=_f(3),
            beta=_f(3),
            running_mean=_f(3),
            running_var=_f(3),
            **{"out[0]": _f(6, 3), "out[2]": _f(3)},
        ),
        ["out[0]", "out[2]"],
        [("out[0]", "x")],
    ),
    "batch_norm_backward": _spec(
        lambda a: ops.batch_norm_backward(
            a["dy"], a["x"], a["gamma"], a["mean"], a["invstd"], training=True, out=(a["out[0]"], None, a["out[2]"])
        ),
        dict(dy=_f(6, 3), x=_f(6, 3), gamma=_f(3), mean=_f(3), invstd=_f(3), **{"out[0]": _f(6, 3), "out[2]": _f(3)}),
        ["out[0]", "out[2]"],
        [("out[0]", "dy")],
    ),
    "conv2d_backward": _spec(
        lambda a: ops.conv2d_backward(a["dy"], a["x"], a["w"], out=(a["out[0]"], a["out[1]"], a["out[2]"])),
        dict(
            dy=_f(2, 3, 3, 4),
            x=_f(2, 5, 5, 3),
            w=_f(3, 3, 3, 4),
            **{"out[0]": _f(2, 5, 5, 3), "out[1]": _f(3, 3, 3, 4), "out[2]": _f(4)},
        ),
        ["out[0]", "out[1]", "out[2]"],
    ),
    "conv2d": _spec(
        lambda a: ops.conv2d(a["x"], a["w"], a["bias"], out=a["out"]),
        dict(x=_f(1, 5, 5, 2), w=_f(3, 3, 2, 4), bias=_f(4), out=_f(1, 3, 3, 4)),
        ["out"],
    ),
    "depthwise_conv2d": _spec(
        lambda a: ops.depthwise_conv2d(a["x"], a["w"], a["bias"], out=a["out"]),
        dict(x=_f(1, 5, 5, 2), w=_f(3, 3, 2, 2), bias=_f(4), out=_f(1, 3, 3, 4)),
        ["out"],
    ),
    "depthwise_conv2d_backward": _spec(
        lambda a: ops.depthwise_conv2d_backward(a["dy"], a["x"], a["w"], out=(a["out[0]"], a["out[1]"], a["out[2]"])),
        dict(
            dy=_f(2, 3, 3, 6),
            x=_f(2, 5, 5, 3),
            w=_f(3, 3, 3, 2),
            **{"out[0]": _f(2, 5, 5, 3), "out[1]": _f(3, 3, 3, 2), "out[2]": _f(6)},
        ),
        ["out[0]", "out[1]", "out[2]"],
    ),
    "max_pool2d": _spec(
        lambda a: ops.max_pool2d(a["x"], 2, out=a["out"]), dict(x=_f(1, 4, 4, 2), out=_f(1, 2, 2, 2)), ["out"]
    ),
    "avg_pool2d": _spec(
        lambda a: ops.avg_pool2d(a["x"], 2, out=a["out"]), dict(x=_f(1, 4, 4, 2), out=_f(1, 2, 2, 2)), ["out"]
    ),
    "max_pool2d_backward": _spec(
        lambda a: ops.max_pool2d_backward(a["dy"], a["x"], 2, out=a["out"]),
        dict(dy=_f(1, 2, 2, 2), x=_f(1, 4, 4, 2), out=_f(1, 4, 4, 2)),
        ["out"],
    ),
    "avg_pool2d_backward": _spec(
        lambda a: ops.avg_pool2d_backward(a["dy"], a["x"], 2, out=a["out"]),
        dict(dy=_f(1, 2, 2, 2), x=_f(1, 4, 4, 2), out=_f(1, 4, 4, 2)),
        ["out"],
    ),
    "embedding": _spec(
        lambda a: ops.embedding(a["ids"], a["table"], out=a["out"]),
        dict(ids=("ids", (16,)), table=_f(10, 4), out=_f(16, 4)),
        ["out"],
    ),
    "embedding_backward": _spec(
        lambda a: ops.embedding_backward(a["dy"], a["ids"], 10, out=a["out"]),
        dict(ids=("ids", (16,)), dy=_f(16, 4), out=_f(10, 4)),
        ["out"],
    ),
    "loss": _spec(
        lambda a: ops.loss(
            a["y_true"], a["y_pred"], "huber", sample_weight=a["sample_weight"], grad=True, grad_out=a["grad_out"]
        ),
        dict(y_true=_f(4, 3), y_pred=_f(4, 3), sample_weight=_f(4), grad_out=_f(4, 3)),
        ["grad_out"],
    ),
    "sgd_update": _spec(
        lambda a: ops.sgd_update(a["param"], a["grad"], a["velocity"], learning_rate=0.1, momentum=0.9),
        dict(param=_f(8), grad=_f(8), velocity=_f(8)),
        ["param", "velocity"],
    ),
    "adagrad_update": _spec(
        lambda a: ops.adagrad_update(a["param"], a["grad"], a["accumulator"], learning_rate=0.1),
        dict(param=_f(8), grad=_f(8), accumulator=_f(8)),
        ["param", "accumulator"],
    ),
    "adadelta_update": _spec(
        lambda a: ops.adadelta_update(
            a["param"], a["grad"], a["accumulated_grad"], a["accumulated_delta"], learning_rate=0.1
        ),
        dict(param=_f(8), grad=_f(8), accumulated_grad=_f(8), accumulated_delta=_f(8)),
        ["param", "accumulated_grad", "accumulated_delta"],
    ),
    "rmsprop_update": _spec(
        lambda a: ops.rmsprop_update(
            a["param"],
            a["grad"],
            a["velocity"],
            a["momentum_buffer"],
            a["average_grad"],
            learning_rate=0.1,
            momentum=0.5,
            centered=True,
        ),
        dict(param=_f(8), grad=_f(8), velocity=_f(8), momentum_buffer=_f(8), average_grad=_f(8)),
        ["param", "velocity", "momentum_buffer", "average_grad"],
    ),
    "adam_update": _spec(
        lambda a: ops.adam_update(
            a["param"], a["grad"], a["m"], a["v"], a["vhat"], learning_rate=0.1, step=3, amsgrad=True
        ),
        dict(param=_f(8), grad=_f(8), m=_f(8), v=_f(8), vhat=_f(8)),
        ["param", "m", "v", "vhat"],
    ),
    "clip_by_value": _spec(
        lambda a: ops.clip_by_value(a["x"], 0.5, out=a["out"]), dict(x=_f(9), out=_f(9)), ["out"], [("out", "x")]
    ),
    "clip_by_norm": _spec(
        lambda a: ops.clip_by_norm(a["x"], 0.5, out=a["out"]), dict(x=_f(9), out=_f(9)), ["out"], [("out", "x")]
    ),
    "clip_by_global_norm": _spec(
        lambda a: ops.clip_by_global_norm([a["arrays[0]"], a["arrays[1]"]], 0.5, out=[a["out[0]"], a["out[1]"]]),
        {"arrays[0]": _f(9), "arrays[1]": _f(9), "out[0]": _f(9), "out[1]": _f(9)},
        ["out[0]", "out[1]"],
        [("out[0]", "arrays[0]"), ("out[1]", "arrays[1]")],
    ),
    "conv2d_transpose": _spec(
        lambda a: ops.conv2d_transpose(a["x"], a["w"], a["bias"], strides=2, padding="same", out=a["out"]),
        dict(x=_f(1, 3, 3, 2), w=_f(3, 3, 4, 2), bias=_f(4), out=_f(1, 6, 6, 4)),
        ["out"],
    ),
    "conv2d_transpose_backward": _spec(
        lambda a: ops.conv2d_transpose_backward(
            a["dy"], a["x"], a["w"], strides=2, padding="same", out=(a["out[0]"], a["out[1]"], a["out[2]"])
        ),
        dict(
            dy=_f(2, 6, 6, 4),
            x=_f(2, 3, 3, 3),
            w=_f(3, 3, 4, 3),
            **{"out[0]": _f(2, 3, 3, 3), "out[1]": _f(3, 3, 4, 3), "out[2]": _f(4)},
        ),
        ["out[0]", "out[1]", "out[2]"],
    ),
    "prelu": _spec(
        lambda a: ops.prelu(a["x"], a["alpha"], out=a["out"]),
        dict(x=_f(3, 4, 2), alpha=_f(1, 2), out=_f(3, 4, 2)),
        ["out"],
        [("out", "x")],
    ),
    "prelu_backward": _spec(
        lambda a: ops.prelu_backward(a["dy"], a["x"], a["alpha"], out=(a["out[0]"], a["out[1]"])),
        dict(dy=_f(3, 4, 2), x=_f(3, 4, 2), alpha=_f(1, 2), **{"out[0]": _f(3, 4, 2), "out[1]": _f(1, 2)}),
        ["out[0]", "out[1]"],
        [("out[0]", "dy")],
    ),
    "spatial_dropout": _spec(
        lambda a: ops.spatial_dropout(a["x"], 0.5, 7, out=a["out"]),
        dict(x=_f(4, 3, 6), out=_f(4, 3, 6)),
        ["out"],
        [("out", "x")],
    ),
    "spatial_dropout_backward": _spec(
        lambda a: ops.spatial_dropout_backward(a["dy"], 0.5, 7, out=a["out"]),
        dict(dy=_f(4, 3, 6), out=_f(4, 3, 6)),
        ["out"],
        [("out", "dy")],
    ),
    "gaussian_noise": _spec(
        lambda a: ops.gaussian_noise(a["x"], 0.5, 7, out=a["out"]),
        dict(x=_f(4, 6), out=_f(4, 6)),
        ["out"],
        [("out", "x")],
    ),
    # the augment family (flags: bool arrays, 8 of them so that a 4-byte offset still overlaps)
    "affine_transform": _spec(
        lambda a: ops.affine_transform(a["images"], a["transforms"], out=a["out"]),
        dict(images=_f(2, 4, 5, 3), transforms=_f(2, 8), out=_f(2, 4, 5, 3)),
        ["out"],
    ),
    "affine_transform_backward": _spec(
        lambda a: ops.affine_transform_backward(a["dy"], a["transforms"], (2, 4, 5, 3), out=a["out"]),
        dict(dy=_f(2, 4, 5, 3), transforms=_f(2, 8), out=_f(2, 4, 5, 3)),
        ["out"],
    ),
    "flip": _spec(
        lambda a: ops.flip(a["images"], a["horizontal_flags"], a["vertical_flags"], out=a["out"]),
        dict(
            images=_f(8, 2, 3, 1), horizontal_flags=("flags", (8,)), vertical_flags=("flags", (8,)), out=_f(8, 2, 3, 1)
        ),
        ["out"],
    ),
    "flip_backward": _spec(
        lambda a: ops.flip_backward(a["dy"], a["horizontal_flags"], a["vertical_flags"], out=a["out"]),
        dict(dy=_f(8, 2, 3, 1), horizontal_flags=("flags", (8,)), vertical_flags=("flags", (8,)), out=_f(8, 2, 3, 1)),
        ["out"],
    ),
    "adjust_contrast": _spec(
        lambda a: ops.adjust_contrast(a["images"], a["factors"], out=a["out"]),
        dict(images=_f(2, 3, 4, 2), factors=_f(2), out=_f(2, 3, 4, 2)),
        ["out"],
        [("out", "images")],
    ),
    "adjust_contrast_backward": _spec(
        lambda a: ops.adjust_contrast_backward(a["dy"], a["images"], a["factors"], out=a["out"]),
        dict(dy=_f(2, 3, 4, 2), images=_f(2, 3, 4, 2), factors=_f(2), out=_f(2, 3, 4, 2)),
        ["out"],
    ),
    "adjust_brightness": _spec(
        lambda a: ops.adjust_brightness(a["images"], a["deltas"], out=a["out"]),
        dict(images=_f(2, 3, 4, 2), deltas=_f(2), out=_f(2, 3, 4, 2)),
        ["out"],
        [("out", "images")],
    ),
    "adjust_brightness_backward": _spec(
        lambda a: ops.adjust_brightness_backward(a["dy"], a["images"], a["deltas"], out=a["out"]),
        dict(dy=_f(2, 3, 4, 2), images=_f(2, 3, 4, 2), deltas=_f(2), out=_f(2, 3, 4, 2)),
        ["out"],
    ),
}


def _rnn_specs(op, gates):
    """The sequence op and its backward: out=(...) entries against the inputs, the forward's
    ones too for the backward (its cache holds them)."""
    n, t, d, h = 2, 3, 4, 5
    arrays = dict(x=_f(n, t, d), kernel=_f(d, gates * h), recurrent_kernel=_f(h, gates * h))

    def forward(a, **kw):
        return getattr(ops, op)(a["x"], a["kernel"], a["recurrent_kernel"], **kw)

    rest = (None,) * (6 if op == "lstm" else 5)  # the backward's entries, out[0] and out[1] given
    return {
        op: _spec(
            lambda a: forward(a, out=(a["out[0]"], a["out[1]"], *(None,) * (op == "lstm")))[:-1],
            dict(arrays, **{"out[0]": _f(n, t, h), "out[1]": _f(n, h)}),
            ["out[0]", "out[1]"],
        ),
        f"{op}_backward": _spec(
            lambda a: getattr(ops, f"{op}_backward")(
                a["dy"], forward(a)[-1], out=(a["out[0]"], a["out[1]"], *rest[2:])
            ),
            dict(arrays, dy=_f(n, t, h), **{"out[0]": _f(n, t, d), "out[1]": _f(d, gates * h)}),
            ["out[0]", "out[1]"],
        ),
    }


for _op, _gates in (("simple_rnn", 1), ("lstm", 4), ("gru", 3)):
    SPECS.update(_rnn_specs(_op, _gates))
SPECS.update(
    resize=_spec(
        lambda a: ops.resize(a["x"], (5, 3), out=a["out"]), dict(x=_f(1, 4, 4, 2), out=_f(1, 5, 3, 2)), ["out"]
    ),
    resize_backward=_spec(
        lambda a: ops.resize_backward(a["dy"], (4, 4), interpolation="nearest", out=a["out"]),
        dict(dy=_f(1, 5, 3, 2), out=_f(1, 4, 4, 2)),
        ["out"],
    ),
    crop=_spec(
        lambda a: ops.crop(a["x"], 1, 0, 2, 3, out=a["out"]), dict(x=_f(1, 4, 4, 2), out=_f(1, 2, 3, 2)), ["out"]
    ),
    crop_backward=_spec(
        lambda a: ops.crop_backward(a["dy"], (4, 4), 1, 0, out=a["out"]),
        dict(dy=_f(1, 2, 3, 2), out=_f(1, 4, 4, 2)),
        ["out"],
    ),
)
SPECS.update(
    layer_norm=_spec(
        lambda a: ops.layer_norm(a["x"], a["gamma"], a["beta"], out=(a["out[0]"], a["out[1]"], a["out[2]"])),
        dict(x=_f(4, 6), gamma=_f(6), beta=_f(6), **{"out[0]": _f(4, 6), "out[1]": _f(4), "out[2]": _f(4)}),
        ["out[0]", "out[1]", "out[2]"],
        [("out[0]", "x")],
    ),
    layer_norm_backward=_spec(
        lambda a: ops.layer_norm_backward(
            a["dy"], a["x"], a["gamma"], a["mean"], a["inv_std"], out=(a["out[0]"], a["out[1]"], a["out[2]"])
        ),
        dict(
            dy=_f(4, 6),
            x=_f(4, 6),
            gamma=_f(6),
            mean=_f(4),
            inv_std=_f(4),
            **{"out[0]": _f(4, 6), "out[1]": _f(6), "out[2]": _f(6)},
        ),
        ["out[0]", "out[1]", "out[2]"],
        [("out[0]", "dy")],
    ),
    group_norm=_spec(
        lambda a: ops.group_norm(a["x"], a["gamma"], a["beta"], groups=2, out=(a["out[0]"], None, a["out[2]"])),
        dict(x=_f(2, 3, 4), gamma=_f(4), beta=_f(4), **{"out[0]": _f(2, 3, 4), "out[2]": _f(2, 2)}),
        ["out[0]", "out[2]"],
        [("out[0]", "x")],
    ),
    group_norm_backward=_spec(
        lambda a: ops.group_norm_backward(
            a["dy"], a["x"], a["gamma"], a["mean"], a["inv_std"], groups=2, out=(a["out[0]"], a["out[1]"], None)
        ),
        dict(
            dy=_f(2, 3, 4),
            x=_f(2, 3, 4),
            gamma=_f(4),
            mean=_f(2, 2),
            inv_std=_f(2, 2),
            **{"out[0]": _f(2, 3, 4), "out[1]": _f(4)},
        ),
        ["out[0]", "out[1]"],
        [("out[0]", "dy")],
    ),
)


def _values(rng, kind, shape):
    if kind == "ids":
        return rng.integers(0, 10, size=shape).astype(np.int32)
    if kind == "flags":
        return rng.random(shape) < 0.5
    return (np.abs(rng.standard_normal(shape)) + 0.5).astype(F)  # positive: valid variances too


def _cases():
    for op, spec in SPECS.items():
        for w in spec["written"]:
            for other in spec["arrays"]:
                if other != w:
                    for how in ("exact", "partial"):
                        yield op, w, other, how


def _simulating(backend):
    # Unchecked simulation: checked mode copies every array into its own guarded buffer,
    # which would hide the very aliasing under test.
    return sinapse.cuda.simulate() if backend == "cuda_sim" else contextlib.nullcontext()


def _aliased(values, w, other, how):
    """Copies of ``values`` in which ``w`` and ``other`` are views of one buffer."""
    arrays = {k: v.copy() for k, v in values.items()}
    offset = 0 if how == "exact" else 4  # bytes: one float32 / int32 element
    nbytes = max(values[w].nbytes + offset, values[other].nbytes) + 64
    buf = np.zeros(nbytes // 4 + 1, F).view(np.uint8)
    arrays[other] = buf[: values[other].nbytes].view(values[other].dtype).reshape(values[other].shape)
    arrays[w] = buf[offset : offset + values[w].nbytes].view(values[w].dtype).reshape(values[w].shape)
    arrays[other][...] = values[other]  # the input's values (the written one starts as them where shared)
    if how == "exact" and arrays[w].shape == arrays[other].shape and arrays[w].dtype == arrays[other].dtype:
        assert arrays[w].__array_interface__["data"][0] == arrays[other].__array_interface__["data"][0]
    return arrays


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _flat(r)]
    return [np.asarray(result)] if result is not None else []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op,w,other,how", list(_cases()))
def test_aliasing_rule(rng, backend, op, w, other, how):
    spec = SPECS[op]
    values = {name: _values(rng, *kind) for name, kind in spec["arrays"].items()}
    arrays = _aliased(values, w, other, how)
    allowed = (w, other) in spec["allow"] and how == "exact" and values[w].shape == values[other].shape
    with _simulating(backend):
        if not allowed:
            with pytest.raises(ValueError) as err:
                spec["call"](arrays)
            msg = str(err.value)
            name = op.split("(")[0]
            assert msg.startswith(f"{name}: "), msg
            assert f"`{w}`" in msg and f"`{other}`" in msg, msg
            assert "share memory" in msg or "overlaps input" in msg, msg
            return
        # Allowed in place: the same result as with separate arrays.
        separate = {k: v.copy() for k, v in values.items()}
        separate[w] = values[other].copy()
        want = _flat(spec["call"](separate))
        got = _flat(spec["call"](arrays))
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7, err_msg=f"{op} with `{w}` = `{other}` in place")
    np.testing.assert_allclose(arrays[w], separate[w], rtol=1e-6, atol=1e-7)


def test_every_op_with_an_out_or_state_argument_is_in_the_table():
    import inspect as pyinspect

    writers = {"out", "grad_out", "param", "running_mean"}
    missing = [
        name
        for name in ops.__all__
        if callable(getattr(ops, name))
        and writers & set(pyinspect.signature(getattr(ops, name)).parameters)
        and name not in SPECS
    ]
    assert not missing, f"ops with a written argument but no aliasing cases: {missing}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_only_arguments_may_share_memory(rng, backend):
    """Only written arguments are constrained: in inference batch_norm reads the running
    statistics, so one array may serve as both (and gamma as beta)."""
    x = rng.standard_normal((5, 3)).astype(F)
    stats = np.full(3, 0.5, F)
    with _simulating(backend):
        y, _, _ = ops.batch_norm(x, stats, stats, stats, stats, training=False)
        want, _, _ = ops.batch_norm(x, stats.copy(), stats.copy(), stats.copy(), stats.copy(), training=False)
        np.testing.assert_array_equal(y, want)
        h0 = rng.standard_normal((2, 4)).astype(F)
        xs = np.concatenate([h0.ravel(), rng.standard_normal(2 * 3 * 4).astype(F)])
        k, r = rng.standard_normal((4, 4)).astype(F), rng.standard_normal((4, 4)).astype(F)
        y1 = ops.simple_rnn(xs[8:].reshape(2, 3, 4), k, r, h0=xs[:8].reshape(2, 4))[0]
        y2 = ops.simple_rnn(xs[8:].reshape(2, 3, 4).copy(), k, r, h0=h0.copy())[0]
        np.testing.assert_allclose(y1, y2, rtol=1e-6)


def test_issue_examples():
    """Issue 11: embedding with out in ids' buffer segfaulted; batch_norm with one array as
    running_mean and running_var (or gamma and running_mean) gave wrong statistics."""
    ids = np.zeros(8, np.int64)
    table = np.ones((10, 2), F)
    with pytest.raises(ValueError, match=r"^embedding: `out` overlaps input `ids`"):
        ops.embedding(ids, table, out=ids.view(F).reshape(8, 2))
    x, g = np.ones((4, 3), F), np.ones(3, F)
    with pytest.raises(ValueError, match=r"^batch_norm: `running_mean` and `running_var` share memory"):
        stats = np.ones(3, F)
        ops.batch_norm(x, g, g.copy(), stats, stats, training=True)
    with pytest.raises(ValueError, match=r"^batch_norm: `running_mean` overlaps input `gamma`"):
        ops.batch_norm(x, g, g.copy(), g, np.ones(3, F), training=True)
