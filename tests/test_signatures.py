"""Uniform op signatures (issue 12, point 4): every backward takes dy first, every op takes
``out=`` for each result (a tuple for several), arrays before names, ops and layers spell an
argument the same way, and geometry is a NamedTuple with the C++ struct's fields."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS
from sinapse import cuda, layers, ops
from sinapse.ops.conv2d import ConvGeometry
from sinapse.ops.conv2d import geometry as conv_geometry
from sinapse.ops.pooling import PoolGeometry
from sinapse.ops.pooling import geometry as pool_geometry

ROOT = Path(__file__).resolve().parents[1]


def _public():
    return {
        n: getattr(ops, n) for n in ops.__all__ if callable(getattr(ops, n)) and not isinstance(getattr(ops, n), dict)
    }


def test_every_backward_takes_dy_first():
    backwards = {n: f for n, f in _public().items() if n.endswith("_backward")}
    assert "bias_backward" in backwards and "bias_grad" not in ops.__all__
    for name, fn in backwards.items():
        first = next(iter(inspect.signature(fn).parameters))
        assert first == "dy", f"{name} takes {first} first"


def test_every_op_with_array_results_takes_out():
    no_array_result = {"conv2d_variant", "global_norm", "loss"}  # a str, a float, a float (+ grad_out)
    in_place = {n for n in ops.__all__ if n.endswith("_update")}  # they update their arguments
    for name, fn in _public().items():
        if name in no_array_result | in_place:
            continue
        assert "out" in inspect.signature(fn).parameters, f"{name} has no out="
    assert "grad_out" in inspect.signature(ops.loss).parameters


def test_loss_and_activation_take_arrays_then_name():
    assert list(inspect.signature(ops.activation).parameters)[:2] == ["x", "name"]
    assert list(inspect.signature(ops.loss).parameters)[:3] == ["y_true", "y_pred", "name"]


def test_ops_and_layers_spell_arguments_alike():
    conv_op = set(inspect.signature(ops.conv2d).parameters)
    conv_layer = set(inspect.signature(layers.Conv2D.__init__).parameters)
    assert {"strides", "padding", "dilation_rate"} <= conv_op & conv_layer
    assert {"pool_size", "strides", "padding"} <= set(inspect.signature(ops.max_pool2d).parameters) & set(
        inspect.signature(layers.MaxPooling2D.__init__).parameters
    )
    bn_layer = set(inspect.signature(layers.BatchNormalization.__init__).parameters)
    assert {"momentum", "epsilon"} <= set(inspect.signature(ops.batch_norm).parameters) & bn_layer


def _struct_fields(header: str, struct: str) -> list[str]:
    text = (ROOT / "csrc" / "common" / header).read_text()
    body = re.search(r"struct " + struct + r" \{(.*?)\};", text, re.S).group(1)
    fields = []
    for line in body.splitlines():
        line = line.split("//")[0].strip()
        if line.startswith("int64_t"):
            fields += [f.strip() for f in line[len("int64_t") :].rstrip(";").split(",")]
    return fields


def test_geometry_is_a_named_tuple_with_the_cpp_fields():
    assert list(ConvGeometry._fields) == _struct_fields("conv_args.h", "ConvArgs")
    assert list(PoolGeometry._fields) == _struct_fields("pool_args.h", "PoolArgs")
    g = conv_geometry("t", (2, 7, 6, 3), (3, 3, 3, 4), 2, "same", 1)
    assert isinstance(g, ConvGeometry) and g.out_shape == (2, 4, 3, 4) == (g.N, g.OH, g.OW, g.K)
    p = pool_geometry("t", (2, 7, 6, 3), 2, None, "valid")
    assert isinstance(p, PoolGeometry) and p.out_shape == (2, 3, 3, 3)


def _on(backend):
    import contextlib

    return cuda.simulate() if backend == "cuda_sim" else contextlib.nullcontext()


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tuple_out_fills_the_given_entries(rng, backend):
    x, w, dy = _f32(rng, 2, 5, 5, 3), _f32(rng, 3, 3, 3, 4), _f32(rng, 2, 3, 3, 4)
    with _on(backend):
        want = ops.conv2d_backward(dy, x, w)
        dx, db = np.full_like(x, np.nan), np.full(4, np.nan, np.float32)
        got = ops.conv2d_backward(dy, x, w, out=(dx, None, db))
        assert got[0] is dx and got[2] is db
        for g, e in zip(got, want):
            np.testing.assert_array_equal(g, e)
        plan = ops.conv2d_backward.prepare(dy, x, w)
        dw = np.full_like(w, np.nan)
        assert plan(dy, x, w, out=(None, dw, None))[1] is dw
        np.testing.assert_array_equal(dw, want[1])
        with pytest.raises(ValueError, match=r"conv2d_backward: `out\[0\]` was given, but this call does not compute"):
            ops.conv2d_backward(dy, x, w, need_dx=False, out=(dx, None, None))
        with pytest.raises(TypeError, match=r"conv2d_backward: `out` must be None or a tuple of 3"):
            ops.conv2d_backward(dy, x, w, out=dx)
        with pytest.raises(ValueError, match=r"conv2d_backward: `out\[1\]` must have shape"):
            ops.conv2d_backward(dy, x, w, out=(None, dx, None))

        stats = [np.zeros(4, np.float32), np.ones(4, np.float32)]
        z, gamma, beta = _f32(rng, 6, 4), _f32(rng, 4), _f32(rng, 4)
        y, mean, invstd = ops.batch_norm(z, gamma, beta, *[s.copy() for s in stats], training=True)
        given = (np.empty_like(z), np.empty(4, np.float32), np.empty(4, np.float32))
        got = ops.batch_norm(z, gamma, beta, *[s.copy() for s in stats], training=True, out=given)
        assert all(g is o for g, o in zip(got, given))
        for g, e in zip(got, (y, mean, invstd)):
            np.testing.assert_array_equal(g, e)
        back = ops.batch_norm_backward(z, z, gamma, mean, invstd, training=True)
        given = (None, np.empty(4, np.float32), None)
        got = ops.batch_norm_backward(z, z, gamma, mean, invstd, training=True, out=given)
        assert got[1] is given[1]
        for g, e in zip(got, back):
            np.testing.assert_array_equal(g, e)
        with pytest.raises(ValueError, match=r"batch_norm_backward: `out\[1\]` and `out\[2\]` share memory"):
            same = np.empty(4, np.float32)
            ops.batch_norm_backward(z, z, gamma, mean, invstd, training=True, out=(None, same, same))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_ops_take_tuple_out(rng, backend):
    x, k, r, b = _f32(rng, 2, 3, 4), _f32(rng, 4, 20), _f32(rng, 5, 20), _f32(rng, 20)
    with _on(backend):
        y, h, c, cache = ops.lstm(x, k, r, b)
        given = (np.empty_like(y), None, np.empty_like(c))
        y2, h2, c2, cache2 = ops.lstm(x, k, r, b, out=given)
        assert y2 is given[0] and c2 is given[2]
        for g, e in ((y2, y), (h2, h), (c2, c)):
            np.testing.assert_array_equal(g, e)
        dy = _f32(rng, *y.shape)
        want = ops.lstm_backward(dy, cache)
        dk = np.empty_like(k)
        got = ops.lstm_backward(dy, cache2, out=(None, dk, None, None, None, None))
        assert got[1] is dk
        for g, e in zip(got, want):
            np.testing.assert_array_equal(g, e)
        with pytest.raises(ValueError, match=r"lstm_backward: `out\[0\]` overlaps input `x`"):
            ops.lstm_backward(dy, cache2, out=(cache2.x, None, None, None, None, None))
