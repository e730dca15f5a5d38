"""One hypothesis strategy per public op of sinapse.ops: a *valid* call with small random sizes.

A call is JSON: {"op": name, "kw": {argument: value}} where an array is {"$a": [shape, dtype,
fill]} (built by worker.py), a forward call whose result feeds a backward op is
{"$call": [op, kw, index]}. attacks.py then breaks one thing about the call. Each spec also
names its int arguments (for the huge-int attack) and its written arguments (for aliasing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st


def arr(shape, dtype="float32", fill="normal"):
    return {"$a": [list(shape), dtype, fill]}


def dim(lo=1, hi=4):
    """Small sizes, 0 about one time in eight when lo == 0 (zero sizes are an attack class)."""
    return st.integers(lo, hi) if lo else st.integers(0, 7).map(lambda v: 0 if v == 0 else (v + 1) // 2)


@dataclass(frozen=True)
class Spec:
    build: object  # strategy of kw dicts
    ints: tuple = ()  # int arguments: the huge-int attack targets these
    written: tuple = ()  # arguments the op writes: the aliasing attack targets these
    float_args: tuple = field(default=())  # float scalars (NaN/Inf scalar attack)


SPECS: dict[str, Spec] = {}


def spec(name, ints=(), written=(), floats=()):
    def register(fn):
        SPECS[name] = Spec(st.composite(fn)(), tuple(ints), tuple(written), tuple(floats))
        return fn

    return register


ACTS = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "gelu_tanh",
    "hard_sigmoid",
    "softplus",
    "silu",
    "swish",
    "softsign",
    "exponential",
    "relu6",
]


@spec("gemm", written=("out",), floats=("alpha", "beta"))
def _gemm(draw):
    m, k, n = draw(dim(0)), draw(dim(0)), draw(dim(0))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    kw = {
        "a": arr((k, m) if ta else (m, k)),
        "b": arr((n, k) if tb else (k, n)),
        "trans_a": ta,
        "trans_b": tb,
        "alpha": draw(st.sampled_from([1.0, 0.5, -2.0])),
    }
    if draw(st.booleans()):
        kw.update(c=arr((m, n)), beta=draw(st.sampled_from([0.0, 1.0, 0.5])))
    if draw(st.booleans()):
        kw["bias"] = arr((n,))
    kw["activation"] = draw(st.sampled_from([None, "relu", "sigmoid", "tanh", "linear"]))
    if draw(st.booleans()):
        kw["out"] = arr((m, n), fill="zeros")
    kw["variant"] = draw(st.sampled_from([None, "naive", "blocked", "tuned"]))
    return kw


def _shape(draw, lo_rank=1, hi_rank=3):
    return [draw(dim(0)) for _ in range(draw(st.integers(lo_rank, hi_rank)))]


@spec("axpy", written=("out", "y"), floats=("alpha",))
def _axpy(draw):
    s = _shape(draw)
    kw = {"alpha": draw(st.sampled_from([0.0, 1.0, -0.5, 3.0])), "x": arr(s), "y": arr(s)}
    if draw(st.booleans()):
        kw["out"] = arr(s, fill="zeros")
    return kw


@spec("activation", written=("out",), floats=("alpha",))
def _activation(draw):
    s, name = _shape(draw), draw(st.sampled_from(ACTS))
    kw = {"x": arr(s), "name": name}
    if name in ("leaky_relu", "elu") and draw(st.booleans()):
        kw["alpha"] = draw(st.sampled_from([0.1, 1.0, 2.0]))
    if draw(st.booleans()):
        kw["out"] = arr(s, fill="zeros")
    return kw


@spec("activation_backward", written=("out",), floats=("alpha",))
def _activation_backward(draw):
    kw = _activation(draw)
    kw["dy"] = arr(kw["x"]["$a"][0])
    return kw


# The naive / tuned variants of pooling, softmax, batch norm and the LSTM cell (None: the default).
_VARIANTS = st.sampled_from([None, "naive", "tuned"])


def _rows(draw):
    return _shape(draw, 1, 3)[:-1] + [draw(dim(1))]


for _name in ("softmax", "log_softmax"):

    @spec(_name, written=("out",))
    def _softmax(draw):
        s = _rows(draw)
        kw = {"x": arr(s), "variant": draw(_VARIANTS)}
        return {**kw, **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


for _name in ("softmax_backward", "log_softmax_backward"):

    @spec(_name, written=("out",))
    def _softmax_backward(draw, _op=_name):
        s = _rows(draw)
        kw = {"dy": arr(s), "y": {"$call": [_op.removesuffix("_backward"), {"x": arr(s)}, None]}}
        kw["variant"] = draw(_VARIANTS)
        return {**kw, **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


@spec("dropout", ints=("seed", "offset"), written=("out",), floats=("rate",))
def _dropout(draw):
    s = _shape(draw)
    kw = {
        "x": arr(s),
        "rate": draw(st.sampled_from([0.0, 0.25, 0.5, 0.9])),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "offset": draw(st.integers(0, 100)),
        "training": draw(st.booleans()),
    }
    return {**kw, **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


@spec("dropout_backward", ints=("seed", "offset"), written=("out",), floats=("rate",))
def _dropout_backward(draw):
    kw = _dropout(draw)
    kw["dy"] = kw.pop("x")
    kw.pop("training")
    return kw


_MERGE_MODES = ["add", "subtract", "multiply", "average", "maximum", "minimum"]


@spec("merge", written=("out",))
def _merge(draw):
    s, mode = _shape(draw), draw(st.sampled_from(_MERGE_MODES))
    n = 2 if mode == "subtract" else draw(st.integers(1, 4))
    kw = {"inputs": [arr(s) for _ in range(n)], "mode": mode}
    if draw(st.booleans()):
        kw["out"] = arr(s, fill="zeros")
    return kw


@spec("merge_backward")
def _merge_backward(draw):
    kw = _merge(draw)
    kw.pop("out", None)
    kw["dy"] = arr(kw["inputs"][0]["$a"][0])
    return kw


def _concat_shapes(draw):
    s = _shape(draw)
    axis = draw(st.integers(-len(s), len(s) - 1))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        t = list(s)
        t[axis] = draw(dim(0))
        shapes.append(t)
    return shapes, axis


@spec("concatenate", ints=("axis",), written=("out",))
def _concatenate(draw):
    shapes, axis = _concat_shapes(draw)
    return {"inputs": [arr(t) for t in shapes], "axis": axis}


@spec("concatenate_backward", ints=("axis",))
def _concatenate_backward(draw):
    shapes, axis = _concat_shapes(draw)
    total = list(shapes[0])
    total[axis] = sum(t[axis] for t in shapes)
    return {"dy": arr(total), "inputs": [tuple(t) for t in shapes], "axis": axis}


@spec("bias_add", written=("out",))
def _bias_add(draw):
    s = _rows(draw)
    return {"x": arr(s), "bias": arr(s[-1:]), **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


@spec("bias_backward", written=("out",))
def _bias_backward(draw):
    s = _rows(draw)
    return {"dy": arr(s), **({"out": arr(s[-1:], fill="zeros")} if draw(st.booleans()) else {})}


def _pool_args(draw):
    n, h, w, c = draw(dim(0)), draw(dim(1, 6)), draw(dim(1, 6)), draw(dim(0))
    pool = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    strides = draw(st.sampled_from([None, 1, 2, [1, 2]]))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        pool = [min(pool[0], h), min(pool[1], w)]
    return [n, h, w, c], {"pool_size": pool, "strides": strides, "padding": padding, "variant": draw(_VARIANTS)}


def _pool_out(op, shape, kw):
    from sinapse.ops.pooling import geometry

    g = geometry(op, shape, kw["pool_size"], kw["strides"], kw["padding"])
    return list(g.out_shape)


for _name in ("max_pool2d", "avg_pool2d"):

    @spec(_name, ints=("pool_size", "strides"), written=("out",))
    def _pool(draw, _op=_name):
        s, kw = _pool_args(draw)
        out = [arr(_pool_out(_op, s, kw), fill="zeros")] if draw(st.booleans()) else []
        return {"x": arr(s), **kw, **({"out": out[0]} if out else {})}

    @spec(_name + "_backward", ints=("pool_size", "strides"), written=("out",))
    def _pool_backward(draw, _op=_name):
        s, kw = _pool_args(draw)
        out = {"out": arr(s, fill="zeros")} if draw(st.booleans()) else {}
        return {"dy": arr(_pool_out(_op, s, kw)), "x": arr(s), **kw, **out}


LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


@spec("loss", written=("grad_out",), floats=("delta",))
def _loss(draw):
    s, name = _rows(draw), draw(st.sampled_from(LOSSES))
    logits = name.endswith("crossentropy") and draw(st.booleans())
    fill = "normal" if logits or name in ("mse", "mae", "huber") else "unit"
    if name == "sparse_categorical_crossentropy":
        y_true = arr(s[:-1], "int32", f"labels{s[-1]}")
    else:
        y_true = arr(s, fill="unit")
    kw = {
        "name": name,
        "y_true": y_true,
        "y_pred": arr(s, fill=fill),
        "from_logits": logits,
        "reduction": draw(st.sampled_from(["mean", "sum"])),
        "grad": draw(st.booleans()),
    }
    if draw(st.booleans()):
        kw["sample_weight"] = arr(s[:-1], fill="unit")
    if name == "huber":
        kw["delta"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    if kw["grad"] and draw(st.booleans()):
        kw["grad_out"] = arr(s, fill="zeros")
    return kw


@spec("batch_norm", written=("running_mean", "running_var"), floats=("momentum", "epsilon"))
def _batch_norm(draw):
    s = _rows(draw)
    c = s[-1:]
    kw = {
        "x": arr(s),
        "gamma": arr(c),
        "beta": arr(c),
        "running_mean": arr(c),
        "running_var": arr(c, fill="unit"),
        "training": draw(st.booleans()),
        "momentum": draw(st.sampled_from([0.0, 0.9, 0.99, 1.0])),
        "epsilon": draw(st.sampled_from([1e-3, 1e-5])),
        "variant": draw(_VARIANTS),
    }
    return {**kw, **_out_tuple(draw, s, c, c)}


def _out_tuple(draw, *shapes):
    """Sometimes an ``out=`` tuple (one entry per result, each sometimes None) for an op with
    several results; the aliasing attack targets top-level arrays only."""
    if not draw(st.booleans()):
        return {}
    return {"out": [arr(s, fill="zeros") if draw(st.booleans()) else None for s in shapes]}


@spec("batch_norm_backward")
def _batch_norm_backward(draw):
    s = _rows(draw)
    c = s[-1:]
    kw = {
        "dy": arr(s),
        "x": arr(s),
        "gamma": arr(c),
        "mean": arr(c),
        "invstd": arr(c, fill="unit"),
        "training": draw(st.booleans()),
        "variant": draw(_VARIANTS),
    }
    return {**kw, **_out_tuple(draw, s, c, c)}


def _conv_args(draw):
    n, h, w, c, k = draw(dim(0)), draw(dim(1, 5)), draw(dim(1, 5)), draw(dim(1, 10)), draw(dim(0))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kw_ = {
        "strides": draw(st.sampled_from([1, 2, [1, 2]])),
        "dilation_rate": draw(st.sampled_from([1, 2])),
        "padding": draw(st.sampled_from(["same", "valid", [1, 0, 0, 1]])),
        "variant": draw(st.sampled_from([None, "naive", "tuned"])),
    }
    if kw_["padding"] != "same":  # keep the dilated kernel inside the input
        kh, kw = min(kh, (h - 1) // kw_["dilation_rate"] + 1), min(kw, (w - 1) // kw_["dilation_rate"] + 1)
    return [n, h, w, c], [kh, kw, c, k], kw_


def _conv_out(x, w, kw):
    from sinapse.ops.conv2d import geometry

    g = geometry("conv2d", x, w, kw["strides"], kw["padding"], kw["dilation_rate"])
    return list(g.out_shape)


@spec("conv2d", ints=("strides", "dilation_rate", "padding"), written=("out",))
def _conv2d(draw):
    x, w, kw = _conv_args(draw)
    kw.update(x=arr(x), w=arr(w), activation=draw(st.sampled_from([None, "relu", "tanh"])))
    if draw(st.booleans()):
        kw["bias"] = arr(w[-1:])
    if draw(st.booleans()):
        kw["out"] = arr(_conv_out(x, w, kw), fill="zeros")
    return kw


@spec("conv2d_backward", ints=("strides", "dilation_rate", "padding"))
def _conv2d_backward(draw):
    x, w, kw = _conv_args(draw)
    kw.update(
        dy=arr(_conv_out(x, w, kw)),
        x=arr(x),
        w=arr(w),
        need_dx=draw(st.booleans()),
        need_dw=draw(st.booleans()),
        need_db=draw(st.booleans()),
    )
    if draw(st.booleans()):
        need = (kw["need_dx"], kw["need_dw"], kw["need_db"])
        kw["out"] = [arr(s, fill="zeros") if n and draw(st.booleans()) else None for s, n in zip((x, w, w[-1:]), need)]
    return kw


def _tconv_args(draw):
    n, h, w, c, f = draw(dim(0)), draw(dim(1, 5)), draw(dim(1, 5)), draw(dim(0, 6)), draw(dim(0))
    kw_ = {
        "strides": draw(st.sampled_from([1, 2, [1, 2]])),
        "dilation_rate": draw(st.sampled_from([1, 2])),
        "padding": draw(st.sampled_from(["same", "valid"])),
        "output_padding": draw(st.sampled_from([None, 0, 1])),
        "variant": draw(st.sampled_from([None, "naive", "tuned"])),
    }
    return [n, h, w, c], [draw(st.integers(1, 3)), draw(st.integers(1, 3)), f, c], kw_


def _tconv_out(x, w, kw):
    from sinapse.ops._conv2d_transpose import transpose_geometry

    try:
        g = transpose_geometry("t", x, w, kw["strides"], kw["padding"], kw["output_padding"], kw["dilation_rate"])
    except ValueError:  # a refused geometry: any dy shape, the op raises first
        return [x[0], 1, 1, w[2]]
    return [g.N, g.H, g.W, g.C]


@spec("conv2d_transpose", ints=("strides", "dilation_rate"), written=("out",))
def _conv2d_transpose(draw):
    x, w, kw = _tconv_args(draw)
    kw.update(x=arr(x), w=arr(w))
    if draw(st.booleans()):
        kw["bias"] = arr(w[2:3])
    if draw(st.booleans()):
        kw["out"] = arr(_tconv_out(x, w, kw), fill="zeros")
    return kw


@spec("conv2d_transpose_backward", ints=("strides", "dilation_rate"))
def _conv2d_transpose_backward(draw):
    x, w, kw = _tconv_args(draw)
    kw.update(
        dy=arr(_tconv_out(x, w, kw)),
        x=arr(x),
        w=arr(w),
        need_dx=draw(st.booleans()),
        need_dw=draw(st.booleans()),
        need_db=draw(st.booleans()),
    )
    if draw(st.booleans()):
        need = (kw["need_dx"], kw["need_dw"], kw["need_db"])
        kw["out"] = [arr(s, fill="zeros") if n and draw(st.booleans()) else None for s, n in zip((x, w, w[2:3]), need)]
    return kw


@spec("conv2d_variant")
def _conv2d_variant(draw):
    return draw(st.just({}))  # no arguments: only the wrong-type attack (an unexpected one) applies


@spec("embedding", written=("out",))
def _embedding(draw):
    ids, v, d = _shape(draw, 1, 2), draw(dim(1, 6)), draw(dim(0))
    kw = {"ids": arr(ids, "int32", f"labels{v}"), "table": arr([v, d])}
    return {**kw, **({"out": arr(ids + [d], fill="zeros")} if draw(st.booleans()) else {})}


@spec("embedding_backward", ints=("vocab_size",), written=("out",))
def _embedding_backward(draw):
    ids, v, d = _shape(draw, 1, 2), draw(dim(1, 6)), draw(dim(0))
    kw = {"ids": arr(ids, "int32", f"labels{v}"), "dy": arr(ids + [d]), "vocab_size": v}
    return {**kw, **({"out": arr([v, d], fill="zeros")} if draw(st.booleans()) else {})}


def _update_common(draw, s):
    kw = {"param": arr(s), "grad": arr(s), "learning_rate": draw(st.sampled_from([0.1, 0.01, 1.0]))}
    for name, values in (
        ("weight_decay", [0.0, 0.01]),
        ("l2", [0.0, 0.1]),
        ("grad_scale", [1.0, 0.5]),
        ("clipvalue", [None, 0.5]),
    ):
        kw[name] = draw(st.sampled_from(values))
    return kw


OPTIMIZER_STATE = {
    "sgd_update": ["velocity"],
    "adagrad_update": ["accumulator"],
    "adadelta_update": ["accumulated_grad", "accumulated_delta"],
    "rmsprop_update": ["velocity", "momentum_buffer", "average_grad"],
    "adam_update": ["m", "v", "vhat"],
}
_FLOATS = ("learning_rate", "weight_decay", "l2", "grad_scale", "clipvalue")

for _name, _state in OPTIMIZER_STATE.items():

    @spec(_name, ints=("step",) if _name == "adam_update" else (), written=("param", *_state), floats=_FLOATS)
    def _update(draw, _op=_name, _st=_state):
        s = _shape(draw)
        kw = _update_common(draw, s)
        for name in _st:  # squared-gradient accumulators are non-negative
            kw[name] = arr(
                s,
                fill="unit"
                if name in ("accumulator", "v", "vhat", "velocity")
                and _op != "sgd_update"
                or name.startswith("accumulated")
                else "normal",
            )
        if _op == "sgd_update":
            kw.update(momentum=draw(st.sampled_from([0.0, 0.9])), nesterov=draw(st.booleans()))
        if _op == "rmsprop_update":
            kw.update(centered=draw(st.booleans()), momentum=draw(st.sampled_from([0.0, 0.9])))
            if not kw["centered"]:
                kw.pop("average_grad")
            if kw["momentum"] == 0.0:
                kw.pop("momentum_buffer")
        if _op == "adam_update":
            kw.update(step=draw(st.integers(1, 10)), amsgrad=draw(st.booleans()))
            if not kw["amsgrad"]:
                kw.pop("vhat")
        return kw


@spec("global_norm")
def _global_norm(draw):
    return {"arrays": [arr(_shape(draw)) for _ in range(draw(st.integers(0, 3)))]}


@spec("clip_by_value", written=("out",), floats=("clipvalue",))
def _clip_by_value(draw):
    s = _shape(draw)
    kw = {"x": arr(s), "clipvalue": draw(st.sampled_from([0.5, 1.0, 3.0]))}
    return {**kw, **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


@spec("clip_by_norm", written=("out",), floats=("clipnorm",))
def _clip_by_norm(draw):
    kw = _clip_by_value(draw)
    kw["clipnorm"] = kw.pop("clipvalue")
    return kw


@spec("clip_by_global_norm", floats=("clipnorm",))
def _clip_by_global_norm(draw):
    shapes = [_shape(draw) for _ in range(draw(st.integers(1, 3)))]
    kw = {"arrays": [arr(s) for s in shapes], "clipnorm": draw(st.sampled_from([0.5, 1.0, 3.0]))}
    return {**kw, **({"out": [arr(s, fill="zeros") for s in shapes]} if draw(st.booleans()) else {})}


_GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}


def _rnn_kw(draw, cell):
    n, t, d, h = draw(dim(0)), draw(dim(0)), draw(dim(1)), draw(dim(1))
    g = _GATES[cell]
    kw = {
        "x": arr([n, t, d]),
        "kernel": arr([d, g * h]),
        "recurrent_kernel": arr([h, g * h]),
        "go_backwards": draw(st.booleans()),
        "return_sequences": draw(st.booleans()),
    }
    if cell == "gru":
        kw["reset_after"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["bias"] = arr([2, 3 * h] if kw.get("reset_after") else [g * h])
    if cell == "simple_rnn":
        kw["activation"] = draw(st.sampled_from(["tanh", "relu"]))
    if draw(st.booleans()):
        kw["h0"] = arr([n, h])
    if cell == "lstm" and draw(st.booleans()):
        kw["c0"] = arr([n, h])
    if cell == "lstm":
        kw["variant"] = draw(_VARIANTS)
    if draw(st.booleans()):
        kw["mask"] = arr([n, t], "bool", "bool")
    if draw(st.booleans()):  # Keras's dropout multipliers: one input mask for all gates, or one per gate
        kw["dropout_mask"] = arr([n, d] if draw(st.booleans()) else [n, g, d])
    if draw(st.booleans()):
        kw["recurrent_dropout_mask"] = arr([n, g, h])
    return kw, (n, t, h)


for _cell in _GATES:

    @spec(_cell)
    def _rnn(draw, _c=_cell):
        kw, (n, t, h) = _rnn_kw(draw, _c)
        shapes = ([n, t, h] if kw["return_sequences"] else [n, h], [n, h], [n, h])[: 3 if _c == "lstm" else 2]
        return {**kw, **_out_tuple(draw, *shapes)}

    @spec(_cell + "_backward")
    def _rnn_backward(draw, _c=_cell):
        kw, (n, t, h) = _rnn_kw(draw, _c)
        back = {
            "cache": {"$call": [_c, kw, -1]},
            "dy": arr([n, t, h] if kw["return_sequences"] else [n, h]) if draw(st.booleans()) else None,
        }
        if draw(st.booleans()):
            back["dh_T"] = arr([n, h])
        if _c == "lstm" and draw(st.booleans()):
            back["dc_T"] = arr([n, h])
        return back


@spec("rnn_convert.keras_to_torch")
def _keras_to_torch(draw):
    cell = draw(st.sampled_from(sorted(_GATES)))
    kw, _ = _rnn_kw(draw, cell)
    return {"cell": cell, **{k: kw[k] for k in ("kernel", "recurrent_kernel", "bias") if k in kw}}


@spec("rnn_convert.torch_to_keras")
def _torch_to_keras(draw):
    cell = draw(st.sampled_from(sorted(_GATES)))
    d, h = draw(dim(1)), draw(dim(1))
    g = _GATES[cell] * h
    kw = {"cell": cell, "weight_ih": arr([g, d]), "weight_hh": arr([g, h])}
    if draw(st.booleans()):
        kw.update(bias_ih=arr([g]), bias_hh=arr([g]))
    return kw


def _depthwise_args(draw):
    x, w, kw = _conv_args(draw)
    c, groups = x[3], draw(st.sampled_from([None, 1, 2]))
    if groups == 2 and c % 2:
        groups = None
    kw["groups"] = groups
    m = draw(dim(1, 3))
    w = [w[0], w[1], c, m] if groups is None else [w[0], w[1], c // groups, groups * m]
    return x, w, kw


def _depthwise_out(x, w, kw):
    from sinapse.ops.depthwise_conv2d import geometry

    return list(
        geometry("depthwise_conv2d", x, w, kw["strides"], kw["padding"], kw["dilation_rate"], kw["groups"]).out_shape
    )


@spec("depthwise_conv2d", ints=("strides", "dilation_rate", "padding", "groups"), written=("out",))
def _depthwise_conv2d(draw):
    x, w, kw = _depthwise_args(draw)
    out = _depthwise_out(x, w, kw)
    kw.update(x=arr(x), w=arr(w))
    if draw(st.booleans()):
        kw["bias"] = arr(out[-1:])
    if draw(st.booleans()):
        kw["out"] = arr(out, fill="zeros")
    return kw


@spec("depthwise_conv2d_backward", ints=("strides", "dilation_rate", "padding", "groups"))
def _depthwise_conv2d_backward(draw):
    x, w, kw = _depthwise_args(draw)
    out = _depthwise_out(x, w, kw)
    kw.update(dy=arr(out), x=arr(x), w=arr(w), need_dx=draw(st.booleans()), need_dw=draw(st.booleans()))
    kw["need_db"] = draw(st.booleans())
    if draw(st.booleans()):
        need = (kw["need_dx"], kw["need_dw"], kw["need_db"])
        kw["out"] = [
            arr(s, fill="zeros") if n and draw(st.booleans()) else None for s, n in zip((x, w, out[-1:]), need)
        ]
    return kw


@spec("layer_norm", written=("out",), floats=("epsilon",))
def _layer_norm(draw):
    s = _rows(draw)
    k = draw(st.integers(1, len(s)))  # the trailing axes normalised
    axis = list(range(len(s) - k, len(s))) if draw(st.booleans()) else -1
    f = s[-k:] if axis != -1 else s[-1:]
    kw = {"x": arr(s), "axis": axis, "epsilon": draw(st.sampled_from([1e-3, 1e-5])), "variant": draw(_VARIANTS)}
    kw.update({name: arr(f) for name in ("gamma", "beta") if draw(st.booleans())})
    stats = s[: len(s) - len(f)]
    return {**kw, **_out_tuple(draw, s, stats, stats)}


@spec("group_norm", written=("out",), floats=("epsilon",))
def _group_norm(draw):
    s = [draw(dim(0)), draw(dim(1)), draw(dim(1, 3))]
    groups = draw(st.sampled_from([1, 2, 3]))
    s.append(groups * draw(dim(1, 3)))
    kw = {"x": arr(s), "groups": groups, "variant": draw(_VARIANTS)}
    kw.update({name: arr(s[-1:]) for name in ("gamma", "beta") if draw(st.booleans())})
    return {**kw, **_out_tuple(draw, s, [s[0], groups], [s[0], groups])}


for _name in ("layer_norm_backward", "group_norm_backward"):

    @spec(_name)
    def _norm_backward(draw, _op=_name):
        fwd = (_layer_norm if _op.startswith("layer") else _group_norm)(draw)
        fwd.pop("out", None)
        kw = {"dy": fwd["x"], "x": fwd["x"], "gamma": fwd.get("gamma")}
        opts = {k: fwd[k] for k in ("axis", "groups", "variant") if k in fwd}
        fwd_op = _op.removesuffix("_backward")
        kw.update(mean={"$call": [fwd_op, fwd, 1]}, inv_std={"$call": [fwd_op, fwd, 2]}, **opts)
        return kw


_INTERPOLATION = st.sampled_from(["nearest", "bilinear"])


@spec("resize", ints=("size",), written=("out",))
def _resize(draw):
    n, h, w, c = draw(dim(0)), draw(dim(1, 6)), draw(dim(1, 6)), draw(dim(0))
    oh, ow = draw(dim(1, 7)), draw(dim(1, 7))
    kw = {"x": arr([n, h, w, c]), "size": [oh, ow], "interpolation": draw(_INTERPOLATION), "variant": draw(_VARIANTS)}
    return {**kw, **({"out": arr([n, oh, ow, c], fill="zeros")} if draw(st.booleans()) else {})}


@spec("resize_backward", ints=("input_size",), written=("out",))
def _resize_backward(draw):
    n, h, w, c = draw(dim(0)), draw(dim(1, 6)), draw(dim(1, 6)), draw(dim(0))
    oh, ow = draw(dim(1, 7)), draw(dim(1, 7))
    kw = {"dy": arr([n, oh, ow, c]), "input_size": [h, w], "interpolation": draw(_INTERPOLATION)}
    kw["variant"] = draw(_VARIANTS)
    return {**kw, **({"out": arr([n, h, w, c], fill="zeros")} if draw(st.booleans()) else {})}


def _window(draw):
    h, w = draw(dim(1, 6)), draw(dim(1, 6))
    oh, ow = draw(st.integers(1, h)), draw(st.integers(1, w))
    return h, w, oh, ow, draw(st.integers(0, h - oh)), draw(st.integers(0, w - ow))


@spec("crop", ints=("top", "left", "height", "width"), written=("out",))
def _crop(draw):
    n, c = draw(dim(0)), draw(dim(0))
    h, w, oh, ow, top, left = _window(draw)
    kw = {"x": arr([n, h, w, c]), "top": top, "left": left, "height": oh, "width": ow}
    return {**kw, **({"out": arr([n, oh, ow, c], fill="zeros")} if draw(st.booleans()) else {})}


@spec("crop_backward", ints=("input_size", "top", "left"), written=("out",), floats=("fill_value",))
def _crop_backward(draw):
    n, c = draw(dim(0)), draw(dim(0))
    h, w, oh, ow, top, left = _window(draw)
    kw = {"dy": arr([n, oh, ow, c]), "input_size": [h, w], "top": top, "left": left}
    if draw(st.booleans()):
        kw["fill_value"] = draw(st.sampled_from([0.0, 0.5, -1.0]))
    return {**kw, **({"out": arr([n, h, w, c], fill="zeros")} if draw(st.booleans()) else {})}


def _prelu_shapes(draw):
    x = _shape(draw, 2, 4)
    return x, [d if draw(st.booleans()) else 1 for d in x[1:]]


@spec("prelu", written=("out",))
def _prelu(draw):
    s, a = _prelu_shapes(draw)
    return {"x": arr(s), "alpha": arr(a), **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {})}


@spec("prelu_backward", written=("out",))
def _prelu_backward(draw):
    s, a = _prelu_shapes(draw)
    kw = {"dy": arr(s), "x": arr(s), "alpha": arr(a)}
    return {**kw, **({"out": [arr(s, fill="zeros"), arr(a, fill="zeros")]} if draw(st.booleans()) else {})}


def _philox_kw(draw, s):
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "offset": draw(st.integers(0, 100)),
        "lane": draw(st.integers(0, 3)),
        **({"out": arr(s, fill="zeros")} if draw(st.booleans()) else {}),
    }


@spec("spatial_dropout", ints=("seed", "offset", "lane"), written=("out",), floats=("rate",))
def _spatial_dropout(draw):
    s = _shape(draw, 2, 4)
    kw = {"x": arr(s), "rate": draw(st.sampled_from([0.0, 0.25, 0.5, 0.9])), "training": draw(st.booleans())}
    return {**kw, **_philox_kw(draw, s)}


@spec("spatial_dropout_backward", ints=("seed", "offset", "lane"), written=("out",), floats=("rate",))
def _spatial_dropout_backward(draw):
    kw = _spatial_dropout(draw)
    kw["dy"] = kw.pop("x")
    kw.pop("training")
    return kw


@spec("gaussian_noise", ints=("seed", "offset", "lane"), written=("out",), floats=("stddev",))
def _gaussian_noise(draw):
    s = _shape(draw)
    kw = {"x": arr(s), "stddev": draw(st.sampled_from([0.0, 0.1, 1.0, 3.0])), "training": draw(st.booleans())}
    return {**kw, **_philox_kw(draw, s)}


# ---- the augment family: NHWC batches with per-image parameters (H, W >= 1 for the affine)
def _images(draw, lo_hw=0):
    return [draw(dim(0)), draw(dim(lo_hw)), draw(dim(lo_hw)), draw(dim(0))]


def _affine_kw(draw):
    return {
        "interpolation": draw(st.sampled_from(["bilinear", "nearest"])),
        "fill_mode": draw(st.sampled_from(["constant", "reflect", "wrap", "nearest"])),
    }


@spec("affine_transform", written=("out",), floats=("fill_value",))
def _affine_transform(draw):
    s = _images(draw, 1)
    kw = {"images": arr(s), "transforms": arr([s[0], 8]), **_affine_kw(draw), "fill_value": 0.5}
    if draw(st.booleans()):
        kw["output_shape"] = (draw(dim(0)), draw(dim(0)))
    return kw


@spec("affine_transform_backward", written=("out",))
def _affine_transform_backward(draw):
    s = _images(draw, 1)
    return {"dy": arr(s), "transforms": arr([s[0], 8]), "images_shape": tuple(s), **_affine_kw(draw)}


for _name, _first in (("flip", "images"), ("flip_backward", "dy")):

    @spec(_name, written=("out",))
    def _flip(draw, _first=_first):
        s = _images(draw)
        return {
            _first: arr(s),
            "horizontal_flags": arr([s[0]], "bool", "bool"),
            "vertical_flags": arr([s[0]], "bool", "bool"),
        }


for _name, _param in (("adjust_contrast", "factors"), ("adjust_brightness", "deltas")):

    @spec(_name, written=("out",))
    def _color(draw, _param=_param):
        s = _images(draw)
        return {"images": arr(s), _param: arr([s[0]]), "value_range": (-1.0, 1.0)}

    @spec(f"{_name}_backward", written=("out",))
    def _color_backward(draw, _param=_param):
        s = _images(draw)
        return {"dy": arr(s), "images": arr(s), _param: arr([s[0]]), "value_range": (-1.0, 1.0)}
