"""The one SIMD dispatcher: every CPU op on every SIMD path this CPU runs, against the reference.

``sinapse.cpu.use_simd(path)`` forces a path for the whole process, so every op — including the
memory-bound kernels that take no ``simd=`` argument (activation, softmax, pooling, losses,
batch norm, dropout, bias) — runs its AVX2 and generic versions on an AVX-512 machine too.
``sinapse.cpu.simd_paths_run()`` (a debug hook recording each dispatch in the kernels) proves
the forced path is the one that ran, and the only one: no op mixes paths.
"""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS
from sinapse import ops, reference
from sinapse.registry import OPS

RTOL, ATOL = 1e-4, 1e-5


def f64(a):
    return np.asarray(a, np.float64)


def normal(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# Each case runs one op family on the CPU and returns [(what, got, reference)]. The sizes are
# large enough for the chunked and the multi-row loops, small enough for a quick test.


def _gemm(rng):
    out = []
    for m in (3, 40):  # 3: the small-M path; 40: the packed micro-kernels
        a, b, bias = normal(rng, m, 70), normal(rng, 70, 37), normal(rng, 37)
        got = ops.gemm(a, b, bias=bias, activation="tanh")
        out.append((f"gemm M={m}", got, reference.gemm(f64(a), f64(b), bias=f64(bias), activation="tanh")))
    return out


def _axpy(rng):
    x, y = normal(rng, 5000), normal(rng, 5000)
    return [("axpy", ops.axpy(0.5, x, y), reference.axpy(0.5, f64(x), f64(y)))]


def _activation(rng):
    x, dy = normal(rng, 20000, scale=4.0), normal(rng, 20000)
    out = []
    for name in ("relu", "sigmoid", "tanh", "silu", "gelu", "elu", "softplus"):
        out.append((name, ops.activation(x, name), reference.activation(name)(f64(x))))
        out.append(
            (
                f"{name} backward",
                ops.activation_backward(dy, x, name),
                reference.activation_backward(f64(dy), f64(x), name),
            )
        )
    xp, alpha, dyp = x.reshape(50, 20, 20), normal(rng, 1, 20), dy.reshape(50, 20, 20)  # PReLU, one slope per channel
    out.append(("prelu", ops.prelu(xp, alpha), reference.prelu(f64(xp), f64(alpha))))
    got, want = ops.prelu_backward(dyp, xp, alpha), reference.prelu_backward(f64(dyp), f64(xp), f64(alpha))
    return out + [(f"prelu_backward {k}", g, w) for k, (g, w) in enumerate(zip(got, want))]


def _softmax(rng):
    x, dy = normal(rng, 33, 300, scale=3.0), normal(rng, 33, 300)
    y, ly = ops.softmax(x), ops.log_softmax(x)
    return [
        ("softmax", y, reference.softmax(f64(x))),
        ("log_softmax", ly, reference.log_softmax(f64(x))),
        ("softmax backward", ops.softmax_backward(dy, y), reference.softmax_backward(f64(dy), f64(y))),
        ("log_softmax backward", ops.log_softmax_backward(dy, ly), reference.log_softmax_backward(f64(dy), f64(ly))),
    ]


def _dropout(rng):
    x = normal(rng, 9001)
    xs = x[:9000].reshape(9, 20, 50)  # spatial dropout: 50 channels
    return [
        ("dropout", ops.dropout(x, 0.3, 1234, 5), reference.dropout(x, 0.3, 1234, 5)),
        ("dropout backward", ops.dropout_backward(x, 0.3, 1234, 5), reference.dropout(x, 0.3, 1234, 5)),
        ("spatial_dropout", ops.spatial_dropout(xs, 0.3, 12, 5), reference.spatial_dropout(xs, 0.3, 12, 5)),
        ("gaussian_noise", ops.gaussian_noise(x, 0.5, 1234, 5, lane=1), reference.gaussian_noise(x, 0.5, 1234, 5, 1)),
    ]


def _bias(rng):
    x, b = normal(rng, 300, 7), normal(rng, 7)
    return [
        ("bias_add", ops.bias_add(x, b), reference.bias_add(f64(x), f64(b))),
        ("bias_backward", ops.bias_backward(x), reference.bias_backward(f64(x))),
    ]


def _pooling(rng):
    x = normal(rng, 2, 9, 11, 20)
    dy = normal(rng, *ops.max_pool2d(x, 3, 2, "same").shape)
    return [
        ("max_pool2d", ops.max_pool2d(x, 3, 2, "same"), reference.max_pool2d(f64(x), 3, 2, "same")),
        ("avg_pool2d", ops.avg_pool2d(x, 3, 2, "same"), reference.avg_pool2d(f64(x), 3, 2, "same")),
        (
            "max_pool2d backward",
            ops.max_pool2d_backward(dy, x, 3, 2, "same"),
            reference.max_pool2d_backward(f64(dy), x, 3, 2, "same"),
        ),
        (
            "avg_pool2d backward",
            ops.avg_pool2d_backward(dy, x, 3, 2, "same"),
            reference.avg_pool2d_backward(f64(dy), f64(x), 3, 2, "same"),
        ),
    ]


def _losses(rng):
    logits = normal(rng, 17, 40, scale=3.0)
    y_true = rng.dirichlet(np.ones(40), 17).astype(np.float32)
    labels = rng.integers(0, 40, 17).astype(np.int32)
    target = normal(rng, 17, 40)
    out = []
    for name, yt, kw in (
        ("categorical_crossentropy", y_true, {"from_logits": True}),
        ("sparse_categorical_crossentropy", labels, {"from_logits": True}),
        ("mse", target, {}),
        ("huber", target, {}),
    ):
        value, grad = ops.loss(yt, logits, name, grad=True, **kw)
        ref_true = yt if yt.dtype == np.int32 else f64(yt)
        out.append((name, np.float64(value), reference.loss(ref_true, f64(logits), name, **kw)))
        out.append((f"{name} grad", grad, reference.loss_grad(ref_true, f64(logits), name, **kw)))
    return out


def _batch_norm(rng):
    x, dy = normal(rng, 4, 5, 6, 24, scale=2.0), normal(rng, 4, 5, 6, 24)
    gamma, beta, var = normal(rng, 24), normal(rng, 24), rng.uniform(0.5, 2.0, 24).astype(np.float32)
    mean = normal(rng, 24)
    y, m, invstd = ops.batch_norm(x, gamma, beta, mean.copy(), var.copy(), training=True)
    ry, _, _ = reference.batch_norm(f64(x), f64(gamma), f64(beta), f64(mean), f64(var), training=True)
    got = ops.batch_norm_backward(dy, x, gamma, m, invstd, training=True)
    ref = reference.batch_norm_backward(f64(dy), f64(x), f64(gamma), f64(m), f64(invstd), training=True)
    return [("batch_norm", y, ry)] + [(f"batch_norm backward {i}", g, r) for i, (g, r) in enumerate(zip(got, ref))]


def _conv2d(rng):
    out = []
    for c in (3, 40):  # 3: the direct kernels; 40: im2col + the packed GEMM
        x, w, b = normal(rng, 2, 9, 10, c), normal(rng, 3, 3, c, 8, scale=0.3), normal(rng, 8)
        y = ops.conv2d(x, w, b, padding="same")
        dy = normal(rng, *y.shape)
        got = ops.conv2d_backward(dy, x, w, padding="same")
        out.append((f"conv2d C={c}", y, reference.conv2d(f64(x), f64(w), f64(b), padding="same")))
        ref = reference.conv2d_backward(f64(dy), f64(x), f64(w), padding="same")
        out += [(f"conv2d backward C={c} {i}", gi, ri) for i, (gi, ri) in enumerate(zip(got, ref))]
    return out


def _embedding(rng):
    table, ids = normal(rng, 50, 16), rng.integers(0, 50, (7, 9)).astype(np.int32)
    dy = normal(rng, 7, 9, 16)
    return [
        ("embedding", ops.embedding(ids, table), reference.embedding(ids, f64(table))),
        ("embedding backward", ops.embedding_backward(dy, ids, 50), reference.embedding_backward(f64(dy), ids, 50)),
    ]


def _optimizers(rng):
    p, g = normal(rng, 3000), normal(rng, 3000)
    m, v = np.zeros_like(p), np.zeros_like(p)
    rp, rm, rv, _ = reference.adam_update(f64(p), f64(g), f64(m), f64(v), learning_rate=0.01, step=1)
    ops.adam_update(p, g, m, v, learning_rate=0.01, step=1)
    return [("adam param", p, rp), ("adam m", m, rm), ("adam v", v, rv)] + [
        ("global_norm", np.float64(ops.global_norm([g])), reference.global_norm([f64(g)]))
    ]


def _rnn(rng):
    """Every cell of the RNN family (simple_rnn, lstm, gru) on the forced path."""
    return [row for cell in ("simple_rnn", "lstm", "gru") for row in _rnn_cell(cell, rng)]


def _rnn_cell(cell, rng):
    n, t, d, h = 5, 4, 6, 8
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]
    x, kernel = normal(rng, n, t, d), normal(rng, d, gates * h, scale=0.4)
    rec, bias = normal(rng, h, gates * h, scale=0.4), normal(rng, gates * h, scale=0.1)
    if cell == "gru":
        bias = normal(rng, 2, gates * h, scale=0.1)  # reset_after: input and recurrent biases
    y, *_, cache = getattr(ops, cell)(x, kernel, rec, bias)
    ref_y = getattr(reference, cell)(f64(x), f64(kernel), f64(rec), f64(bias))[0]
    dy = normal(rng, *y.shape)
    got = getattr(ops, f"{cell}_backward")(dy, cache)
    ref = getattr(reference, f"{cell}_backward")(f64(dy), f64(x), f64(kernel), f64(rec), f64(bias))
    return [(cell, y, ref_y)] + [(f"{cell} backward {i}", gi, ri) for i, (gi, ri) in enumerate(zip(got, ref))]


def _merge(rng):
    xs, dy = [normal(rng, 5000) for _ in range(3)], normal(rng, 5000)
    out = []
    for mode in ("add", "multiply", "average", "maximum", "minimum"):
        ref = [f64(x) for x in xs]
        out.append((f"merge {mode}", ops.merge(xs, mode), reference.merge(ref, mode)))
        got = ops.merge_backward(dy, xs, mode)
        want = reference.merge_backward(f64(dy), ref, mode)
        out += [(f"merge_backward {mode} {k}", g, w) for k, (g, w) in enumerate(zip(got, want))]
    cat = ops.concatenate([xs[0].reshape(50, 100), xs[1].reshape(50, 100)], axis=1)  # copies: no SIMD path
    return out + [("concatenate", cat, np.concatenate([xs[0].reshape(50, 100), xs[1].reshape(50, 100)], 1))]


def _depthwise_conv2d(rng):
    x = normal(rng, 2, 9, 11, 20)
    out = []
    for w, groups in ((normal(rng, 3, 3, 20, 1), None), (normal(rng, 3, 3, 5, 8), 4)):
        geo = dict(strides=1, padding="same", groups=groups)
        y = ops.depthwise_conv2d(x, w, **geo)
        dy = normal(rng, *y.shape)
        out.append((f"depthwise_conv2d groups={groups}", y, reference.depthwise_conv2d(f64(x), f64(w), **geo)))
        got, want = (
            ops.depthwise_conv2d_backward(dy, x, w, **geo),
            reference.depthwise_conv2d_backward(f64(dy), f64(x), f64(w), **geo),
        )
        out += [(f"depthwise_conv2d_backward groups={groups} {k}", g, r) for k, (g, r) in enumerate(zip(got, want))]
    return out


def _layer_norm(rng):
    x, dy, g, b = normal(rng, 33, 300, scale=3.0), normal(rng, 33, 300), normal(rng, 300), normal(rng, 300)
    y, mean, inv = ops.layer_norm(x, g, b)
    ry, rmean, rinv = reference.layer_norm(f64(x), f64(g), f64(b))
    grads = ops.layer_norm_backward(dy, x, g, mean, inv)
    want = reference.layer_norm_backward(f64(dy), f64(x), f64(g), rmean, rinv)
    return [("layer_norm", y, ry)] + [(f"layer_norm backward {i}", a, w) for i, (a, w) in enumerate(zip(grads, want))]


def _resize(rng):
    x, dy = normal(rng, 2, 5, 7, 19), normal(rng, 2, 11, 4, 19)
    out = []
    for mode in ("nearest", "bilinear"):
        out.append(
            (f"resize {mode}", ops.resize(x, (11, 4), interpolation=mode), reference.resize(f64(x), (11, 4), mode))
        )
        got = ops.resize_backward(dy, (5, 7), interpolation=mode)
        out.append((f"resize_backward {mode}", got, reference.resize_backward(f64(dy), (5, 7), mode)))
    return out + [("crop", ops.crop(x, 1, 2, 3, 4), reference.crop(x, 1, 2, 3, 4))]  # copies: no SIMD path


def _augment(rng):
    x = normal(rng, 4, 9, 7, 3)
    gray = normal(rng, 4, 9, 7, 1)
    t = np.tile(np.array([0.9, -0.3, 1.2, 0.3, 0.9, -0.8, 0, 0], np.float32), (4, 1))
    flags = np.array([True, False, True, True])
    f = np.array([0.5, 1.0, 1.5, 2.0], np.float32)
    out = []
    for name, img in (("rgb", x), ("gray", gray)):
        out.append(
            (
                f"affine_transform {name}",
                ops.affine_transform(img, t, fill_mode="reflect"),
                reference.affine_transform(f64(img), f64(t), fill_mode="reflect"),
            )
        )
        out.append(
            (
                f"affine_transform_backward {name}",
                ops.affine_transform_backward(img, t, img.shape),
                reference.affine_transform_backward(f64(img), f64(t), img.shape),
            )
        )
    out.append(("flip", ops.flip(x, flags, ~flags), reference.flip(x, flags, ~flags)))
    out.append(("adjust_contrast", ops.adjust_contrast(x, f, (-1, 1)), reference.adjust_contrast(f64(x), f, (-1, 1))))
    out.append(
        (
            "adjust_contrast_backward",
            ops.adjust_contrast_backward(x, x, f, (-1, 1)),
            reference.adjust_contrast_backward(f64(x), f64(x), f, (-1, 1)),
        )
    )
    out.append(
        (
            "adjust_brightness",
            ops.adjust_brightness(x, f - 1, (-1, 1)),
            reference.adjust_brightness(f64(x), f - 1, (-1, 1)),
        )
    )
    return out


CASES = {
    "gemm": _gemm,
    "axpy": _axpy,
    "activation": _activation,
    "softmax": _softmax,
    "dropout": _dropout,
    "bias": _bias,
    "pooling": _pooling,
    "losses": _losses,
    "batch_norm": _batch_norm,
    "conv2d": _conv2d,
    "embedding": _embedding,
    "optimizers": _optimizers,
    "rnn": _rnn,
    "merge": _merge,
    "depthwise_conv2d": _depthwise_conv2d,
    "layer_norm": _layer_norm,
    "resize": _resize,
    "augment": _augment,
}
# Kernels with a single version (plain loops compiled for the baseline): they dispatch nothing.
SINGLE_VERSION = {"axpy", "embedding"}
CPU_OPS = [name for name, info in OPS.items() if "cpu" in info.backends]


def test_every_cpu_op_has_a_case():
    assert set(CPU_OPS) <= set(CASES), "add the new op to tests/test_simd.py's CASES"


def _same(got, ref, what):
    got, ref = np.asarray(got), np.asarray(ref)
    if got.dtype != np.float32 and got.dtype != np.float64:  # ints (none today) compare exactly
        np.testing.assert_array_equal(got, ref, err_msg=what)
        return
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL * scale, err_msg=what)


@pytest.mark.parametrize("path", SIMD_PATHS)
@pytest.mark.parametrize("name", CPU_OPS)
def test_op_on_forced_path_matches_reference(rng, name, path):
    sinapse.cpu.simd_paths_run()  # clear the record
    with sinapse.cpu.use_simd(path) as in_use:
        assert in_use == path == sinapse.cpu.simd_path()
        results = CASES[name](rng)
    ran = sinapse.cpu.simd_paths_run()
    assert ran == ([] if name in SINGLE_VERSION else [path]), f"{name} forced to {path} ran {ran}"
    for what, got, ref in results:
        _same(got, ref, f"{what} [{path}]")


# --------------------------------------------------------------------------- the dispatcher's order


def _softmax_paths(x):
    sinapse.cpu.simd_paths_run()
    ops.softmax(x)
    return sinapse.cpu.simd_paths_run()


def test_default_is_the_best_path(rng):
    assert sinapse.cpu.forced_simd_path() is None
    assert _softmax_paths(normal(rng, 4, 50)) == [sinapse.cpu.best_simd_path()]


@pytest.mark.parametrize("path", SIMD_PATHS)
def test_environment_reaches_kernels_without_simd_argument(rng, monkeypatch, path):
    monkeypatch.setenv("SINAPSE_SIMD", path)
    assert _softmax_paths(normal(rng, 4, 50)) == [path]


def test_forced_path_beats_environment_and_simd_argument_beats_both(rng, monkeypatch):
    x, a, b = normal(rng, 4, 50), normal(rng, 20, 30), normal(rng, 30, 10)
    monkeypatch.setenv("SINAPSE_SIMD", SIMD_PATHS[-1])
    with sinapse.cpu.use_simd(SIMD_PATHS[0]):
        assert _softmax_paths(x) == [SIMD_PATHS[0]]
        ops.gemm(a, b, simd=SIMD_PATHS[-1])
        assert sinapse.cpu.simd_paths_run() == [SIMD_PATHS[-1]]
    assert _softmax_paths(x) == [SIMD_PATHS[-1]]  # the environment again


@pytest.mark.parametrize("path", SIMD_PATHS)
def test_conv2d_simd_argument_does_not_mix_paths(rng, path):
    # The direct kernels (few input channels) and the bias gradient go through run_simd: before
    # the one dispatcher they ran the best path whatever conv2d's simd= said.
    x, w = normal(rng, 2, 9, 10, 3), normal(rng, 3, 3, 3, 8)
    sinapse.cpu.simd_paths_run()
    y = ops.conv2d(x, w, padding="same", simd=path)
    ops.conv2d_backward(np.ones_like(y), x, w, padding="same", simd=path)
    assert sinapse.cpu.simd_paths_run() == [path]


def test_forced_path_reaches_worker_threads(rng, restore_threads):
    sinapse.set_num_threads(2)
    x = normal(rng, 512, 512)  # enough work for two threads
    for path in SIMD_PATHS:
        with sinapse.cpu.use_simd(path):
            assert _softmax_paths(x) == [path]


def test_use_simd_nests_and_restores():
    with sinapse.cpu.use_simd(SIMD_PATHS[0]):
        with sinapse.cpu.use_simd(SIMD_PATHS[-1]):
            assert sinapse.cpu.simd_path() == SIMD_PATHS[-1]
        assert sinapse.cpu.forced_simd_path() == SIMD_PATHS[0]
    assert sinapse.cpu.forced_simd_path() is None
    sinapse.cpu.set_simd_path(SIMD_PATHS[0])
    try:
        assert sinapse.config()["simd_in_use"] == SIMD_PATHS[0]
    finally:
        sinapse.cpu.set_simd_path(None)


@pytest.mark.parametrize("value", ["sse9", "AVX2", ""])
def test_set_simd_path_rejects_unknown(value):
    with pytest.raises(ValueError, match=rf"sinapse.cpu.set_simd_path: simd='{value}' is not a SIMD path"):
        sinapse.cpu.set_simd_path(value)
    assert sinapse.cpu.forced_simd_path() is None


def test_invalid_environment_fails_ops_without_simd_argument(rng, monkeypatch):
    monkeypatch.setenv("SINAPSE_SIMD", "sse9")
    with pytest.raises(ValueError, match=r"softmax_forward: SINAPSE_SIMD: unknown SIMD path 'sse9'"):
        ops.softmax(normal(rng, 2, 3))


# --------------------------------------------------------------------------- prepared plans


def _prepared(rng):
    """name -> (plan, run): a plan of each op whose kernels take ``simd=``, prepared outside any
    use_simd, and a call running it (layers cache such plans: Dense's gemm, Conv2D's conv2d)."""
    a, b = normal(rng, 40, 70), normal(rng, 70, 37)
    x, w = normal(rng, 2, 9, 10, 3), normal(rng, 3, 3, 3, 8)
    p, g = normal(rng, 300), normal(rng, 300)
    m, v = np.zeros_like(p), np.zeros_like(p)
    xs, k, r, bias = normal(rng, 3, 4, 6), normal(rng, 6, 32), normal(rng, 8, 32), normal(rng, 32)
    dense, conv = sinapse.layers.Dense(5), sinapse.layers.Conv2D(4, 3, padding="same")
    dense(a), conv(x)  # build, and cache the plans
    plans = {
        "gemm": ops.gemm.prepare(a, b),
        "conv2d": ops.conv2d.prepare(x, w, padding="same"),
        "adam_update": ops.adam_update.prepare(p, g, m, v, learning_rate=0.01, step=1),
        "lstm": ops.lstm.prepare(xs, k, r, bias),
    }
    return {
        "gemm": lambda: plans["gemm"](a, b),
        "conv2d": lambda: plans["conv2d"](x, w),
        "adam_update": lambda: plans["adam_update"](p, g, m, v, learning_rate=0.01, step=2),
        "lstm": lambda: plans["lstm"](xs, k, r, bias),
        "Dense": lambda: dense(a),
        "Conv2D": lambda: conv(x),
    }


@pytest.mark.parametrize("path", SIMD_PATHS)
def test_prepared_plans_follow_the_path_forced_at_each_call(rng, path):
    # A plan made without simd= fixes no path: the kernel reads the process rule at each call.
    runs = _prepared(rng)
    for name, run in runs.items():
        sinapse.cpu.simd_paths_run()
        with sinapse.cpu.use_simd(path):
            run()
        assert sinapse.cpu.simd_paths_run() == [path], name


def test_a_plan_with_simd_argument_keeps_its_path(rng):
    a, b = normal(rng, 40, 70), normal(rng, 70, 37)
    plan = ops.gemm.prepare(a, b, simd=SIMD_PATHS[0])
    sinapse.cpu.simd_paths_run()
    with sinapse.cpu.use_simd(SIMD_PATHS[-1]):
        plan(a, b)
    assert sinapse.cpu.simd_paths_run() == [SIMD_PATHS[0]]
