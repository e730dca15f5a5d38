"""What each op should have returned, from sinapse.reference (NumPy), for the oracle.

ref(kw, result, after) -> [(label, actual, expected)]: ``kw`` holds copies of the arguments
taken before the call, ``after`` the arguments as the call left them (for in-place updates).
Ops without a reference here (batch_norm_backward, rnn_convert, conv2d_variant) are still
checked for crashes, clear errors and, under layout/alias attacks, against a clean call.
"""

from __future__ import annotations

import numpy as np

from sinapse import reference as R

REFS = {}


def ref(*names):
    def register(fn):
        for n in names:
            REFS[n] = fn
        return fn

    return register


def _opt(kw, *names):
    return {n: kw[n] for n in names if n in kw}


def _act(name, x, alpha=None):
    return x if name is None else R.activation(name, alpha)(x)


@ref("gemm")
def _gemm(kw, res, after):
    e = R.gemm(kw["a"], kw["b"], kw.get("c"), **_opt(kw, "alpha", "beta", "trans_a", "trans_b", "bias", "activation"))
    return [("y", res, e)]


@ref("axpy")
def _axpy(kw, res, after):
    return [("y", res, R.axpy(kw["alpha"], kw["x"], kw["y"]))]


@ref("activation")
def _activation(kw, res, after):
    return [("y", res, R.activation(kw["name"], kw.get("alpha"))(kw["x"]))]


@ref("activation_backward")
def _activation_backward(kw, res, after):
    return [("dx", res, R.activation_backward(kw["dy"], kw["x"], kw["name"], kw.get("alpha")))]


@ref("softmax", "log_softmax")
def _softmax(kw, res, after):
    fn = R.softmax if after.get("$op") == "softmax" else R.log_softmax
    return [("y", res, fn(kw["x"]))]


@ref("softmax_backward", "log_softmax_backward")
def _softmax_backward(kw, res, after):
    fn = R.softmax_backward if after.get("$op") == "softmax_backward" else R.log_softmax_backward
    return [("dx", res, fn(kw["dy"], kw["y"]))]


@ref("dropout")
def _dropout(kw, res, after):
    return [("y", res, R.dropout(kw["x"], kw["rate"], kw["seed"], kw.get("offset", 0), kw.get("training", True)))]


@ref("dropout_backward")
def _dropout_backward(kw, res, after):
    return [("dx", res, R.dropout_backward(kw["dy"], kw["rate"], kw["seed"], kw.get("offset", 0)))]


@ref("merge")
def _merge(kw, res, after):
    return [("y", res, R.merge(kw["inputs"], kw["mode"]))]


@ref("merge_backward")
def _merge_backward(kw, res, after):
    want = R.merge_backward(kw["dy"], kw["inputs"], kw["mode"])
    return [(f"dx{k}", g, w) for k, (g, w) in enumerate(zip(res, want))]


@ref("concatenate")
def _concatenate(kw, res, after):
    return [("y", res, R.concatenate(kw["inputs"], kw["axis"]))]


@ref("concatenate_backward")
def _concatenate_backward(kw, res, after):
    want = R.concatenate_backward(kw["dy"], kw["inputs"], kw["axis"])
    return [(f"dx{k}", g, w) for k, (g, w) in enumerate(zip(res, want))]


@ref("bias_add")
def _bias_add(kw, res, after):
    return [("y", res, R.bias_add(kw["x"], kw["bias"]))]


@ref("bias_backward")
def _bias_backward(kw, res, after):
    return [("db", res, R.bias_backward(kw["dy"]))]


def _pool_args(kw):
    return kw.get("pool_size", (2, 2)), kw.get("strides"), kw.get("padding", "valid")


@ref("max_pool2d", "avg_pool2d")
def _pool(kw, res, after):
    op = after["$op"]
    return [("y", res, getattr(R, op)(kw["x"], *_pool_args(kw)))]


@ref("max_pool2d_backward", "avg_pool2d_backward")
def _pool_backward(kw, res, after):
    op = after["$op"]
    return [("dx", res, getattr(R, op)(kw["dy"], kw["x"], *_pool_args(kw)))]


@ref("loss")
def _loss(kw, res, after):
    e = R.loss(kw["y_true"], kw["y_pred"], kw["name"], **_opt(kw, "from_logits", "reduction", "sample_weight", "delta"))
    return [("loss", res[0] if kw.get("grad") else res, e)]


@ref("batch_norm")
def _batch_norm(kw, res, after):
    y, mean, var = R.batch_norm(
        kw["x"],
        kw["gamma"],
        kw["beta"],
        kw["running_mean"],
        kw["running_var"],
        **_opt(kw, "training", "momentum", "epsilon"),
    )
    return [("y", res[0], y), ("running_mean", after["running_mean"], mean), ("running_var", after["running_var"], var)]


def _conv_args(kw):
    return dict(
        strides=kw.get("strides", 1), padding=kw.get("padding", "valid"), dilation_rate=kw.get("dilation_rate", 1)
    )


@ref("conv2d")
def _conv2d(kw, res, after):
    return [("y", res, _act(kw.get("activation"), R.conv2d(kw["x"], kw["w"], kw.get("bias"), **_conv_args(kw))))]


@ref("conv2d_backward")
def _conv2d_backward(kw, res, after):
    expected = R.conv2d_backward(kw["dy"], kw["x"], kw["w"], **_conv_args(kw))
    wanted = [kw.get("need_dx", True), kw.get("need_dw", True), kw.get("need_db", True)]
    return [(n, r, e) for n, r, e, w in zip(("dx", "dw", "db"), res, expected, wanted) if w]


@ref("embedding")
def _embedding(kw, res, after):
    return [("y", res, R.embedding(kw["ids"], kw["table"]))]


@ref("embedding_backward")
def _embedding_backward(kw, res, after):
    return [("dtable", res, R.embedding_backward(kw["dy"], kw["ids"], kw["vocab_size"]))]


_STATE = {
    "sgd_update": ["velocity"],
    "adagrad_update": ["accumulator"],
    "adadelta_update": ["accumulated_grad", "accumulated_delta"],
    "rmsprop_update": ["velocity", "momentum_buffer", "average_grad"],
    "adam_update": ["m", "v", "vhat"],
}


@ref(*_STATE)
def _update(kw, res, after):
    op = after["$op"]
    new = getattr(R, op)(**kw)
    new = new if isinstance(new, tuple) else (new,)
    names = ["param"] + [n for n in _STATE[op] if kw.get(n) is not None]
    return [(n, after[n], e) for n, e in zip(names, new) if e is not None]


@ref("global_norm")
def _global_norm(kw, res, after):
    return [("norm", res, R.global_norm(kw["arrays"]))]


@ref("clip_by_value")
def _clip_by_value(kw, res, after):
    return [("y", res, R.clip_by_value(kw["x"], kw["clipvalue"]))]


@ref("clip_by_norm")
def _clip_by_norm(kw, res, after):
    return [("y", res, R.clip_by_norm(kw["x"], kw["clipnorm"]))]


@ref("clip_by_global_norm")
def _clip_by_global_norm(kw, res, after):
    arrays, norm = R.clip_by_global_norm(kw["arrays"], kw["clipnorm"])
    return [("norm", res[1], norm)] + [(f"y[{i}]", r, e) for i, (r, e) in enumerate(zip(res[0], arrays))]


_RNN_ARGS = ("bias", "h0", "c0", "mask", "go_backwards", "return_sequences", "activation", "reset_after")


@ref("simple_rnn", "lstm", "gru")
def _rnn(kw, res, after):
    op = after["$op"]
    masks = _opt(kw, "dropout_mask", "recurrent_dropout_mask")  # the reference's forward takes them too
    expected = getattr(R, op)(kw["x"], kw["kernel"], kw["recurrent_kernel"], **_opt(kw, *_RNN_ARGS), **masks)
    return [(n, r, e) for n, r, e in zip(("y", "h_T", "c_T"), res, expected)]


@ref("simple_rnn_backward", "lstm_backward", "gru_backward")
def _rnn_backward(kw, res, after):
    cell = after["$op"].replace("_backward", "")
    fwd = after["$call"]  # the forward call's arguments, copied before it ran
    if _opt(fwd, "dropout_mask", "recurrent_dropout_mask"):
        return []  # no reference backward with dropout masks: tests/test_rnn_dropout.py checks it by finite differences
    (n, t), h = np.shape(fwd["x"])[:2], np.shape(fwd["recurrent_kernel"])[0]
    dy = kw.get("dy")
    if dy is None:  # None means zeros
        dy = np.zeros((n, t, h) if fwd.get("return_sequences", True) else (n, h))
    expected = getattr(R, f"{cell}_backward")(
        dy,
        fwd["x"],
        fwd["kernel"],
        fwd["recurrent_kernel"],
        **_opt(kw, "dh_T", "dc_T"),
        **_opt(fwd, *_RNN_ARGS),
    )
    names = ("dx", "dkernel", "drecurrent_kernel", "dbias", "dh0", "dc0")
    return [(n_, r, e) for n_, r, e in zip(names, res, expected) if e is not None]
