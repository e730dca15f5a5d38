"""Prepared calls (sinapse.ops._plan): a plan launches what the op would, checks only what can
change between calls, and falls back to the op — with the op's own error — when anything differs.
Layers, models and optimizers reach the kernels only through sinapse.ops."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import layers, ops, optimizers
from sinapse.ops._plan import MISS, Plan, PlanCache

PKG = pathlib.Path(sinapse.__file__).parent
BINDINGS = {"_cpu", "_cuda", "_cuda_sim"}


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------ only sinapse.ops below the layers


def _binding_imports(source: str, where: str) -> list[str]:
    """Every import of a binding module in ``source``: `from .. import _cpu`, `import sinapse._cuda`,
    `from sinapse._cpu import x`, `from ..ops import _cuda_sim` ..."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module or ''}.{a.name}" for a in node.names]
        else:
            continue
        if any(set(n.split(".")) & BINDINGS for n in names):
            found.append(f"{where}:{node.lineno}")
    return found


@pytest.mark.parametrize("package", ["layers", "models", "optimizers"])
def test_layers_models_optimizers_import_no_binding_module(package):
    files = sorted((PKG / package).rglob("*.py"))
    assert files
    found = [hit for f in files for hit in _binding_imports(f.read_text(), str(f.relative_to(PKG)))]
    assert not found, f"binding modules imported outside sinapse.ops (call sinapse.ops instead): {found}"


@pytest.mark.parametrize(
    "source",
    ["from .. import _cpu", "import sinapse._cuda", "from sinapse._cuda_sim import x", "from .. import ops, _cpu"],
)
def test_the_import_scan_finds_each_spelling(source):
    assert _binding_imports(source, "probe.py") == ["probe.py:1"]
    assert not _binding_imports("from .. import ops, cpu\nimport numpy", "probe.py")


def test_no_private_validated_flags_and_no_direct_module():
    """One repeat path (plans): no layer or optimizer keeps its own "already validated" state."""
    assert not (PKG / "layers" / "_direct.py").exists()
    for package in ("layers", "optimizers"):
        for f in (PKG / package).rglob("*.py"):
            text = f.read_text()
            for word in ("_validated", "checked_shapes", "plain_cpu"):
                assert word not in text, f"{f.relative_to(PKG)} still has {word}"


# ------------------------------------------------------------------------------- plans of the ops


def _cases(rng):
    """(op, example args, kwargs, the arrays of a second call of the same shapes, in the op's order)."""
    x4, w4 = f32(rng, 2, 7, 6, 3), f32(rng, 3, 3, 3, 4)
    a, b, bias = f32(rng, 5, 4), f32(rng, 4, 3), f32(rng, 3)
    return [
        (ops.gemm, (a, b), {"bias": bias, "activation": "relu"}, (f32(rng, 5, 4), b, None, bias)),
        (ops.conv2d, (x4, w4, f32(rng, 4)), {"padding": "same", "strides": 2}, (f32(rng, 2, 7, 6, 3), w4, f32(rng, 4))),
        (ops.max_pool2d, (x4,), {"pool_size": 3, "strides": 2, "padding": "same"}, (f32(rng, 2, 7, 6, 3),)),
        (ops.avg_pool2d, (x4,), {"pool_size": 2}, (f32(rng, 2, 7, 6, 3),)),
        (ops.activation, (a,), {"name": "elu", "alpha": 0.5}, (f32(rng, 5, 4),)),
        (ops.softmax, (a,), {}, (f32(rng, 5, 4),)),
        (ops.log_softmax, (a,), {}, (f32(rng, 5, 4),)),
        (ops.bias_add, (a, f32(rng, 4)), {}, (f32(rng, 5, 4), f32(rng, 4))),
        (ops.bias_backward, (a,), {}, (f32(rng, 5, 4),)),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeat_calls_equal_the_op(rng, backend):
    with on(backend):
        for op, args, kwargs, again in _cases(rng):
            plan = ops.prepare(op, *args, **kwargs)
            assert isinstance(plan, Plan)
            fixed = {k: v for k, v in kwargs.items() if k not in plan.desc.names}
            for call in (args, again, again):
                expected = op(**dict(zip(plan.desc.names, call)), **fixed)
                np.testing.assert_array_equal(plan(*call), expected, err_msg=op.__name__)
                out = np.full_like(expected, np.nan)
                assert plan(*call, out=out) is out
                np.testing.assert_array_equal(out, expected, err_msg=op.__name__)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_plans_equal_the_op(rng, backend):
    x, dy = f32(rng, 2, 6, 6, 3), f32(rng, 2, 3, 3, 3)
    z, g = f32(rng, 4, 5), f32(rng, 4, 5)
    cases = [
        (ops.max_pool2d_backward, (dy, x), {"pool_size": 2}),
        (ops.avg_pool2d_backward, (dy, x), {"pool_size": 2}),
        (ops.activation_backward, (g, z), {"name": "tanh"}),
        (ops.softmax_backward, (g, ops.softmax(z)), {}),
        (ops.log_softmax_backward, (g, ops.log_softmax(z)), {}),
    ]
    with on(backend):
        for op, args, kwargs in cases:
            plan = op.prepare(*args, **kwargs)
            for _ in range(2):
                np.testing.assert_array_equal(plan(*args), op(*args, **kwargs), err_msg=op.__name__)
        w = f32(rng, 3, 3, 3, 2)
        y = ops.conv2d(x, w)
        plan = ops.conv2d_backward.prepare(y, x, w)
        for got, want in zip(plan(y, x, w), ops.conv2d_backward(y, x, w)):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda a, b: (a[:4], b), ValueError, r"^gemm: `out` must have shape \(4, 3\)"),
        (lambda a, b: (a.astype(np.float64), b), TypeError, r"^gemm: `a` must be float32"),
        (lambda a, b: (np.asfortranarray(a), b), ValueError, r"^gemm: `a` must be C-contiguous"),
        (lambda a, b: (a.tolist(), b), TypeError, r"^gemm: `a` must be a NumPy array"),
        (lambda a, b: (a, b[:3]), ValueError, r"^gemm: inner dimensions differ"),
    ],
)
def test_a_changed_array_falls_back_to_the_op_and_its_error(rng, change, error, match):
    a, b = f32(rng, 5, 4), f32(rng, 4, 3)
    plan = ops.gemm.prepare(a, b, out=np.zeros((5, 3), np.float32))
    with pytest.raises(error, match=match):
        plan(*change(a, b), out=np.zeros((5, 3), np.float32))
    # a new shape that is valid runs (through the op), and the plan still serves its own shape
    np.testing.assert_array_equal(plan(a[:2], b), ops.gemm(a[:2], b))
    np.testing.assert_array_equal(plan(a, b), ops.gemm(a, b))


def test_the_out_argument_is_checked_at_every_call(rng):
    x = f32(rng, 1, 4, 4, 2)
    plan = ops.max_pool2d.prepare(x)
    with pytest.raises(ValueError, match=r"^max_pool2d: `out` must have shape \(1, 2, 2, 2\)"):
        plan(x, out=np.zeros((1, 2, 2, 3), np.float32))
    read_only = np.zeros((1, 2, 2, 2), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match=r"^max_pool2d: `out` is read-only"):
        plan(x, out=read_only)
    with pytest.raises(TypeError, match=r"^max_pool2d: `out` must be float32"):
        plan(x, out=np.zeros((1, 2, 2, 2), np.float64))


def test_aliasing_is_caught_at_every_call(rng):
    a, b = f32(rng, 4, 4), f32(rng, 4, 4)
    out = np.zeros((4, 4), np.float32)
    plan = ops.gemm.prepare(a, b, out=out)
    plan(a, b, out=out)  # fine, and remembered
    with pytest.raises(ValueError, match=r"^gemm: `out` overlaps input `a`"):
        plan(a, b, out=a)
    with pytest.raises(ValueError, match=r"^gemm: `out` overlaps input `a`"):
        plan(out, b, out=out)  # the remembered out and b, a new a: still checked
    x = f32(rng, 1, 4, 4, 2)
    pool = ops.max_pool2d.prepare(x)
    with pytest.raises(ValueError, match=r"^max_pool2d: `out` overlaps input `x`"):
        pool(x, out=x.reshape(-1)[:8].reshape(1, 2, 2, 2))
    # the exact in-place pairs the op allows stay allowed, and run in place
    z = f32(rng, 3, 5)
    expect = ops.activation(z, "relu")
    act = ops.activation.prepare(z, "relu")
    assert act(z, out=z) is z
    np.testing.assert_array_equal(z, expect)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="the CUDA simulator is not built")
def test_a_changed_device_falls_back_to_the_right_backend(rng):
    """A plan made on the CPU, called inside simulate() (and the reverse), runs the other
    backend through the op, as the op would, and gives the same values."""
    a, b = f32(rng, 6, 5), f32(rng, 5, 4)
    cpu_plan = ops.gemm.prepare(a, b)
    with sinapse.cuda.simulate():
        sim_plan = ops.gemm.prepare(a, b)
        assert sim_plan.desc.device == "cuda_sim"
        assert cpu_plan.run_if_fits([a, b, None, None, None], {}) is MISS
        via_cpu_plan = cpu_plan(a, b)
    assert cpu_plan.desc.device == "cpu"
    assert sim_plan.run_if_fits([a, b, None, None, None], {}) is MISS
    np.testing.assert_allclose(via_cpu_plan, cpu_plan(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sim_plan(a, b), cpu_plan(a, b), rtol=1e-5, atol=1e-6)


def test_prepare_errors_are_the_ops():
    with pytest.raises(ValueError, match=r"^max_pool2d: `padding` must be 'valid' or 'same'"):
        ops.prepare(ops.max_pool2d, np.zeros((1, 4, 4, 1), np.float32), padding="full")
    with pytest.raises(TypeError, match=r"not a sinapse.ops op with a prepared form"):
        ops.prepare(len, [1])
    plan = ops.softmax.prepare(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match=r"softmax plan: takes at most 2 arrays"):
        plan(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_update_plans_take_per_call_scalars(rng, backend):
    """adam_update's plan: learning_rate, step and grad_scale change at every call, checked as the op checks them."""
    p0, g = f32(rng, 7, 3), f32(rng, 7, 3)
    with on(backend):
        ref_p, ref_m, ref_v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
        plan = ops.adam_update.prepare(p, g, m, v, learning_rate=0.1, step=1, beta_1=0.8)
        for t in range(1, 4):
            ops.adam_update(ref_p, g, ref_m, ref_v, learning_rate=0.1 / t, step=t, beta_1=0.8, grad_scale=0.5)
            plan(p, g, m, v, learning_rate=0.1 / t, step=t, grad_scale=0.5)
            np.testing.assert_array_equal(p, ref_p)
            np.testing.assert_array_equal(m, ref_m)
        with pytest.raises(ValueError, match=r"^adam_update: `learning_rate` must be a finite number"):
            plan(p, g, m, v, learning_rate=float("nan"), step=4)
        with pytest.raises(ValueError, match=r"^adam_update: `step` must be an int >= 1"):
            plan(p, g, m, v, learning_rate=0.1, step=0)
        with pytest.raises(ValueError, match=r"^adam_update: `param` and `m` share memory"):
            plan(p, g, p, v, learning_rate=0.1, step=4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_plans_of_the_other_ops_equal_the_op(rng, backend):
    x, y = f32(rng, 6, 4), f32(rng, 6, 4)
    with on(backend):
        for op, args, kwargs in [
            (ops.axpy, (0.5, x, y), {}),
            (ops.clip_by_value, (x, 0.3), {}),
            (ops.clip_by_norm, (x, 0.7), {}),
            (ops.dropout, (x, 0.25, 7, 3), {}),
            (ops.dropout_backward, (y, 0.25, 7, 3), {}),
        ]:
            plan = op.prepare(*args, **kwargs)
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            for _ in range(2):
                np.testing.assert_array_equal(plan(*arrays), op(*args, **kwargs), err_msg=op.__name__)
        ids, table = rng.integers(0, 5, (3, 2)).astype(np.int32), f32(rng, 5, 4)
        plan = ops.embedding.prepare(ids, table)
        np.testing.assert_array_equal(plan(ids, table), ops.embedding(ids, table))
        with pytest.raises(IndexError, match=r"^embedding: `ids` must lie in \[0, 5\)"):
            plan(ids + 3, table)  # data, not shape: checked at every call
        labels = rng.integers(0, 4, 6).astype(np.int32)
        plan = ops.loss.prepare(labels, x, "sparse_categorical_crossentropy", from_logits=True, grad=True)
        value, grad = plan(labels, x)
        want, want_grad = ops.loss(labels, x, "sparse_categorical_crossentropy", from_logits=True, grad=True)
        assert value == want
        np.testing.assert_array_equal(grad, want_grad)
        with pytest.raises(ValueError, match=r"^loss: `y_true` labels must be in \[0, 4\)"):
            plan(labels + 4, x)
        stats = [np.zeros(4, np.float32), np.ones(4, np.float32)]
        ref = [s.copy() for s in stats]
        gamma, beta = f32(rng, 4), f32(rng, 4)
        plan = ops.batch_norm.prepare(x, gamma, beta, *stats, training=True)
        for _ in range(2):
            got = plan(x, gamma, beta, *stats)
            want = ops.batch_norm(x, gamma, beta, *ref, training=True)
            for g, w in zip((*got, *stats), (*want, *ref)):
                np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_op_plans_equal_the_op(rng, backend):
    x, k, r, b = f32(rng, 2, 5, 3), f32(rng, 3, 16), f32(rng, 4, 16), f32(rng, 16)
    mask = np.ones((2, 5), bool)
    mask[1, 3:] = False
    with on(backend):
        plan = ops.lstm.prepare(x, k, r, b, mask=mask, return_sequences=False)
        for _ in range(2):
            y, h, c, cache = plan(x, k, r, b, None, None, mask)
            y2, h2, c2, cache2 = ops.lstm(x, k, r, b, mask=mask, return_sequences=False)
            for got, want in ((y, y2), (h, h2), (c, c2)):
                np.testing.assert_array_equal(got, want)
            for got, want in zip(ops.lstm_backward(y, cache), ops.lstm_backward(y2, cache2)):
                np.testing.assert_array_equal(got, want)
        gru = ops.gru.prepare(x, f32(rng, 3, 12), f32(rng, 4, 12))
        assert len(gru(x, f32(rng, 3, 12), f32(rng, 4, 12))) == 3  # (y, h_T, cache), as ops.gru


def test_a_dropout_plan_takes_the_offset_per_call(rng):
    x = f32(rng, 64)
    plan = ops.dropout.prepare(x, 0.5, 11)
    for offset in (0, 16, 32):
        np.testing.assert_array_equal(plan(x, offset=offset), ops.dropout(x, 0.5, 11, offset))
    with pytest.raises(TypeError, match=r"^dropout: `offset` must be an integer"):
        plan(x, offset=1.5)


def test_plan_cache_prepares_per_key_and_again_on_a_miss(rng):
    cache = PlanCache(ops.max_pool2d, ("x", "out"), pool_size=2)
    x1, x2 = f32(rng, 1, 4, 4, 2), f32(rng, 3, 6, 4, 2)
    for x in (x1, x2, x1, x2):
        np.testing.assert_array_equal(cache(x.shape, x, None), ops.max_pool2d(x, 2))
    assert len(cache._plans) == 2
    with pytest.raises(TypeError, match=r"^max_pool2d: `x` must be float32"):
        cache(x1.shape, x1.astype(np.float64), None)
    out = np.zeros((1, 2, 2, 2), np.float32)
    assert cache(x1.shape, x1, out) is out
    with pytest.raises(TypeError, match=r"PlanCache: max_pool2d takes arrays \('x', 'out'\), not \('out', 'x'\)"):
        PlanCache(ops.max_pool2d, ("out", "x"))((), out, x1)


# ------------------------------------------------------------------------ layers and optimizers


@pytest.mark.parametrize("backend", BACKENDS)
def test_layers_give_the_ops_results_call_after_call(rng, backend):
    x = f32(rng, 2, 8, 8, 3)
    conv = layers.Conv2D(4, 3, padding="same", activation="tanh")
    pool = layers.MaxPooling2D(2)
    dense = layers.Dense(5, activation="softmax")
    with on(backend):
        for _ in range(3):
            y = conv(x)
            z = ops.conv2d(x, conv.kernel.value, conv.bias.value, padding="same", activation="tanh")
            np.testing.assert_allclose(y, z, rtol=1e-6, atol=1e-6)
            p = pool(y)
            np.testing.assert_array_equal(p, ops.max_pool2d(y, 2))
            flat = p.reshape(2, -1)
            d = dense(flat)
            logits = ops.gemm(flat, dense.kernel.value, bias=dense.bias.value)
            np.testing.assert_allclose(d, ops.softmax(logits), rtol=1e-6, atol=1e-7)
            x = f32(rng, 2, 8, 8, 3)


def test_a_layer_called_on_another_device_runs_there(rng):
    if "cuda_sim" not in BACKENDS:
        pytest.skip("the CUDA simulator is not built")
    dense = layers.Dense(3)
    x = f32(rng, 2, 4)
    cpu = dense(x)
    with sinapse.cuda.simulate(checked=True):
        sim = dense(x)
    np.testing.assert_allclose(sim, cpu, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(dense(x), cpu)


def test_optimizer_plans_follow_changed_options(rng):
    """Changing an optimizer's option between steps (Keras allows assigning them) takes effect."""
    p1 = f32(rng, 5)
    p2 = p1.copy()
    g = f32(rng, 5)
    a, b = optimizers.SGD(0.1, momentum=0.5), optimizers.SGD(0.1, momentum=0.5)
    a.apply([p1], [g])
    b.apply([p2], [g])
    a.momentum = 0.9
    a.apply([p1], [g])
    ops.sgd_update(p2, g, b._state[0]["momentum"], learning_rate=0.1, momentum=0.9)
    np.testing.assert_array_equal(p1, p2)


def test_plans_on_a_gpu(rng):
    """CuPy arrays: a plan launches the CUDA kernels, falls back for NumPy arrays, catches aliasing."""
    if not sinapse.cuda.is_available():
        pytest.skip(f"no usable CUDA here: {sinapse.cuda.why_unavailable()}")
    import cupy

    a, b, bias = (cupy.asarray(f32(rng, *s)) for s in ((6, 5), (5, 4), (4,)))
    out = cupy.zeros((6, 4), cupy.float32)
    plan = ops.gemm.prepare(a, b, bias=bias, activation="relu", out=out)
    assert plan.desc.device == "cuda"
    for _ in range(2):
        assert plan(a, b, None, bias, out) is out
        cupy.testing.assert_array_equal(out, ops.gemm(a, b, bias=bias, activation="relu"))
    host = plan(cupy.asnumpy(a), cupy.asnumpy(b), None, cupy.asnumpy(bias))  # another device: the op, on the CPU
    assert isinstance(host, np.ndarray)
    with pytest.raises(ValueError, match=r"^gemm: `out` overlaps input `a`"):
        plan(a, b, None, bias, a.reshape(-1)[:24].reshape(6, 4))
    dense = layers.Dense(4)
    dense.to_device("cuda")
    x = f32(rng, 3, 5)
    np.testing.assert_allclose(dense(x), dense(x), rtol=0, atol=0)
