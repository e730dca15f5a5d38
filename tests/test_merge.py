"""merge / merge_backward / concatenate / concatenate_backward on the CPU and the simulated CUDA
kernels (checked: guard pages and race check) vs the reference; the backward vs finite
differences; the tie and NaN rules; bad input and its messages."""

import importlib

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import ops, reference

MODES = list(importlib.import_module("sinapse.ops.merge").MODES)
SHAPES = [(1,), (7,), (3, 1), (2, 5, 33), (2049,), (4, 1100), (0, 3), (3, 0)]


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def f64(a):
    return np.asarray(a, np.float64)


def counts(mode):
    return (2,) if mode == "subtract" else (1, 2, 3, 5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_merge_matches_reference(rng, backend, mode, shape):
    for n in counts(mode):
        xs = [f32(rng, *shape) for _ in range(n)]
        dy = f32(rng, *shape)
        with on(backend):
            y = ops.merge(xs, mode)
            dx = ops.merge_backward(dy, xs, mode)
        want = reference.merge([f64(x) for x in xs], mode)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5, err_msg=f"{mode} n={n}")
        assert y.dtype == np.float32 and y.shape == shape
        ref = reference.merge_backward(f64(dy), [f64(x) for x in xs], mode)
        assert isinstance(dx, list) and len(dx) == n
        for k, (g, r) in enumerate(zip(dx, ref)):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5, err_msg=f"{mode} n={n} dx[{k}]")


@pytest.mark.parametrize("mode", MODES)
def test_backward_matches_finite_differences(rng, mode):
    """The reference's gradient is the derivative of its forward (float64, central differences)."""
    n = 2 if mode == "subtract" else 3
    xs = [rng.standard_normal((3, 4)) for _ in range(n)]
    dy = rng.standard_normal((3, 4))
    dx = reference.merge_backward(dy, xs, mode)
    h = 1e-6
    for k in range(n):
        num = np.zeros_like(xs[k])
        for idx in np.ndindex(xs[k].shape):
            plus = [x.copy() for x in xs]
            minus = [x.copy() for x in xs]
            plus[k][idx] += h
            minus[k][idx] -= h
            num[idx] = np.sum(dy * (reference.merge(plus, mode) - reference.merge(minus, mode))) / (2 * h)
        np.testing.assert_allclose(dx[k], num, rtol=1e-5, atol=1e-6, err_msg=f"{mode} dx[{k}]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_bit_for_bit(rng, backend):
    xs = [f32(rng, 3, 700) for _ in range(4)]
    dy = f32(rng, 3, 700)
    for mode in ("add", "multiply", "average", "maximum", "minimum"):
        want = ops.merge(xs, mode), ops.merge_backward(dy, xs, mode)
        with on(backend):
            got = ops.merge(xs, mode), ops.merge_backward(dy, xs, mode)
        np.testing.assert_array_equal(got[0], want[0], err_msg=mode)
        for g, w in zip(got[1], want[1]):
            np.testing.assert_array_equal(g, w, err_msg=mode)


@pytest.mark.parametrize("backend", BACKENDS)
def test_multiply_gradient_with_zeros(backend):
    """No division: a zero input gives the product of the others, two zeros give 0."""
    a = np.array([0.0, 0.0, 2.0, 3.0], np.float32)
    b = np.array([5.0, 0.0, 0.0, 4.0], np.float32)
    c = np.array([7.0, 2.0, 1.0, 0.5], np.float32)
    dy = np.ones(4, np.float32)
    with on(backend):
        da, db, dc = ops.merge_backward(dy, [a, b, c], "multiply")
    np.testing.assert_array_equal(da, b * c)
    np.testing.assert_array_equal(db, a * c)
    np.testing.assert_array_equal(dc, a * b)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["maximum", "minimum"])
def test_extremum_gradient_goes_to_the_first_winner(backend, mode):
    nan = np.nan
    a = np.array([1.0, 2.0, 3.0, nan, 1.0, 5.0], np.float32)
    b = np.array([1.0, 2.0, nan, nan, 7.0, -5.0], np.float32)
    c = np.array([1.0, 2.0, nan, 0.0, 1.0, 5.0], np.float32)
    dy = np.arange(1, 7, dtype=np.float32)
    with on(backend):
        y = ops.merge([a, b, c], mode)
        da, db, dc = ops.merge_backward(dy, [a, b, c], mode)
    fold = np.maximum if mode == "maximum" else np.minimum
    np.testing.assert_array_equal(y, fold(fold(a, b), c))
    win_max = [0, 0, 1, 0, 1, 0]  # ties: the first; NaN: the first NaN input
    win_min = [0, 0, 1, 0, 0, 1]
    win = win_max if mode == "maximum" else win_min
    for k, d in enumerate((da, db, dc)):
        np.testing.assert_array_equal(d, np.where(np.array(win) == k, dy, 0), err_msg=f"dx[{k}]")


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_inputs_and_in_place(rng, backend):
    xs = [f32(rng, 5, 3) for _ in range(40)]
    want = np.sum(np.stack(xs).astype(np.float64), axis=0)
    with on(backend):
        y = ops.merge(xs, "add")
        first = xs[0].copy()
        out = ops.merge([xs[0], xs[1]], "maximum", out=xs[0])
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert out is xs[0]
    np.testing.assert_array_equal(out, np.maximum(first, xs[1]))


MASKED = ["multiply", "maximum", "minimum"]


def _masks(rng, pattern, rows_shape, n):
    masks = [rng.random(rows_shape) > 0.4 for _ in range(n)]
    for m in masks:
        m.reshape(-1)[0] = False  # a row no input marks
    if pattern == "some" and n > 1:
        masks[1] = None  # an input without a mask: it always takes part
    if pattern == "uint8":
        masks = [m.astype(np.uint8) for m in masks]
    return masks


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", MASKED)
@pytest.mark.parametrize("pattern", ["all", "some", "uint8"])
@pytest.mark.parametrize("shape,rows", [((3, 4, 5), (3, 4)), ((6, 7), (6,)), ((5, 2), (5, 2)), ((2, 3, 2100), (2, 3))])
def test_masked_merge_matches_keras_reference(rng, backend, mode, pattern, shape, rows):
    """Keras's masked Multiply / Maximum / Minimum (reference.merge follows Keras's code)."""
    for n in (1, 2, 3):
        xs = [f32(rng, *shape) for _ in range(n)]
        dy = f32(rng, *shape)
        masks = _masks(rng, pattern, rows, n)
        with on(backend):
            y = ops.merge(xs, mode, masks=masks)
            dx = ops.merge_backward(dy, xs, mode, masks=masks)
        ref = [f64(x) for x in xs]
        np.testing.assert_allclose(y, reference.merge(ref, mode, masks), rtol=1e-5, atol=1e-6, err_msg=f"n={n}")
        for k, (g, r) in enumerate(zip(dx, reference.merge_backward(f64(dy), ref, mode, masks))):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6, err_msg=f"{mode} n={n} dx[{k}]")


@pytest.mark.parametrize("mode", MASKED)
def test_masked_backward_matches_finite_differences(rng, mode):
    xs = [rng.standard_normal((3, 4, 2)) for _ in range(3)]
    dy = rng.standard_normal((3, 4, 2))
    masks = [rng.random((3, 4)) > 0.4 for _ in range(3)]
    masks[0][0, 0] = masks[1][0, 0] = masks[2][0, 0] = False
    dx = reference.merge_backward(dy, xs, mode, masks)
    h = 1e-6
    for k in range(3):
        num = np.zeros_like(xs[k])
        for idx in np.ndindex(xs[k].shape):
            plus, minus = [x.copy() for x in xs], [x.copy() for x in xs]
            plus[k][idx] += h
            minus[k][idx] -= h
            diff = reference.merge(plus, mode, masks) - reference.merge(minus, mode, masks)
            num[idx] = np.sum(dy * diff) / (2 * h)
        np.testing.assert_allclose(dx[k], num, rtol=1e-5, atol=1e-6, err_msg=f"{mode} dx[{k}]")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_masked_rows_split_over_threads(rng, restore_threads, threads):
    sinapse.set_num_threads(threads)
    xs = [f32(rng, 700, 9, 16) for _ in range(3)]
    masks = [rng.random((700, 9)) > 0.3, None, rng.random((700, 9)) > 0.6]
    dy = f32(rng, 700, 9, 16)
    for mode in MASKED:
        ref = [f64(x) for x in xs]
        np.testing.assert_allclose(ops.merge(xs, mode, masks=masks), reference.merge(ref, mode, masks), rtol=1e-5)
        got = ops.merge_backward(dy, xs, mode, masks=masks)
        for g, r in zip(got, reference.merge_backward(f64(dy), ref, mode, masks)):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_bad_masks():
    a = np.ones((4, 3), np.float32)
    m = np.ones(4, bool)
    with pytest.raises(ValueError, match=r"^merge: `masks` apply to multiply, maximum and minimum only"):
        ops.merge([a, a], "add", masks=[m, m])
    with pytest.raises(ValueError, match=r"^merge: `masks` must hold one entry \(a mask or None\) per input: 2, got 1"):
        ops.merge([a, a], "maximum", masks=[m])
    with pytest.raises(TypeError, match=r"^merge: `masks` must be None or a list"):
        ops.merge([a, a], "maximum", masks=m)
    with pytest.raises(
        ValueError,
        match=r"^merge: `masks\[1\]` has shape \(3,\), expected a leading part of the inputs' shape \(4, 3\)",
    ):
        ops.merge([a, a], "maximum", masks=[m, np.ones(3, bool)])
    with pytest.raises(ValueError, match=r"^merge_backward: `masks\[1\]` has shape \(4, 3\), expected \(4,\)"):
        ops.merge_backward(a, [a, a], "multiply", masks=[m, np.ones((4, 3), bool)])
    with pytest.raises(TypeError, match=r"^merge: `masks\[0\]` must be bool or uint8"):
        ops.merge([a, a], "minimum", masks=[m.astype(np.float32), None])


CONCAT_CASES = [
    ([(2, 3, 4), (2, 5, 4)], 1),
    ([(2, 3, 4), (2, 3, 1), (2, 3, 7)], -1),
    ([(1, 3), (4, 3), (0, 3)], 0),
    ([(3, 2), (3, 0), (3, 5)], 1),
    ([(5,)], 0),
    ([(2, 2, 3, 8), (2, 2, 3, 1000)], 3),
    ([(8, 3, 5, 2)] * 3, -3),
    ([(3000, 7), (3000, 9)], 1),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shapes,axis", CONCAT_CASES)
def test_concatenate_matches_reference(rng, backend, shapes, axis):
    xs = [f32(rng, *s) for s in shapes]
    with on(backend):
        y = ops.concatenate(xs, axis)
        dy = f32(rng, *y.shape)
        dx = ops.concatenate_backward(dy, xs, axis)
        dx_shapes = ops.concatenate_backward(dy, shapes, axis=axis)
    np.testing.assert_array_equal(y, reference.concatenate(xs, axis))
    for g, g2, r in zip(dx, dx_shapes, reference.concatenate_backward(dy, shapes, axis)):
        np.testing.assert_array_equal(g, r)
        np.testing.assert_array_equal(g2, r)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_concatenate_threads(rng, restore_threads, threads):
    """The flat result is cut into one range per thread anywhere in a row: every cut is right."""
    sinapse.set_num_threads(threads)
    xs = [f32(rng, 3, 50000), f32(rng, 3, 1), f32(rng, 3, 70001)]
    y = ops.concatenate(xs, 1)
    np.testing.assert_array_equal(y, np.concatenate(xs, 1))
    for g, x in zip(ops.concatenate_backward(y, xs, 1), xs):
        np.testing.assert_array_equal(g, x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_arguments(rng, backend):
    a, b = f32(rng, 4, 3), f32(rng, 4, 3)
    with on(backend):
        out = np.empty_like(a)
        assert ops.merge([a, b], "add", out=out) is out
        dx0 = np.empty_like(a)
        got = ops.merge_backward(a, [a, b], "subtract", out=(dx0, None))
        assert got[0] is dx0
        np.testing.assert_array_equal(got[1], -a)
        cat = np.empty((4, 6), np.float32)
        assert ops.concatenate([a, b], out=cat) is cat
        parts = [np.empty_like(a), np.empty_like(b)]
        assert ops.concatenate_backward(cat, [a, b], out=parts)[1] is parts[1]
    np.testing.assert_array_equal(out, a + b)
    np.testing.assert_array_equal(parts[1], b)


def test_bad_input():
    a, b = np.ones((4, 5), np.float32), np.ones((4, 3), np.float32)
    with pytest.raises(
        ValueError, match=r"^merge: `inputs\[1\]` has shape \(4, 3\), expected \(4, 5\) \(the shape of inputs\[0\]\)"
    ):
        ops.merge([a, b], "add")
    with pytest.raises(TypeError, match=r"^merge: `inputs` must be a list of arrays"):
        ops.merge(a, "add")
    with pytest.raises(ValueError, match=r"^merge: `inputs` must hold at least 1"):
        ops.merge([], "add")
    with pytest.raises(ValueError, match=r"^merge: `mode` must be one of add, subtract"):
        ops.merge([a, a], "sum")
    with pytest.raises(TypeError, match=r"^merge: `mode` must be a str"):
        ops.merge([a, a], 0)
    with pytest.raises(ValueError, match=r"^merge: mode 'subtract' takes exactly 2 `inputs`"):
        ops.merge([a, a, a], "subtract")
    with pytest.raises(TypeError, match=r"^merge: `inputs\[1\]` must be float32"):
        ops.merge([a, a.astype(np.float64)], "add")
    with pytest.raises(ValueError, match=r"^merge: `out` overlaps input `inputs\[1\]`"):
        c = a.copy()
        ops.merge([a, c], "add", out=c)
    with pytest.raises(ValueError, match=r"^merge_backward: `dy` has shape \(4, 3\), expected \(4, 5\)"):
        ops.merge_backward(b, [a, a], "add")
    with pytest.raises(TypeError, match=r"^merge_backward: `out` must be None or a tuple of 2"):
        ops.merge_backward(a, [a, a], "add", out=a)
    with pytest.raises(ValueError, match=r"^concatenate: `inputs\[1\]` has shape \(4, 3\), expected \(\*, 5\)"):
        ops.concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match=r"^concatenate: `axis` must be an axis of the inputs in \[-2, 1\], got 2"):
        ops.concatenate([a, a], axis=2)
    with pytest.raises(TypeError, match=r"^concatenate: `axis` must be an axis"):
        ops.concatenate([a, a], axis=1.0)
    with pytest.raises(ValueError, match=r"^concatenate: cannot concatenate 0-D"):
        ops.concatenate([np.ones((), np.float32)], axis=0)
    with pytest.raises(ValueError, match=r"^concatenate_backward: `dy` has shape \(4, 5\), expected \(4, 8\)"):
        ops.concatenate_backward(a, [a, b])
    with pytest.raises(TypeError, match=r"^concatenate_backward: `inputs\[0\]` must be an array or a shape"):
        ops.concatenate_backward(a, [3])


def test_cuda_input_limit():
    if "cuda_sim" not in BACKENDS:
        pytest.skip("built without the CUDA simulator")
    xs = [np.ones(3, np.float32)] * 65
    with sinapse.cuda.simulate(), pytest.raises(ValueError, match=r"^merge: the CUDA kernels merge at most 64"):
        ops.merge(xs, "add")
    np.testing.assert_array_equal(ops.merge(xs, "add"), np.full(3, 65, np.float32))  # the CPU has no limit


def test_bindings_recheck_the_memory_contract():
    """A direct call into the module cannot read or write out of bounds."""
    from sinapse import _cpu

    a, b = np.ones(4, np.float32), np.ones(5, np.float32)
    with pytest.raises(ValueError, match="merge: the arrays' sizes differ"):
        _cpu.merge([a, b], np.empty(4, np.float32), 0)
    with pytest.raises(ValueError, match="mode code out of range"):
        _cpu.merge([a, a], np.empty(4, np.float32), 99)
    with pytest.raises(ValueError, match="concatenate: the extents on the axis do not add up"):
        _cpu.concatenate([a, a], np.empty(9, np.float32), 0)
    with pytest.raises(TypeError, match=r"merge: `inputs\[1\]` must be a float32"):
        _cpu.merge([a, a.astype(np.float64)], np.empty(4, np.float32), 0)
